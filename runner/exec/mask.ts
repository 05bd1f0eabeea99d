// Masking the values of a stage's `passEnv` variables (secrets) as `***` in what the runner writes or prints of
// the stage: its log as it is written (a killed runner leaves no raw value in `.pipeline/logs/`), the live output,
// the reason a failure shows (the last stderr line, a gate's verdict, a thrown error's message), and from there
// the terminal, `--json`, last-run.json, history and run records.
//
// Values shorter than MIN_MASKED characters are not masked: masking every `1` or `yes` in a log would garble it,
// and a value that short is no secret. A value is masked wherever it appears, also split across two writes: the
// stream holds back a tail that could be the start of a value until the next chunk (or the end) says.
import { StringDecoder } from 'node:string_decoder';

/** The shortest value masked. */
export const MIN_MASKED = 4;
export const MASK = '***';

/** A matcher for the values worth masking (longest first, so a value inside another is masked as the longer one). */
function matcher(values: readonly string[]): { re: RegExp; values: string[] } | undefined {
  const kept = [...new Set(values.filter((v) => v.length >= MIN_MASKED))].sort((a, b) => b.length - a.length);
  if (kept.length === 0) return undefined;
  return { re: new RegExp(kept.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g'), values: kept };
}

/** `text` with every occurrence of the values masked. */
export function maskText(text: string, values: readonly string[]): string {
  const m = matcher(values);
  return m ? text.replace(m.re, MASK) : text;
}

/**
 * Masks one output stream chunk by chunk (bytes in, text out). What it returns never holds a value, nor the start
 * of one that the next chunk could complete: that tail is held back until `push` or `end`.
 */
export class MaskingStream {
  private readonly m: ReturnType<typeof matcher>;
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(values: readonly string[]) {
    this.m = matcher(values);
  }

  push(chunk: Buffer | string): string {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    if (!this.m) return text;
    const { re, values } = this.m;
    re.lastIndex = 0;
    let lastEnd = 0;
    for (let hit = re.exec(text); hit; hit = re.exec(text)) lastEnd = hit.index + hit[0].length;
    // The earliest place after the last whole value from which the rest could still become a value.
    const longest = values[0].length;
    let cut = text.length;
    for (let i = Math.max(lastEnd, text.length - longest + 1); i < text.length; i++) {
      const tail = text.slice(i);
      if (values.some((v) => v.startsWith(tail))) {
        cut = i;
        break;
      }
    }
    this.pending = text.slice(cut);
    return text.slice(0, cut).replace(re, MASK);
  }

  /** The stream ended: what is held back, masked. */
  end(): string {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return this.m ? rest.replace(this.m.re, MASK) : rest;
  }
}
