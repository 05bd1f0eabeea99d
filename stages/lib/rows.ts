// Rows to score, as CSV (a header naming the columns) or JSON (an array of objects), with the model's feature columns
// by name in any order; other columns are ignored. A bad row is an error naming its row and column.
import { suggestion } from './suggest.js';

export type RowFormat = 'csv' | 'json';

export class RowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowError';
  }
}

export interface Rows {
  n: number;
  /** Row-major n × features.length, in the order of `features`. */
  X: Float64Array;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The format from a file name (.json, .csv), else from the first character of the text. */
export function detectFormat(name: string | undefined, text: string): RowFormat {
  if (name && /\.json$/i.test(name)) return 'json';
  if (name && /\.csv$/i.test(name)) return 'csv';
  return /^\s*[[{]/.test(text) ? 'json' : 'csv';
}

export function parseRows(text: string, features: readonly string[], label: string, format: RowFormat): Rows {
  return format === 'json' ? parseJsonRows(text, features, label) : parseCsvRows(text, features, label);
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

export function parseCsvRows(text: string, features: readonly string[], label: string): Rows {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) throw new RowError(`${label}: empty input; expected a header line naming the columns ${features.join(', ')}`);
  const header = lines[0].split(',').map(unquote);
  const seen = new Set<string>();
  for (const [c, name] of header.entries()) {
    if (seen.has(name)) throw new RowError(`${label}:1: column ${c + 1} repeats the name ${JSON.stringify(name)}; each column must be named once`);
    seen.add(name);
  }
  const index = features.map((f) => {
    const c = header.indexOf(f);
    if (c < 0) {
      throw new RowError(
        `${label}:1: the header has no column ${f}${suggestion(f, header.filter((h) => !features.includes(h)))}; ` +
          `the first line must name the columns ${features.join(', ')}`,
      );
    }
    return c;
  });
  const n = lines.length - 1;
  if (n === 0) throw new RowError(`${label}: no rows after the header`);
  const X = new Float64Array(n * features.length);
  for (let r = 1; r <= n; r++) {
    const fields = lines[r].split(',');
    if (fields.length !== header.length) {
      throw new RowError(`${label}:${r + 1}: row ${r} has ${fields.length} fields but the header names ${header.length} columns`);
    }
    for (let j = 0; j < features.length; j++) {
      const raw = unquote(fields[index[j]]);
      const v = NUMBER.test(raw) ? Number(raw) : NaN;
      if (!Number.isFinite(v)) {
        throw new RowError(`${label}:${r + 1}: row ${r}, column ${features[j]}: ${JSON.stringify(raw)} is not a finite number`);
      }
      X[(r - 1) * features.length + j] = v;
    }
  }
  return { n, X };
}

export function parseJsonRows(text: string, features: readonly string[], label: string): Rows {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new RowError(`${label}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data)) {
    throw new RowError(`${label}: expected a JSON array of objects like {"${features[0]}": 8.3, ...}, got ${data === null ? 'null' : typeof data}`);
  }
  if (data.length === 0) throw new RowError(`${label}: the array has no rows`);
  const X = new Float64Array(data.length * features.length);
  data.forEach((row: unknown, i) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new RowError(`${label}: row ${i + 1} is ${Array.isArray(row) ? 'an array' : JSON.stringify(row)}; each row must be an object with the columns ${features.join(', ')}`);
    }
    const obj = row as Record<string, unknown>;
    for (let j = 0; j < features.length; j++) {
      const f = features[j];
      if (!Object.hasOwn(obj, f)) {
        const others = Object.keys(obj).filter((k) => !features.includes(k));
        throw new RowError(`${label}: row ${i + 1} has no column ${f}${suggestion(f, others)}`);
      }
      const v = obj[f];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new RowError(`${label}: row ${i + 1}, column ${f}: ${typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v))} is not a finite number`);
      }
      X[i * features.length + j] = v;
    }
  });
  return { n: data.length, X };
}

export function formatPredictions(pred: ArrayLike<number>, format: RowFormat): string {
  if (format === 'json') {
    const rows = Array.from(pred, (v, i) => `  {"row": ${i + 1}, "prediction": ${JSON.stringify(v)}}`);
    return `[\n${rows.join(',\n')}\n]\n`;
  }
  const lines = ['row,prediction'];
  for (let i = 0; i < pred.length; i++) lines.push(`${i + 1},${pred[i]}`);
  return `${lines.join('\n')}\n`;
}
