// Progress for people: one line per stage with its state, duration, and why; the output of each stage that
// ran, grouped under its line. Colour only on a terminal (never with NO_COLOR, CI=true or a pipe).
import { styleText } from 'node:util';

export type StageStatus = 'ran' | 'cached' | 'skipped' | 'failed' | 'blocked';

export interface StageResult {
  name: string;
  status: StageStatus;
  /** Why the stage ran, was cached, failed or was blocked. */
  reason: string;
  durationMs: number;
  fingerprint?: string;
  gate?: boolean;
}

export interface Reporter {
  start(name: string, reasons: string[]): void;
  finish(result: StageResult, output?: string): void;
  note(message: string): void;
  /** The run is over: leave the terminal as plain lines. */
  close?(): void;
}

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

export class LineReporter implements Reporter {
  private readonly color: boolean;
  private width = 8;

  constructor(
    private readonly out: NodeJS.WriteStream,
    names: string[],
    private readonly options: { showOutput: boolean } = { showOutput: true },
  ) {
    this.color = useColor(out);
    this.width = Math.min(32, Math.max(8, ...names.map((n) => n.length)));
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

  /** Everything the reporter prints goes through here (the live reporter redraws around it). */
  protected write(text: string): void {
    this.out.write(text);
  }

  start(name: string, reasons: string[]): void {
    this.line(name, 'running', reasons.join('; '));
  }

  finish(result: StageResult, output?: string): void {
    const time = formatDuration(result.durationMs).padStart(7);
    let text = `${this.format(result.name, result.status, `${time}  ${result.reason}`)}\n`;
    if (this.options.showOutput && output && output.trim().length > 0) {
      const bar = this.paint('gray', '│');
      const body = output.endsWith('\n') ? output.slice(0, -1) : output;
      text += body.split('\n').map((l) => `  ${bar} ${l}`).join('\n') + '\n';
    }
    this.write(text);
  }

  note(message: string): void {
    this.write(`${message}\n`);
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
    options: { showOutput: boolean },
  ) {
    super(stream, names, options);
  }

  static async create(stream: NodeJS.WriteStream, names: string[], options: { showOutput: boolean }): Promise<LiveReporter> {
    const reporter = new LiveReporter(stream, names, options);
    const { createLogUpdate } = await import('log-update');
    reporter.update = createLogUpdate(stream, { showCursor: false });
    reporter.timer = setInterval(() => reporter.render(), 200);
    reporter.timer.unref();
    return reporter;
  }

  private render(): void {
    if (!this.update) return;
    const now = performance.now();
    const width = this.stream.columns ?? 100;
    const lines = [...this.running].map(([name, r]) => {
      const line = this.format(name, 'running', `${formatDuration(now - r.since).padStart(7)}  ${r.why}`);
      return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
    });
    this.update(lines.join('\n'));
  }

  protected override write(text: string): void {
    this.update?.clear();
    super.write(text);
    this.render();
  }

  override start(name: string, reasons: string[]): void {
    this.running.set(name, { since: performance.now(), why: reasons.join('; ') });
    this.render();
  }

  override finish(result: StageResult, output?: string): void {
    this.running.delete(result.name);
    super.finish(result, output);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.update?.clear();
    this.update?.done();
    this.update = undefined;
  }
}

/** The live view on a terminal (not with CI=true or TERM=dumb), plain lines otherwise. */
export async function reporterFor(out: NodeJS.WriteStream, names: string[], options: { showOutput: boolean }): Promise<Reporter> {
  const live = Boolean(out.isTTY) && process.env.CI !== 'true' && process.env.TERM !== 'dumb';
  return live ? LiveReporter.create(out, names, options) : new LineReporter(out, names, options);
}
