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
  /** The identifier column, kept for the output: its name and each row's value as written. */
  ids?: { name: string; values: (string | number)[] };
}

/** Which column identifies a row: `name`, and whether its absence is an error (--id-column) or not (the default `id`). */
export interface IdColumn {
  name: string;
  required: boolean;
}

/** The identifier column used when --id-column is not given and the rows have it. */
export const DEFAULT_ID_COLUMN = 'id';

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The format from a file name (.json, .csv), else from the first character of the text. */
export function detectFormat(name: string | undefined, text: string): RowFormat {
  if (name && /\.json$/i.test(name)) return 'json';
  if (name && /\.csv$/i.test(name)) return 'csv';
  return /^\s*[[{]/.test(text) ? 'json' : 'csv';
}

export function parseRows(text: string, features: readonly string[], label: string, format: RowFormat, id?: IdColumn): Rows {
  return format === 'json' ? parseJsonRows(text, features, label, id) : parseCsvRows(text, features, label, id);
}

function missingId(label: string, id: IdColumn, columns: string[]): RowError {
  return new RowError(`${label}: --id-column ${id.name}: the rows have no column ${id.name}${suggestion(id.name, columns)}; columns: ${columns.join(', ')}`);
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

export function parseCsvRows(text: string, features: readonly string[], label: string, id?: IdColumn): Rows {
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
  const idIndex = id ? header.indexOf(id.name) : -1;
  if (id?.required && idIndex < 0) throw missingId(`${label}:1`, id, header);
  const n = lines.length - 1;
  if (n === 0) throw new RowError(`${label}: no rows after the header`);
  const X = new Float64Array(n * features.length);
  const ids: string[] = [];
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
    if (idIndex >= 0) ids.push(unquote(fields[idIndex]));
  }
  return idIndex >= 0 ? { n, X, ids: { name: id!.name, values: ids } } : { n, X };
}

export function parseJsonRows(text: string, features: readonly string[], label: string, id?: IdColumn): Rows {
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
  const first = data[0] as unknown;
  const keepIds = id !== undefined && typeof first === 'object' && first !== null && Object.hasOwn(first, id.name);
  if (id?.required && !keepIds) throw missingId(`${label}: row 1`, id, typeof first === 'object' && first !== null ? Object.keys(first) : []);
  const ids: (string | number)[] = [];
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
    if (keepIds) {
      const v = obj[id.name];
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
        throw new RowError(`${label}: row ${i + 1}, column ${id.name} (the identifier): ${JSON.stringify(v) ?? String(v)} is not a string or a number`);
      }
      ids.push(v);
    }
  });
  return keepIds ? { n: data.length, X, ids: { name: id.name, values: ids } } : { n: data.length, X };
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
function csvField(v: string | number): string {
  const t = String(v);
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** Predictions with each row's number and, when the rows had one, its identifier (`row,id,prediction`). */
export function formatPredictions(pred: ArrayLike<number>, format: RowFormat, ids?: Rows['ids']): string {
  if (format === 'json') {
    const id = (i: number) => (ids ? `${JSON.stringify(ids.name)}: ${JSON.stringify(ids.values[i])}, ` : '');
    const rows = Array.from(pred, (v, i) => `  {"row": ${i + 1}, ${id(i)}"prediction": ${JSON.stringify(v)}}`);
    return `[\n${rows.join(',\n')}\n]\n`;
  }
  const lines = [ids ? `row,${csvField(ids.name)},prediction` : 'row,prediction'];
  for (let i = 0; i < pred.length; i++) lines.push(ids ? `${i + 1},${csvField(ids.values[i])},${pred[i]}` : `${i + 1},${pred[i]}`);
  return `${lines.join('\n')}\n`;
}

/** Each feature's smallest and largest value in the training rows. */
export interface FeatureRange {
  feature: string;
  min: number;
  max: number;
}

export function featureRanges(X: Float64Array, n: number, features: readonly string[]): FeatureRange[] {
  const p = features.length;
  return features.map((feature, j) => {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = X[i * p + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { feature, min, max };
  });
}

/** How far beyond the training range a value may lie before it is reported: this fraction of the range's width. */
export const FAR_FRACTION = 0.1;

export interface FarValue {
  /** 1-based row of the input. */
  row: number;
  feature: string;
  value: number;
  min: number;
  max: number;
}

/**
 * Values far outside what the model was trained on: below min or above max by more than FAR_FRACTION of
 * (max − min). A linear model extrapolates there without any sign of it in its output.
 */
export function farOutside(rows: Rows, ranges: readonly FeatureRange[], fraction = FAR_FRACTION): FarValue[] {
  const p = ranges.length;
  const found: FarValue[] = [];
  for (let i = 0; i < rows.n; i++) {
    ranges.forEach(({ feature, min, max }, j) => {
      const value = rows.X[i * p + j];
      const margin = fraction * (max - min);
      if (value < min - margin || value > max + margin) found.push({ row: i + 1, feature, value, min, max });
    });
  }
  return found;
}
