// Listeners on a run's event stream besides the terminal: `--json` on stdout, .pipeline/last-run.json, the
// history; and the combination that hands every event to several listeners, in order (as wireit's
// CombinationLogger does), to which listeners can be added as the run comes to need them.
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { dagJson } from '../graph/draw.js';
import type { Engine } from '../plan/engine.js';
import type { RunEvent, RunListener } from '../exec/events.js';
import { unreachable } from '../plan/reasons.js';
import { appendHistory, type HistoryEntry } from './history.js';
import { collectMetrics } from './metrics.js';
import { eventJson, lastRunJson, noticeJson, runJson, type ComputedLookup, type ParamsLookup, type RunNotes } from './json.js';
import { formatWarning } from './notices.js';
import { LAST_RUN_FILE } from '../public/last-run-file.js';

/** Every event to each listener, in the order given. */
export class CombinationListener implements RunListener {
  private readonly listeners: RunListener[];

  constructor(listeners: readonly RunListener[] = []) {
    this.listeners = [...listeners];
  }

  /** A listener for the events from now on (last-run.json and the history once the workspace is open). */
  add(listener: RunListener): void {
    this.listeners.push(listener);
  }

  event(event: RunEvent): void {
    for (const l of this.listeners) l.event(event);
  }

  close(): void {
    for (const l of this.listeners) l.close?.();
  }
}

/** `run --json`: the run's document on `out` when it finishes, with what the run said besides its stages. */
export class JsonListener implements RunListener {
  private notes: RunNotes = { warnings: [], events: [] };

  constructor(private readonly out: NodeJS.WritableStream) {}

  event(event: RunEvent): void {
    switch (event.type) {
      case 'stage-started':
      case 'stage-finished':
        return; // in the document's `stages`
      case 'run-finished':
        this.out.write(`${JSON.stringify(runJson(event.summary, this.notes))}\n`);
        // The next run of the session (one after another in one process) starts its own document.
        this.notes = { warnings: [], events: [] };
        return;
      case 'warning':
        this.notes.warnings.push(formatWarning(event.warning));
        this.notes.events.push(noticeJson(event));
        return;
      case 'stage-retry':
      case 'lock-wait':
      case 'remote-transfer':
      case 'interrupt':
      case 'hosts':
      case 'url-check':
        this.notes.events.push(noticeJson(event));
        return;
      case 'watch-waiting':
      case 'watch-change':
      case 'watch-invalid':
        return; // `pipeline watch` writes its events as lines (JsonLinesListener), not this document

      default:
        return unreachable(event);
    }
  }
}

/** `pipeline watch --json`: every event as one JSON object on a line of its own, as it happens. */
export class JsonLinesListener implements RunListener {
  constructor(private readonly out: NodeJS.WritableStream) {}

  event(event: RunEvent): void {
    this.out.write(`${JSON.stringify(eventJson(event))}\n`);
  }
}

/** When the execution that produced a fingerprint's outs finished and how long it took, from its run record. */
export function computedLookup(engine: Engine): ComputedLookup {
  return (fingerprint) => {
    const record = engine.cache.readRun(fingerprint);
    const finished = record ? Date.parse(record.createdAt) : NaN;
    // A record is untrusted input: only a real time and duration are passed on.
    if (!record || !Number.isFinite(finished) || !(Number.isFinite(record.durationMs) && record.durationMs >= 0)) return undefined;
    return { finishedAt: new Date(finished).toISOString(), durationMs: record.durationMs };
  };
}

/** The params each stage of the engine's config runs with. */
export function paramsLookup(engine: Engine): ParamsLookup {
  const byName = new Map(engine.config.stages.map((s) => [s.name, s.params]));
  return (stage) => byName.get(stage);
}

/** .pipeline/last-run.json, rewritten (atomically) when the run finishes. */
export class LastRunListener implements RunListener {
  constructor(private readonly engine: Engine) {}

  event(event: RunEvent): void {
    if (event.type !== 'run-finished') return;
    const doc = lastRunJson(event.summary, dagJson(this.engine.graph), computedLookup(this.engine), paramsLookup(this.engine));
    writeFileAtomic(path.join(this.engine.root, LAST_RUN_FILE), JSON.stringify(doc, null, 2));
  }
}

/** .pipeline/history/: the fingerprints and metrics the run ended with (`written`, once it has finished). */
export class HistoryListener implements RunListener {
  written: HistoryEntry | undefined;

  constructor(private readonly engine: Engine) {}

  event(event: RunEvent): void {
    if (event.type === 'run-finished') this.written = appendHistory(this.engine, event.summary.startedAt, event.summary, collectMetrics(this.engine));
  }
}
