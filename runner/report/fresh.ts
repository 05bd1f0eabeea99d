// What a run that found every stage up to date hands to the fresh record (bin/fresh.js), which answers the same
// command later by stat alone: what it printed as data (each stage's name, status and reason, the name column's
// width, whether in colour), which the answer renders with every duration 0ms and its own time in the summary; the
// lines as printed, which the record's writer checks its rendering against; and the last-run.json and history entry
// it wrote, for the answer to write again.
import { dagJson } from '../graph/draw.js';
import type { Engine } from '../plan/engine.js';
import type { RunEvent, RunListener, RunSummary } from '../exec/events.js';
import { describeResult, statusOf, type StageResult, type StageStatus } from '../exec/outcome.js';
import type { HistoryEntry } from './history.js';
import { lastRunJson } from './json.js';
import { computedLookup, paramsLookup } from './listeners.js';
import type { HistoryListener } from './listeners.js';
import { LineReporter, nameWidth, useColor } from './progress.js';
import type { LastRun } from '../public/last-run.js';
import type { RequiredKind } from '../core/read-set.js';

/** What a no-op printed, as data: `[name, status, reason]` per stage in the order printed. */
export interface FreshView {
  width: number;
  color: boolean;
  stages: [string, StageStatus, string][];
}

export interface FreshAnswer {
  /** The lines as the terminal reporter printed them (durations 0ms): what `view` must render to. */
  stdout: string;
  view: FreshView;
  lastRun: LastRun;
  history: HistoryEntry;
  /** Every path the engine's decisions read (engine.reads): the files the record is written from. */
  files: string[];
  /** The decision's inputs among them, by kind (config, lock, dep, out, code, package): what a record must cover. */
  inputs: Record<RequiredKind, string[]>;
}

/** Told the run found everything fresh, writes the record from the files the engine names. */
export interface FreshRecorder {
  certify(root: string, answer: FreshAnswer): void;
  /** The stages as the run finished them (PIPELINE_FRESH_CHECK holds them against what the record would answer). */
  decided(stages: FreshView['stages']): void;
}

/**
 * Listens to a run; once it has finished with every selected stage up to date in place, `answer()` is what to give
 * again: what the terminal reporter printed for it on `out`, with 0ms durations, and the files it wrote.
 */
export class FreshListener implements RunListener {
  private readonly finished: StageResult[] = [];
  private summary: RunSummary | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly out: NodeJS.WriteStream,
    private readonly showOutput: boolean,
    /** The run's history listener, listening before this one: the entry it wrote is the one to write again. */
    private readonly history: HistoryListener,
  ) {}

  event(event: RunEvent): void {
    if (event.type === 'stage-finished') this.finished.push(event.result);
    else if (event.type === 'run-finished') this.summary = event.summary;
  }

  /** Each stage as the run finished it, `[name, status, reason]`, in the order finished: a no-op's view, or not. */
  stages(): FreshView['stages'] {
    return this.finished.map((r): [string, StageStatus, string] => [r.name, statusOf(r.outcome), describeResult(r)]);
  }

  answer(): FreshAnswer | undefined {
    const { summary } = this;
    const history = this.history.written;
    if (!summary || !history || summary.exitCode !== 0 || !this.finished.length) return undefined;
    if (!summary.stages.every((s) => s.outcome.kind === 'fresh' || s.outcome.kind === 'skipped')) return undefined;
    let stdout = '';
    const sink = Object.assign(Object.create(this.out) as NodeJS.WriteStream, {
      write: (text: string) => {
        stdout += text;
        return true;
      },
    });
    const reporter = new LineReporter(sink, this.engine.graph.order, { showOutput: this.showOutput });
    const still = (s: StageResult): StageResult => ({ ...s, durationMs: 0 });
    for (const result of this.finished) reporter.event({ type: 'stage-finished', result: still(result) });
    const zero = { ...summary, durationMs: 0, stages: summary.stages.map(still) };
    reporter.event({ type: 'run-finished', summary: zero });
    const view: FreshView = {
      width: nameWidth(this.engine.graph.order),
      color: useColor(this.out),
      stages: this.stages(),
    };
    const { reads } = this.engine;
    return { stdout, view, lastRun: lastRunJson(zero, dagJson(this.engine.graph), computedLookup(this.engine), paramsLookup(this.engine)), history, files: reads.list(), inputs: reads.inputs() };
  }
}
