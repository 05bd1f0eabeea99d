// The contract between the engine and a `module:` stage. A stage module default-exports
// `async function (ctx: StageContext): Promise<void>`; the host builds the context and calls it.

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
  log: StageLogger;
  /** Aborted when the run is interrupted or the stage times out. */
  signal: AbortSignal;
}

export type StageFunction = (ctx: StageContext) => Promise<void> | void;

/**
 * Thrown by a gate stage to fail with a verdict; the host prints the message as the last line of
 * stderr and exits non-zero, and the runner reports it as the gate's reason (exit code 3).
 */
export class GateVerdict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateVerdict';
  }
}

/** Context of a workspace command (`commands:` in pipeline.yaml), run as `pipeline NAME [args...]`. */
export interface CommandContext {
  workspace: string;
  argv: string[];
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A workspace command returns its exit code. */
export type CommandFunction = (ctx: CommandContext) => Promise<number> | number;
