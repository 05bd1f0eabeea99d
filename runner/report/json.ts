// The `--json` shapes of stages, reasons, outcomes and notices, shared by `run --json`, `status --json`,
// `run --dry-run --json` and .pipeline/last-run.json. Every document carries `schemaVersion`.
import { SCHEMA_VERSION } from '../public/last-run-file.js';
import type { LastRun, ReasonRecord, StageRecord } from '../public/last-run.js';
import { reasonJson, type Reason } from '../plan/reasons.js';
import { describeResult, formatCause, outcomeJson, statusOf, type StageResult } from '../exec/outcome.js';
import { isNotice, type Notice, type RunEvent, type RunSummary, type StageEvent } from '../exec/events.js';
import { formatNotice } from './notices.js';

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
    attempts: result.attempts ?? 0,
    ...(result.jobId !== undefined ? { jobId: result.jobId } : {}),
    ...(result.stepId !== undefined ? { stepId: result.stepId } : {}),
  };
}

/** A notice, or a retry, in `run --json`'s `events`: its type, its sentence, then its fields. */
export type EventRecord = { type: string; message: string } & Record<string, unknown>;

export function noticeJson(event: Notice | Extract<StageEvent, { type: 'stage-retry' }>): EventRecord {
  if (event.type === 'stage-retry') {
    const { cause } = event;
    return { type: event.type, message: `attempt ${event.attempt}, after: ${formatCause(cause)}`, name: event.name, attempt: event.attempt, cause: { ...cause, message: formatCause(cause) } };
  }
  const { text } = formatNotice(event);
  if (event.type === 'watch-invalid') return { type: event.type, message: text, diagnostics: event.diagnostics };
  return event.type === 'warning' ? { type: event.type, message: text, ...event.warning } : { ...event, message: text };
}

/** One event as a line of `pipeline watch --json`: a stage's start or end, a run's document, or a notice. */
export function eventJson(event: RunEvent): EventRecord | Record<string, unknown> {
  if (isNotice(event) || event.type === 'stage-retry') return noticeJson(event);
  switch (event.type) {
    case 'stage-started':
      return { type: event.type, name: event.name, reasons: reasonsJson(event.reasons) };
    case 'stage-finished':
      return { type: event.type, stage: stageJson(event.result) };
    case 'run-finished':
      return { type: event.type, run: runJson(event.summary) };
  }
}

/** What a run said besides its stages: every notice in order (`events`), and the sentences of its warnings. */
export interface RunNotes {
  warnings: string[];
  events: EventRecord[];
}

export interface RunDocument {
  schemaVersion: typeof SCHEMA_VERSION;
  ok: boolean;
  exitCode: number;
  stages: StageRecord[];
  /** Present when the run warned about anything: each warning's sentence. */
  warnings?: string[];
  /** Present when the run said anything besides its stages (waiting for the workspace, a transfer, a warning, …). */
  events?: EventRecord[];
}

/** The document `run --json` prints (`notes`: what the run said besides its stages, when anything). */
export function runJson(summary: RunSummary, notes?: RunNotes): RunDocument {
  const doc: RunDocument = { schemaVersion: SCHEMA_VERSION, ok: summary.ok, exitCode: summary.exitCode, stages: summary.stages.map(stageJson) };
  if (notes?.warnings.length) doc.warnings = notes.warnings;
  if (notes?.events.length) doc.events = notes.events;
  return doc;
}

/** When and how long the execution that produced a fingerprint's outs took (its run record), if the store knows. */
export type ComputedLookup = (fingerprint: string) => { finishedAt: string; durationMs: number } | undefined;

/** The params a stage runs with (as its fingerprint covers them), by name. */
export type ParamsLookup = (stage: string) => Record<string, unknown> | undefined;

/**
 * The document written to .pipeline/last-run.json: each stage with outs also says which execution produced them
 * (`computed`), so a report of a run that only restored results describes the run that computed them.
 */
export function lastRunJson(summary: RunSummary, dag: LastRun['dag'], computed: ComputedLookup = () => undefined, paramsOf: ParamsLookup = () => undefined): LastRun {
  const { schemaVersion, ok, exitCode, stages } = runJson(summary);
  const withComputed = stages.map((s) => {
    if (s.fingerprint === null || (s.status !== 'ran' && s.status !== 'cached')) return s;
    const c = computed(s.fingerprint);
    const params = paramsOf(s.name);
    return {
      ...s,
      ...(c ? { computed: { finishedAt: c.finishedAt, durationMs: Math.round(c.durationMs) } } : {}),
      ...(params && Object.keys(params).length > 0 ? { params } : {}),
    };
  });
  return { schemaVersion, ok, exitCode, stages: withComputed, startedAt: summary.startedAt.toISOString(), durationMs: Math.round(summary.durationMs), dag };
}
