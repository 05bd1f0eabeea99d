// Progress for people, a listener on the run's events: one line per stage with its state, duration, and why;
// the output of each stage that ran, grouped under its line; the summary at the end; what the run says around its
// stages (waiting for the workspace, warnings, transfers) on stderr. Colour only on a terminal (never with
// NO_COLOR, CI=true or a pipe).
import { styleText } from 'node:util';
import { ExitCode } from '../core/errors.js';
import { formatReasons, unreachable } from '../plan/reasons.js';
import { describeResult, formatCause, statusOf, type StageResult, type StageStatus } from '../exec/outcome.js';
import type { Notice, RunEvent, RunListener, RunSummary } from '../exec/events.js';
import { noticeLine } from './notices.js';
import { monotonicMs } from '../core/clock.js';

type Style = Parameters<typeof styleText>[0];

export function useColor(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.CI !== 'true' && process.env.TERM !== 'dumb';
}

const STYLE: Record<StageStatus | 'running', Style> = {
  ran: 'green',
  cached: 'cyan',
  skipped: 'gray',
  failed: 'red',
  blocked: 'yellow',
  running: 'blue',
};

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

export interface ReporterOptions {
  showOutput: boolean;
  /** Where notices go (default: stderr, whatever `out` is). */
  notices?: NodeJS.WritableStream;
}

/** The width of the stage-name column: the longest name, from 8 to 32 characters. */
export function nameWidth(names: readonly string[]): number {
  return Math.min(32, Math.max(8, ...names.map((n) => n.length)));
}

export class LineReporter implements RunListener {
  private readonly color: boolean;
  private width = 8;

  constructor(
    private readonly out: NodeJS.WriteStream,
    names: string[],
    private readonly options: ReporterOptions = { showOutput: true },
  ) {
    this.color = useColor(out);
    this.width = nameWidth(names);
  }

  private paint(style: Style, text: string): string {
    return this.color ? styleText(style, text) : text;
  }

  protected format(name: string, state: StageStatus | 'running', rest: string): string {
    const label = this.paint(STYLE[state], state.padEnd(7));
    return `${name.padEnd(this.width)}  ${label}  ${rest}`.trimEnd();
  }

  private line(name: string, state: StageStatus | 'running', rest: string): void {
    this.write(`${this.format(name, state, rest)}\n`);
  }

  /** Everything the reporter prints goes through here (the live reporter redraws around it), notices to their stream. */
  protected write(text: string, to: NodeJS.WritableStream = this.out): void {
    to.write(text);
  }

  event(event: RunEvent): void {
    switch (event.type) {
      case 'stage-started':
        return this.start(event.name, formatReasons(event.reasons));
      case 'stage-retry':
        return this.start(event.name, `attempt ${event.attempt}, after: ${formatCause(event.cause)}`);
      case 'stage-finished':
        return this.finish(event.result, event.log);
      case 'run-finished':
        return this.summarize(event.summary);
      case 'lock-wait':
      case 'warning':
      case 'remote-transfer':
      case 'interrupt':
      case 'hosts':
      case 'url-check':
      case 'watch-waiting':
      case 'watch-change':
      case 'watch-invalid':
        return this.notice(event);
      default:
        return unreachable(event);
    }
  }

  /** On stderr; what `run --update` learnt of its URL deps goes with the progress, as `pipeline update` prints it. */
  private notice(notice: Notice): void {
    const line = noticeLine(notice);
    if (line !== undefined) this.write(line, notice.type === 'url-check' ? this.out : (this.options.notices ?? process.stderr));
  }

  close(): void {}

  protected start(name: string, why: string): void {
    this.line(name, 'running', why);
  }

  protected finish(result: StageResult, output?: string): void {
    const time = formatDuration(result.durationMs).padStart(7);
    const tries = (result.attempts ?? 0) > 1 ? ` (${result.attempts} attempts)` : '';
    let text = `${this.format(result.name, statusOf(result.outcome), `${time}  ${describeResult(result)}${tries}`)}\n`;
    if (this.options.showOutput && output && output.trim().length > 0) {
      const bar = this.paint('gray', '│');
      const body = output.endsWith('\n') ? output.slice(0, -1) : output;
      text += body.split('\n').map((l) => `  ${bar} ${l}`).join('\n') + '\n';
    }
    this.write(text);
  }

  /** The failed gate's verdict, if the run failed on a gate, and one line of counts. */
  protected summarize(summary: RunSummary): void {
    this.close();
    const count = (s: StageStatus) => summary.stages.filter((x) => statusOf(x.outcome) === s).length;
    const failedGate = summary.stages.find((s) => s.outcome.kind === 'failed' && s.gate);
    if (failedGate?.outcome.kind === 'failed' && summary.exitCode === ExitCode.gateFailed) {
      this.write(`gate \`${failedGate.name}\` failed: ${formatCause(failedGate.outcome.cause)}\n`);
    }
    this.write(
      `${summary.stages.length} stages: ${count('ran')} ran, ${count('cached')} cached, ${count('failed')} failed, ${count('blocked')} blocked${count('skipped') > 0 ? `, ${count('skipped')} skipped` : ''}` +
        ` (${formatDuration(summary.durationMs)})${summary.exitCode === ExitCode.interrupted ? ' — interrupted' : ''}\n`,
    );
  }
}

/**
 * On a terminal: finished stages print their one line (and output) as with LineReporter, while the stages
 * running now stay in a live area at the bottom, each with its elapsed time, redrawn in place (log-update).
 */
export class LiveReporter extends LineReporter {
  private readonly running = new Map<string, { since: number; why: string }>();
  private update?: ((text: string) => void) & { clear(): void; done(): void };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    names: string[],
    options: ReporterOptions,
  ) {
    super(stream, names, options);
  }

  static async create(stream: NodeJS.WriteStream, names: string[], options: ReporterOptions): Promise<LiveReporter> {
    const reporter = new LiveReporter(stream, names, options);
    const { createLogUpdate } = await import('log-update');
    reporter.update = createLogUpdate(stream, { showCursor: false });
    reporter.timer = setInterval(() => reporter.render(), 200);
    reporter.timer.unref();
    return reporter;
  }

  private render(): void {
    if (!this.update) return;
    const now = monotonicMs();
    const width = this.stream.columns ?? 100;
    const lines = [...this.running].map(([name, r]) => {
      const line = this.format(name, 'running', `${formatDuration(now - r.since).padStart(7)}  ${r.why}`);
      return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
    });
    this.update(lines.join('\n'));
  }

  protected override write(text: string, to?: NodeJS.WritableStream): void {
    this.update?.clear();
    super.write(text, to);
    this.render();
  }

  protected override start(name: string, why: string): void {
    this.running.set(name, { since: monotonicMs(), why });
    this.render();
  }

  protected override finish(result: StageResult, output?: string): void {
    this.running.delete(result.name);
    super.finish(result, output);
  }

  override close(): void {
    if (this.timer) clearInterval(this.timer);
    this.update?.clear();
    this.update?.done();
    this.update = undefined;
  }
}

/** Whether a live area can be drawn on `out`: a terminal, not with CI=true or TERM=dumb. */
export function liveTerminal(out: NodeJS.WriteStream): boolean {
  return Boolean(out.isTTY) && process.env.CI !== 'true' && process.env.TERM !== 'dumb';
}

/** The live view on a terminal (not with CI=true or TERM=dumb), plain lines otherwise. */
export async function reporterFor(out: NodeJS.WriteStream, names: string[], options: ReporterOptions): Promise<LineReporter> {
  return liveTerminal(out) ? LiveReporter.create(out, names, options) : new LineReporter(out, names, options);
}
