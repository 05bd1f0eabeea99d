// The table index of .pipeline/experiments/: what `exp show` needs of each record (all but its stages, which are
// most of a record's bytes), listed with the identity of the file it was read from (inode, size, mtime and ctime to
// a fraction of a microsecond). It is a cache, never a source: a row is used only when its file's stat is exactly
// the one listed and was older than the racy window when the index was written (a file rewritten within the
// timestamps' granularity could keep its stat); any other file is read and checked as a record, and the index is rewritten
// (atomically) when anything differed. An index that is damaged, of another format, or made elsewhere (other
// inodes) is ignored and rebuilt; the records always win. Metrics, most of what is left, are kept as columns: one
// list of `FILE:KEY` names, each row's columns in its record's order as one of a few shared "shapes" (the rows of a
// sweep all have the same), and every value as one block of float64s (exact, and read without parsing text). That is
// what the table reads (no per-row flattening); the nested `metrics` is made again only when printed.
import { readFileSync, type Stats } from 'node:fs';
import { endianness } from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { RACY_NS } from './stat-cache.js';
import { byCreation, experimentProblem, parseExperiment, statRecordFiles, type ExperimentRecord } from './experiments.js';

/** Not `*.json`: never taken for a record. */
export const TABLE_INDEX_FILE = '.table-index';
const FORMAT = 'pipeline-dag experiments table index';
const VERSION = 3;

/**
 * A row's metrics flat, in the record's order: `cols[i]` is the column (a number into `names`, `FILE:KEY`; one array
 * for every row of a listing, so a table maps its columns once, not once per row) of `values[i]`.
 */
export interface FlatMetrics {
  names: string[];
  cols: number[];
  values: ArrayLike<number>;
}

/** The columns of a listing: the index's own, then any a record read again adds. */
class Columns {
  readonly names: string[] = [];
  readonly pairs: [string, string][] = [];
  private readonly numbers = new Map<string, number>();

  constructor(pairs: [string, string][] = []) {
    for (const [file, key] of pairs) this.number(file, key);
  }

  number(file: string, key: string): number {
    const name = `${file}:${key}`;
    let n = this.numbers.get(name);
    if (n === undefined) {
      this.numbers.set(name, (n = this.names.length));
      this.names.push(name);
      this.pairs.push([file, key]);
    }
    return n;
  }
}

/** A record read for the table, in memory. */
interface Entry {
  /** The record's file name. */
  f: string;
  /** `ino:size:mtimeMs:ctimeMs` of that file when it was read. */
  s: string;
  /** The record without its stages, as parsed (key order kept: `exp show --json` prints it); `metrics` is not used. */
  r: Record<string, unknown>;
  /** Its metrics: columns (numbered in the listing's Columns) and values. */
  cols: number[];
  values: ArrayLike<number>;
}

export interface Listing {
  records: ExperimentRecord[];
  damaged: { file: string; problem: string }[];
}

