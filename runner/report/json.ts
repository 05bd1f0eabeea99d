// The `--json` shapes of stages, reasons and outcomes, shared by `run --json`, `status --json`,
// `run --dry-run --json` and .pipeline/last-run.json. Every document carries `schemaVersion`.
import { SCHEMA_VERSION, type LastRun, type ReasonRecord, type StageRecord } from '../public/last-run.js';
import { reasonJson, type Reason } from '../plan/reasons.js';
import { describeResult, outcomeJson, statusOf, type StageResult } from '../exec/outcome.js';
import type { RunSummary } from '../exec/events.js';

export { SCHEMA_VERSION };

export function reasonsJson(reasons: readonly Reason[]): ReasonRecord[] {
  return reasons.map(reasonJson);
}

export function stageJson(result: StageResult): StageRecord {
  return {
    name: result.name,
    status: statusOf(result.outcome),
    reason: describeResult(result),
    durationMs: Math.round(result.durationMs),
    fingerprint: result.fingerprint ?? null,
    outcome: outcomeJson(result.outcome),
    reasons: reasonsJson(result.reasons),
    ...(result.jobId !== undefined ? { jobId: result.jobId } : {}),
  };
}

/** The document `run --json` prints. */
export function runJson(summary: RunSummary): { schemaVersion: typeof SCHEMA_VERSION; ok: boolean; exitCode: number; stages: StageRecord[] } {
  return { schemaVersion: SCHEMA_VERSION, ok: summary.ok, exitCode: summary.exitCode, stages: summary.stages.map(stageJson) };
}

/** The document written to .pipeline/last-run.json. */
export function lastRunJson(summary: RunSummary, dag: LastRun['dag']): LastRun {
  return { ...runJson(summary), startedAt: summary.startedAt.toISOString(), durationMs: Math.round(summary.durationMs), dag };
}
