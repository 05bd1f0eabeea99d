// Errors become outcomes here, and only here. Work on a stage returns a `Result` (as wireit's executions do) instead
// of throwing to mean "the stage failed"; `stageFailure` is the one function that turns an error thrown while a stage
// is worked on into its failure cause, and `duringRun` the one that turns an error ending a run, once stages began,
// into what the run exits with. An error neither knows is a bug, and stays one (an internal error).
import { ExitCode, UsageError } from '../core/errors.js';
import { IoError, ioErrorOf } from '../store/io-error.js';
import type { FailureCause } from './outcome.js';

export type Result<T, E = FailureCause> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): Result<T, never> {
  return { ok: true, value };
}

export function failed<E = FailureCause>(error: E): Result<never, E> {
  return { ok: false, error };
}

/** What an error thrown while a stage was worked on can stand for. */
export type StageFailure = Extract<FailureCause, { kind: 'interrupted' | 'workspace' }>;

/**
 * The failure an error thrown while a stage was worked on stands for: `interrupted` when the run was, the workspace's
 * words for an operating-system error (a full disk, a permission) or a refused path; anything else is rethrown.
 */
export function stageFailure(err: unknown, signal: AbortSignal): StageFailure {
  if (signal.aborted) return { kind: 'interrupted' };
  const known = ioErrorOf(err);
  if (known instanceof UsageError) return { kind: 'workspace', message: messageOf(known) };
  throw err;
}

/** Run some work on a stage; what it throws becomes a failed Result through `stageFailure`. */
export async function attempt<T>(signal: AbortSignal, work: () => T | Promise<T>): Promise<Result<T, StageFailure>> {
  try {
    return ok(await work());
  } catch (err) {
    return failed(stageFailure(err, signal));
  }
}

/** An error from the store or the workspace as one line: an I/O error carries its remedy. */
export function messageOf(err: UsageError): string {
  return err instanceof IoError ? `${err.message} (${err.hint})` : err.message;
}

/**
 * A run that could not finish once its stages began, for a reason outside any one stage: pipeline.lock, the run's
 * history or last-run.json cannot be written (a full disk, a read-only mount). What and how to fix it, and exit 1
 * (a failure during a run), never 2: the command line and the config were fine.
 */
export class RunError extends Error {
  readonly exitCode: number = ExitCode.stageFailed;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'RunError';
  }
}

/**
 * What an error that ends a run after its stages began stands for: an operating-system or workspace error (an
 * IoError is a UsageError, exit 2, when it is found before anything runs) becomes a RunError; a bug stays itself.
 */
export function duringRun(err: unknown): unknown {
  if (err instanceof RunError) return err;
  const known = ioErrorOf(err);
  return known instanceof UsageError ? new RunError(known.message, known.hint) : err;
}
