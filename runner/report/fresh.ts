// What a run that found every stage up to date hands to the fresh record (bin/fresh.js), which answers the same
// command later by stat alone: the lines it printed, with every duration 0ms (the record's answer puts its own
// time in the summary), and the last-run.json and history entry it wrote, for the answer to write again.
import { dagJson } from '../graph/draw.js';
import type { Engine } from '../plan/engine.js';
import type { RunEvent, RunListener, RunSummary } from '../exec/events.js';
import type { StageResult } from '../exec/outcome.js';
import { KEEP_ENTRIES, type HistoryEntry } from './history.js';
import { lastRunJson } from './json.js';
import type { HistoryListener } from './listeners.js';
import { LineReporter } from './progress.js';
import type { LastRun } from '../public/last-run.js';

export interface FreshAnswer {
  stdout: string;
  lastRun: LastRun;
  history: HistoryEntry;
  historyKeep: number;
}

/** Records the files a run consults and, told the run found everything fresh, writes the record. */
export interface FreshRecorder {
  certify(root: string, answer: FreshAnswer): void;
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
    return {
      stdout,
      lastRun: lastRunJson(zero, dagJson(this.engine.graph)),
      history,
      historyKeep: KEEP_ENTRIES,
    };
  }
}
