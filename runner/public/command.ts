// `pipeline-dag/command`: what a workspace command (`commands:` in pipeline.yaml, run as `pipeline NAME [args...]`)
// may import from the engine. Of the engine it loads only the exit codes (core/exit-codes.ts, plain values).
import { ExitCode, type ExitCodeValue } from '../core/exit-codes.js';

/** Context of a workspace command. */
export interface CommandContext {
  /** Absolute path of the workspace root. */
  workspace: string;
  /** The arguments after the command's name. */
  argv: string[];
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A workspace command returns its exit code. */
export type CommandFunction = (ctx: CommandContext) => Promise<number> | number;

/** The exit codes every `pipeline` command uses, workspace commands included. */
export { ExitCode, type ExitCodeValue };

/** Brand of a CommandError, shared by every copy of this module (see GateVerdict in `pipeline-dag/stage`). */
const COMMAND_ERROR = Symbol.for('pipeline-dag.command-error');

/** True for a CommandError made by any copy of this module. */
export function isCommandError(value: unknown): value is CommandError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[COMMAND_ERROR] === true;
}

/**
 * A failure meant for people: what went wrong and where (the message), how to fix it (the hint), and the exit code
 * (by default 2, a usage or input error).
 */
export class CommandError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isCommandError(value);
  }

  readonly exitCode: number;
  readonly hint?: string;

  constructor(message: string, options: { hint?: string; exitCode?: number } = {}) {
    super(message);
    this.name = 'CommandError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.usage;
    Object.defineProperty(this, COMMAND_ERROR, { value: true });
  }
}
