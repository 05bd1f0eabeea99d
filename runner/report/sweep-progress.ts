// Progress of a sweep (`pipeline exp run`), for people: how many variants are done, failed and running. On a terminal
// a live area at the bottom shows each running variant with its elapsed time, its changed params and the stages it
// is running now, redrawn in place, while each finished variant prints its one permanent line above it; elsewhere
// (a pipe, CI=true, TERM=dumb) plain lines: one when a variant starts, one when it ends, each with the counts.
import type { RunEvent } from '../exec/events.js';
import { formatDuration, liveTerminal } from './progress.js';
import { monotonicMs } from '../core/clock.js';

/** What the sweep tells its progress display. */
export interface SweepListener {
  started(name: string, changed: string): void;
  /** An event of one variant's run (the live area shows which stages it runs now). */
  event(name: string, event: RunEvent): void;
  finished(name: string, verdict: { ok: true } | { ok: false; reason: string }): void;
  close(): void;
}

interface Counts {
  total: number;
  done: number;
  failed: number;
  running: number;
}

const summary = (c: Counts): string => `${c.done}/${c.total} done, ${c.failed} failed, ${c.running} running`;

/** Plain lines: a start line and an end line per variant, each with the counts. */
export class SweepLines implements SweepListener {
  protected readonly counts: Counts;

  constructor(
    protected readonly out: NodeJS.WritableStream,
    total: number,
  ) {
    this.counts = { total, done: 0, failed: 0, running: 0 };
  }

  started(name: string, changed: string): void {
    this.counts.running++;
    this.write(`exp ${name}: started (${changed}); ${summary(this.counts)}\n`);
  }

  event(_name: string, _event: RunEvent): void {}

  finished(name: string, verdict: { ok: true } | { ok: false; reason: string }): void {
    this.count(verdict);
    this.write(`exp ${name}: ${verdict.ok ? 'ok' : `failed: ${verdict.reason}`}; ${summary(this.counts)}\n`);
  }

  /** A variant ended: one fewer running, one more done (and failed). */
  protected count(verdict: { ok: boolean }): void {
    this.counts.running--;
    this.counts.done++;
    if (!verdict.ok) this.counts.failed++;
  }

  protected write(text: string): void {
    this.out.write(text);
  }

  close(): void {}
}

type LogUpdate = ((text: string) => void) & { clear(): void; done(): void };

/** The live area on a terminal: the counts, then a line per running variant, redrawn in place. */
export class SweepLive extends SweepLines {
  private readonly running = new Map<string, { since: number; changed: string; stages: Set<string> }>();
  private update?: LogUpdate;
  private timer?: NodeJS.Timeout;

  static async create(stream: NodeJS.WriteStream, total: number): Promise<SweepLive> {
    const live = new SweepLive(stream, total);
    const { createLogUpdate } = await import('log-update');
    live.update = createLogUpdate(stream, { showCursor: false });
    live.timer = setInterval(() => live.render(), 200);
    live.timer.unref();
    return live;
  }

  override started(name: string, changed: string): void {
    this.counts.running++;
    this.running.set(name, { since: monotonicMs(), changed, stages: new Set() });
    this.render();
  }

  override event(name: string, event: RunEvent): void {
    const variant = this.running.get(name);
    if (!variant) return;
    if (event.type === 'stage-started' || event.type === 'stage-retry') variant.stages.add(event.name);
    else if (event.type === 'stage-finished') variant.stages.delete(event.result.name);
    else return;
    this.render();
  }

  override finished(name: string, verdict: { ok: true } | { ok: false; reason: string }): void {
    const since = this.running.get(name)?.since ?? monotonicMs();
    this.running.delete(name);
    this.count(verdict);
    const took = formatDuration(monotonicMs() - since);
    this.write(`exp ${name}: ${verdict.ok ? 'ok' : `failed: ${verdict.reason}`} (${took})\n`);
  }

  /** The area as it is now; each line cut to the terminal's width. */
  render(): void {
    if (!this.update) return;
    const now = monotonicMs();
    const width = (this.out as NodeJS.WriteStream).columns ?? 100;
    const fit = (line: string) => (line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line);
    const lines = [`exp: ${summary(this.counts)}`];
    for (const [name, v] of this.running) {
      const doing = v.stages.size > 0 ? `  [${[...v.stages].join(', ')}]` : '';
      lines.push(fit(`  ${name}  ${formatDuration(now - v.since).padStart(7)}  ${v.changed}${doing}`));
    }
    this.update(lines.join('\n'));
  }

  protected override write(text: string): void {
    this.update?.clear();
    this.out.write(text);
    this.render();
  }

  override close(): void {
    if (this.timer) clearInterval(this.timer);
    this.update?.clear();
    this.update?.done();
    this.update = undefined;
  }
}

/** The live area on a terminal (not with CI=true or TERM=dumb), plain lines otherwise. */
export async function sweepProgressFor(out: NodeJS.WriteStream, total: number): Promise<SweepListener> {
  return liveTerminal(out) ? SweepLive.create(out, total) : new SweepLines(out, total);
}