// Times in milliseconds with their fraction (as precise as a double holds, ≈ 0.2 µs): enough, as every file listed
// was more than the racy window old when the index was written, so any later write moves its ctime by more than that.
const identity = (st: Stats) => `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;

const flats = new WeakMap<object, FlatMetrics>();
/** A listed record's metrics flat (undefined for a record that did not come from a listing). */
export function listedMetrics(record: object): FlatMetrics | undefined {
  return flats.get(record);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One index entry checked as the record it stands for would be; undefined when it is not one. */
function entryOf(e: unknown, shapes: number[][], values: Float64Array): Entry | undefined {
  if (!isObject(e) || typeof e.f !== 'string' || typeof e.s !== 'string' || !isObject(e.r) || !Number.isInteger(e.k) || !Number.isInteger(e.o)) return undefined;
  const { r, k, o } = e as { r: Record<string, unknown>; k: number; o: number };
  const cols = shapes[k];
  if (cols === undefined || o < 0 || o + cols.length > values.length) return undefined;
  if (r.metrics !== 0 || experimentProblem({ ...r, metrics: {}, stages: [] }, true) !== undefined || `${String(r.name)}.json` !== e.f) return undefined;
  return { f: e.f, s: e.s, r, cols, values: values.subarray(o, o + cols.length) };
}

/** The float64s of the index's `values` (base64, little-endian); undefined when it is not a whole number of them. */
function floats(text: unknown): Float64Array | undefined {
  if (typeof text !== 'string') return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 8 !== 0 || bytes.toString('base64') !== text) return undefined;
  const out = new Float64Array(bytes.length / 8);
  if (endianness() === 'LE') new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < out.length; i++) out[i] = bytes.readDoubleLE(i * 8);
  return out;
}

/** The index file's columns and entries (by record file name); empty when there is none or it is not one of ours. */
function readIndex(dir: string): { columns: Columns; entries: Map<string, Entry> } {
  const none = () => ({ columns: new Columns(), entries: new Map<string, Entry>() });
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path.join(dir, TABLE_INDEX_FILE), 'utf8'));
  } catch {
    return none();
  }
  if (!isObject(v) || v.format !== FORMAT || v.version !== VERSION || !Array.isArray(v.columns) || !Array.isArray(v.shapes) || !Array.isArray(v.entries)) return none();
  const pairs = v.columns as unknown[];
  if (!pairs.every((c) => Array.isArray(c) && c.length === 2 && typeof c[0] === 'string' && typeof c[1] === 'string')) return none();
  const columns = new Columns(pairs as [string, string][]);
  // Two equal columns would make one column two: not an index this module wrote.
  if (columns.names.length !== pairs.length) return none();
  const shapes = v.shapes as unknown[];
  const isColumn = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < pairs.length;
  if (!shapes.every((c) => Array.isArray(c) && c.every(isColumn))) return none();
  const values = floats(v.values);
  if (!values) return none();
  const entries = new Map<string, Entry>();
  for (const e of v.entries) {
    const entry = entryOf(e, shapes as number[][], values);
    if (!entry) return none(); // one bad entry: the whole file is not to be trusted
    entries.set(entry.f, entry);
  }
  return { columns, entries };
}

/**
 * A value that comes back the same from JSON (no -0, no number too large for a double), so a row read from the
 * index is exactly the row read from its record.
 */
function roundTrips(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.every(roundTrips);
  if (v !== null && typeof v === 'object') return Object.values(v).every(roundTrips);
  return true;
}

function entryFromRecord(f: string, s: string, record: ExperimentRecord, columns: Columns): Entry {
  const { stages: _, ...r } = record as unknown as Record<string, unknown>;
  const cols: number[] = [];
  const values: number[] = [];
  for (const [file, byKey] of Object.entries(record.metrics)) {
    for (const [key, value] of Object.entries(byKey)) {
      cols.push(columns.number(file, key));
      values.push(value);
    }
  }
  return { f, s, r, cols, values };
}

/** Set an own, enumerable property (a key named `__proto__` included). */
function put(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/** The record as a row: `stages: []`, `metrics` made from the pairs only when read, its flat metrics remembered. */
function rowOf(e: Entry, columns: Columns): ExperimentRecord {
  const row: Record<string, unknown> = {};
  for (const key of Object.keys(e.r)) {
    if (key !== 'metrics') put(row, key, e.r[key]);
    else {
      let nested: Record<string, Record<string, number>> | undefined;
      Object.defineProperty(row, key, { enumerable: true, configurable: true, get: () => (nested ??= nest(e, columns)) });
    }
  }
  row.stages = [];
  flats.set(row, { names: columns.names, cols: e.cols, values: e.values });
  return row as unknown as ExperimentRecord;
}

function nest(e: Entry, columns: Columns): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (let i = 0; i < e.cols.length; i++) {
    const [file, key] = columns.pairs[e.cols[i]];
    if (!Object.hasOwn(out, file)) put(out, file, {});
    put(out[file], key, e.values[i]);
  }
  return out;
}

/**
 * Every experiment record without its stages (`stages: []`), oldest first, and the `*.json` files that are not
 * records (with why); read through the index where it provably matches, and the index brought up to date. `now`:
 * the time the racy window is counted back from (a test's later clock).
 */
export function listExperimentSummaries(root: string, now = Date.now(), look = statRecordFiles(root)): Listing {
  if (look === undefined) return { records: [], damaged: [] };
  const { dir } = look;
  const { columns, entries: known } = readIndex(dir);
  const racyBefore = now - Number(RACY_NS / 1_000_000n);
  const keep: Entry[] = [];
  const listing: Listing = { records: [], damaged: [] };
  let added = false;
  // stat before read (`look`): a record replaced in between is listed with the stat of the older file and read again next time.
  for (const { name: f, file, stat: st } of look.files) {
    if (st instanceof Error) {
      listing.damaged.push({ file, problem: st.message });
      continue;
    }
    const s = identity(st);
    const indexed = known.get(f);
    if (indexed && indexed.s === s) {
      keep.push(indexed);
      listing.records.push(rowOf(indexed, columns));
      continue;
    }
    try {
      const record = parseExperiment(file, readFileSync(file, 'utf8'), true);
      if (`${record.name}.json` !== f) {
        listing.damaged.push({ file, problem: `it records the name \`${record.name}\`` });
        continue;
      }
      const entry = entryFromRecord(f, s, record, columns);
      listing.records.push(rowOf(entry, columns));
      const settled = st.mtimeMs < racyBefore && st.ctimeMs < racyBefore;
      if (settled && roundTrips(entry.r)) {
        keep.push(entry);
        added = true;
      }
    } catch (err) {
      listing.damaged.push({ file, problem: (err as Error).message });
    }
  }
  if (added || keep.length !== known.size) writeIndex(dir, columns, keep);
  byCreation(listing.records);
  return listing;
}

function writeIndex(dir: string, columns: Columns, entries: Entry[]): void {
  const shapes: number[][] = [];
  const shapeNumbers = new Map<string, number>();
  const values = Buffer.alloc(8 * entries.reduce((n, e) => n + e.values.length, 0));
  let o = 0;
  const stored = entries.map(({ f, s, r, cols, values: vs }) => {
    // The record's keys in their order, `metrics` a placeholder (its values are in `values`).
    const row: Record<string, unknown> = {};
    for (const key of Object.keys(r)) put(row, key, key === 'metrics' ? 0 : r[key]);
    const shape = cols.join(',');
    let k = shapeNumbers.get(shape);
    if (k === undefined) {
      shapeNumbers.set(shape, (k = shapes.length));
      shapes.push(cols);
    }
    const at = o;
    for (let i = 0; i < vs.length; i++) values.writeDoubleLE(vs[i], 8 * o++);
    return { f, s, r: row, k, o: at };
  });
  try {
    const index = { format: FORMAT, version: VERSION, columns: columns.pairs, shapes, values: values.toString('base64'), entries: stored };
    writeFileAtomic(path.join(dir, TABLE_INDEX_FILE), JSON.stringify(index));
  } catch {
    // A read-only workspace still shows its table: the index is only ever a cache.
  }
}
