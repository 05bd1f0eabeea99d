// A stage's fingerprint: sha256 over its normalized definition, the content of its code, the content of
// every input, and a format version. Inputs are keyed by content, not by upstream fingerprints, so an
// upstream that re-runs and writes the same bytes leaves its downstream fresh (early cutoff).
import { canonicalJson, hashBytes } from '../store/hash.js';
import type { StageConfig } from '../config/types.js';
import type { StageDefinition, StageInputs } from '../store/lockfile.js';

// Both are recorded in pipeline.lock, so the store owns their shape.
export type { StageDefinition, StageInputs };

export const FINGERPRINT_VERSION = 1;

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
