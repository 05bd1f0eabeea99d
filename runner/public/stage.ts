// `pipeline-dag/stage`: everything a `module:` stage may import from the engine, and nothing else. A stage module
// default-exports `async function (ctx: StageContext): Promise<void>`; the host builds the context and calls it.
// It imports nothing from the engine beyond public/: a stage bundle keeps `pipeline-dag/...` as an external package import, so no engine
// file is part of a stage's code and editing the engine never changes a stage's fingerprint.

export interface StageLogger {
  info(message: string): void;
  warn(message: string): void;
  /** Printed on stderr; for a gate stage the last line of stderr is the reason shown when it fails. */
  error(message: string): void;
}

export interface StageContext {
  /** The stage's name in pipeline.yaml. */
  stage: string;
  /** Absolute path of the workspace root. */
  workspace: string;
  /** Resolved params: global params, overridden by the stage's params, overridden by `--set`. */
  params: Record<string, unknown>;
  /** Absolute paths of upstream outs: `inputs[upstreamStage][outPath]`, outPath as written in pipeline.yaml. */
  inputs: Record<string, Record<string, string>>;
  /** Absolute paths of the stage's declared deps (patterns expanded), keyed by the workspace-relative path. */
  deps: Record<string, string>;
  /** Absolute paths of the stage's own outs, keyed as written in pipeline.yaml. Parent folders exist. */
  outs: Record<string, string>;
  /** Which execution of the stage in this run this is: 1, then 2, 3, … when a stage with `retries` failed. */
  attempt: number;
  log: StageLogger;
  /** Aborted when the run is interrupted or the stage times out. */
  signal: AbortSignal;
}

export type StageFunction = (ctx: StageContext) => Promise<void> | void;

/**
 * The brand of a GateVerdict. A stage may load its own copy of this module (the engine's compiled copy, a test's
 * source copy, an installed package), so the host recognises a verdict by this registry-wide symbol rather than by
 * `instanceof` one particular class.
 */
const GATE_VERDICT = Symbol.for('pipeline-dag.gate-verdict');

/** True for a GateVerdict thrown by any copy of this module. */
export function isGateVerdict(value: unknown): value is GateVerdict {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[GATE_VERDICT] === true;
}

/**
 * Thrown by a gate stage to fail with a verdict; the host prints the message as the last line of
 * stderr and exits non-zero, and the runner reports it as the gate's reason (exit code 3).
 */
export class GateVerdict extends Error {
  /** `err instanceof GateVerdict` holds for a verdict made by any copy of this module. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isGateVerdict(value);
  }

  constructor(message: string) {
    super(message);
    this.name = 'GateVerdict';
    Object.defineProperty(this, GATE_VERDICT, { value: true });
  }
}

// Artifact readers in stages turn schema issues into positioned diagnostics with the engine's one converter.
export { issuesToDiagnostics, type KeyPath, type SchemaIssue, type SourceRange } from './diagnostics.js';
