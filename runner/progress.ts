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

  private line(name: string, state: StageStatus | 'running', rest: string): void {
    const label = this.paint(STYLE[state], state.padEnd(7));
    this.out.write(`${name.padEnd(this.width)}  ${label}  ${rest}`.trimEnd() + '\n');
  }

  start(name: string, reasons: string[]): void {
    this.line(name, 'running', reasons.join('; '));
  }

  finish(result: StageResult, output?: string): void {
    const time = formatDuration(result.durationMs).padStart(7);
    this.line(result.name, result.status, `${time}  ${result.reason}`);
    if (this.options.showOutput && output && output.trim().length > 0) {
      const bar = this.paint('gray', '│');
      const text = output.endsWith('\n') ? output.slice(0, -1) : output;
      this.out.write(text.split('\n').map((l) => `  ${bar} ${l}`).join('\n') + '\n');
    }
  }

  note(message: string): void {
    this.out.write(`${message}\n`);
  }
}
