// A stage's fingerprint: sha256 over its normalized definition, the content of its code, the content of
// every input, and a format version. Inputs are keyed by content, not by upstream fingerprints, so an
// upstream that re-runs and writes the same bytes leaves its downstream fresh (early cutoff).
import { canonicalJson, hashBytes } from '../store/hash.js';
import type { Params, StageConfig } from '../config/types.js';

export const FINGERPRINT_VERSION = 1;

/** What a stage read, by content: the three parts that, with its definition, decide its outputs. */
export interface StageInputs {
  /** Module stages: the module and its local imports, file → hash. */
  code: Record<string, string>;
  /** Declared deps (patterns expanded), file or folder → hash. */
  deps: Record<string, string>;
  /** Upstream outs, `stage:out` → hash. */
  upstream: Record<string, string>;
}

/** The parts of a stage's definition that can change what it writes. */
export interface StageDefinition {
  kind: 'cmd' | 'module';
  cmd?: string[];
  shell?: boolean;
  module?: string;
  params: Params;
  env: Record<string, string>;
  outs: string[];
}

export function definitionOf(stage: StageConfig): StageDefinition {
  const def: StageDefinition = { kind: stage.kind, params: stage.params, env: stage.env, outs: stage.outs };
  if (stage.kind === 'cmd') {
    def.cmd = stage.cmd;
    def.shell = stage.shell;
  } else {
    def.module = stage.module;
  }
  return def;
}

export function upstreamKey(stage: string, out: string): string {
  return `${stage}:${out}`;
}

export function fingerprintOf(stage: StageConfig, inputs: StageInputs): string {
  return hashBytes(canonicalJson({ v: FINGERPRINT_VERSION, def: definitionOf(stage), ...inputs }));
}
