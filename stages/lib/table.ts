// Plain-text and Markdown tables, and the fixed number formats used in them.

export type Align = 'left' | 'right';

export function textTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => ((align[c] ?? (c === 0 ? 'left' : 'right')) === 'left' ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const sep = headers.map((_, c) => ((align[c] ?? (c === 0 ? 'left' : 'right')) === 'left' ? ':---' : '---:'));
  const esc = (cell: string) => cell.replace(/\|/g, '\\|');
  return [headers.map(esc), sep, ...rows.map((r) => r.map(esc))].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Fixed decimals, with −0 shown as 0. */
export function fixed(x: number, digits = 4): string {
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** A small difference: 0 as `0`, below 1e-3 in exponent form, else 4 decimals. */
export function delta(x: number): string {
  if (x === 0) return '0';
  return Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toFixed(4);
}

/** A difference with its sign: `+7.76e-4`, `-0.2768`, `0`. */
export function signed(x: number): string {
  if (x === 0) return '0';
  return (x > 0 ? '+' : '') + delta(x);
}
