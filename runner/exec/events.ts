// The one stream a run reports through: the scheduler emits events, and the terminal, `--json`,
// .pipeline/last-run.json and the history are listeners on it (see report/).
import type { Reason } from '../plan/reasons.js';
import type { StageResult } from './outcome.js';

export interface RunSummary {
  ok: boolean;
  exitCode: number;
  /** Every stage, in run order; those outside the selection are `skipped`. */
  stages: StageResult[];
  startedAt: Date;
  durationMs: number;
}

export type RunEvent =
  /** A stage starts executing (fresh and restored stages do not start: they only finish). */
  | { type: 'stage-started'; name: string; reasons: Reason[] }
  /** A stage has its outcome; `log` is its output (of this run, or replayed with --verbose). */
  | { type: 'stage-finished'; result: StageResult; log?: string }
  | { type: 'run-finished'; summary: RunSummary };

export interface RunListener {
  event(event: RunEvent): void;
  /** The run is over or was cut short by an error: release what the listener holds (the live terminal area). */
  close?(): void;
}
