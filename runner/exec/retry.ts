// Retrying a stage (`retries: N`, `retryOn: [codes]`): which failures another attempt may cure, and how the
// attempts read in the stage's one log. An attempt runs with the same inputs, after what the failed one left of
// its outs is removed; neither key is part of the fingerprint (plan/fingerprint.ts never reads them).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { StageConfig } from '../config/types.js';
import { unreachable } from '../plan/reasons.js';
import { formatCause, type FailureCause } from './outcome.js';

/**
 * Whether a failed attempt is followed by another. With `retryOn`, only an exit with one of its codes is. Without,
 * any failure another attempt may cure: an exit, a signal (the OOM killer), a timeout (a hung download or a slow node;
 * each attempt has the whole limit, and the cost is bounded by the retries the stage asked for), a cluster job that
 * ended (preempted, lost with its node, out of memory: the next attempt may ask for more), outs not written. Never:
 * a gate's verdict (a judgement, not an accident), an interrupt, a command that cannot start or a module that cannot
 * load or build (the same argv and code fail the same way), inputs that changed while it ran (running again is the
 * user's call: the run records nothing for them), an error of the workspace (a full disk, a refused path).
 */
export function mayRetry(stage: StageConfig, cause: FailureCause, attempt: number, signal: AbortSignal): boolean {
  if (signal.aborted || attempt > (stage.retries ?? 0)) return false;
  if (stage.retryOn) return cause.kind === 'exit' && stage.retryOn.includes(cause.exitCode);
  switch (cause.kind) {
    case 'exit':
    case 'signal':
    case 'timeout':
    case 'job-ended':
    case 'outs-missing':
      return true;
    case 'gate':
    case 'interrupted':
    case 'spawn':
    case 'module-error':
    case 'inputs-changed':
    case 'dep-missing':
    case 'workspace':
      return false;
    default:
      return unreachable(cause);
  }
}

/** The line that opens attempt `attempt` (2 or more) in the stage's log: which attempt, and why the one before failed. */
export function attemptHeader(attempt: number, attempts: number, cause: FailureCause): string {
  return `──── attempt ${attempt} of ${attempts} (attempt ${attempt - 1} failed: ${formatCause(cause)}) ────\n`;
}

/** The stage's log so far with the next attempt's output after it, opened by its header. */
export function appendAttempt(log: string, header: string, next: string): string {
  return `${log}${log === '' || log.endsWith('\n') ? '' : '\n'}${header}${next}`;
}

/** What a module stage's host said about a module it could not load (host.ts), read once and removed. */
export function takeLoadError(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const message = readFileSync(file, 'utf8').trim();
  rmSync(file, { force: true });
  return message || 'the stage\'s module could not be loaded';
}
