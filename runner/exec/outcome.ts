// How a stage ended, as data. Every stage of a run ends with exactly one outcome; a failed one carries its
// cause. `formatCause` is the one place that turns a cause into the sentence people read.
import type { Reason } from '../plan/reasons.js';
import { formatReasons, unreachable } from '../plan/reasons.js';
import type { StageStatus } from '../public/last-run.js';

/** Why a stage failed. */
export type FailureCause =
  /**
   * The process exited with a non-zero code; `message` is its verdict or the last line it wrote to stderr. A module
   * stage that threw also has `at`, where in its source (`stages/fit.ts:8:86`), and `stack`, mapped to the source.
   */
  | { kind: 'exit'; exitCode: number; message?: string; at?: string; stack?: string }
  /** A gate stage rejected the result (exited non-zero); `message` is its verdict. */
  | { kind: 'gate'; exitCode: number; message?: string; at?: string; stack?: string }
  /** The process was killed by a signal (by the system, the OOM killer, a user); `message` is the last line it wrote to stderr. */
  | { kind: 'signal'; signal: string; message?: string }
  | { kind: 'timeout'; timeoutMs: number }
  /** The run was interrupted (SIGINT/SIGTERM) while the stage ran. */
  | { kind: 'interrupted' }
  /**
   * A cluster job ended without writing its exit status: cancelled outside the run, past its time limit, lost
   * with its node, out of memory. `state` is the scheduler's (CANCELLED, TIMEOUT, NODE_FAIL, …), `gone` when it
   * no longer knows the job.
   */
  | { kind: 'job-ended'; jobId: string; state: string; reason?: string }
  /** The process could not be started (command not found, …). */
  | { kind: 'spawn'; message: string }
  /** An input (dep, code or upstream out) changed while the stage ran: its outputs were not recorded. */
  | { kind: 'inputs-changed'; path: string; what: 'input' | 'code' }
  /** The stage succeeded but did not write these declared outs. */
  | { kind: 'outs-missing'; paths: string[] }
  /** A dep vanished between the start of the run and the start of the stage. */
  | { kind: 'dep-missing'; path: string; position: string; suggestion?: string }
  /** A `module:` stage's code does not build. */
  | { kind: 'module-error'; message: string }
  /** Saving or clearing the stage's outs failed (a symlink, a special file, a path outside the workspace). */
  | { kind: 'workspace'; message: string };

export type Outcome =
  /** Its outputs were in place for its inputs: nothing done. */
  | { kind: 'fresh' }
  /** Its outputs for these inputs were put back from the store. */
  | { kind: 'restored' }
  | { kind: 'ran' }
  | { kind: 'failed'; cause: FailureCause }
  /** Not started: a stage it needs failed or was blocked, or the run stopped first. */
  | { kind: 'blocked' }
  /** Not selected. */
  | { kind: 'skipped' };

export type OutcomeKind = Outcome['kind'];

export interface StageResult {
  name: string;
  outcome: Outcome;
  /** Why it ran, was fresh, restored or blocked (for a failed stage: why it ran). */
  reasons: Reason[];
  durationMs: number;
  fingerprint?: string;
  gate?: boolean;
  /** The cluster job that executed it (executor `slurm`; its last attempt's). */
  jobId?: string;
  /** The job step that executed it (`J.S`; `--slurm-mode steps`; its last attempt's). */
  stepId?: string;
  /** How many times its command was executed in this run (more than 1 when `retries` retried it); absent: none. */
  attempts?: number;
}

/** The coarse status of `run --json` and last-run.json (`cached` for fresh and restored). */
export type { StageStatus };

export function statusOf(outcome: Outcome): StageStatus {
  switch (outcome.kind) {
    case 'fresh':
    case 'restored':
      return 'cached';
    case 'ran':
    case 'failed':
    case 'blocked':
    case 'skipped':
      return outcome.kind;
    default:
      return unreachable(outcome);
  }
}

export function formatCause(cause: FailureCause): string {
  switch (cause.kind) {
    case 'exit':
    case 'gate':
      return `${cause.message ?? `exited with code ${cause.exitCode}`}${cause.at ? ` (at ${cause.at})` : ''}`;
    case 'signal':
      return `killed by signal ${cause.signal}${cause.message ? ` (last line on stderr: ${cause.message})` : ''}`;
    case 'timeout':
      return `timed out after ${(cause.timeoutMs / 1000).toFixed(1)}s`;
    case 'interrupted':
      return 'interrupted';
    case 'job-ended':
      return `Slurm job ${cause.jobId} ${JOB_STATES[cause.state] ?? `ended ${cause.state}`} without writing its exit status${cause.reason && cause.reason !== 'None' ? ` (${cause.reason})` : ''}`;
    case 'spawn':
    case 'workspace':
    case 'module-error':
      return cause.message;
    case 'inputs-changed':
      return `${cause.what} \`${cause.path}\` changed while the stage ran; its outputs were not recorded — run again`;
    case 'outs-missing':
      return cause.paths.length === 1
        ? `the stage did not write its out \`${cause.paths[0]}\``
        : `the stage did not write its outs ${cause.paths.map((p) => `\`${p}\``).join(', ')}`;
    case 'dep-missing':
      return `dep \`${cause.path}\` does not exist (${cause.position})${cause.suggestion ? `; did you mean \`${cause.suggestion}\`?` : ''}`;
    default:
      return unreachable(cause);
  }
}

/** How a Slurm job state reads in a cause's sentence. */
const JOB_STATES: Record<string, string> = {
  CANCELLED: 'was cancelled',
  TIMEOUT: 'reached its time limit',
  NODE_FAIL: 'was lost with its node',
  OUT_OF_MEMORY: 'ran out of memory',
  PREEMPTED: 'was preempted',
  BOOT_FAIL: 'could not boot its node',
  DEADLINE: 'missed its deadline',
  gone: 'is no longer known to Slurm',
};

/** The one-line account of a stage (`reason` in `run --json`, the text after the status on the terminal). */
export function describeResult(result: StageResult): string {
  const { outcome } = result;
  switch (outcome.kind) {
    case 'fresh':
    case 'ran':
    case 'blocked':
    case 'skipped':
      return formatReasons(result.reasons);
    case 'restored':
      return `restored: ${formatReasons(result.reasons)}`;
    case 'failed':
      return formatCause(outcome.cause);
    default:
      return unreachable(outcome);
  }
}

/** An outcome in the `--json` documents: `{kind, cause?: {kind, exitCode?, signal?, …}}`. */
export function outcomeJson(outcome: Outcome): { kind: OutcomeKind; cause?: FailureCause & { message: string } } {
  if (outcome.kind !== 'failed') return { kind: outcome.kind };
  return { kind: 'failed', cause: { ...outcome.cause, message: formatCause(outcome.cause) } };
}
