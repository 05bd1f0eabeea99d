// The table index of .pipeline/experiments/: what `exp show` needs of each record (all but its stages, which are
// most of a record's bytes), listed with the identity of the file it was read from (inode, size, mtime and ctime to
// the nanosecond). It is a cache, never a source: a row is used only when its file's stat is exactly the one listed
// and was older than the racy window when the index was written (a file rewritten within the timestamps'
// granularity could keep its stat); any other file is read and checked as a record, and the index is rewritten
// (atomically) when anything differed. An index that is damaged, of another format, or made elsewhere (other
// inodes) is ignored and rebuilt; the records always win.
import { readFileSync, readdirSync, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { RACY_NS } from './stat-cache.js';
import { byCreation, experimentsDir, parseExperiment, type ExperimentRecord } from './experiments.js';

/** Not `*.json`: never taken for a record. */
export const TABLE_INDEX_FILE = '.table-index';
const FORMAT = 'pipeline-dag experiments table index';
const VERSION = 1;

interface Entry {
  /** The record's file name. */
  f: string;
  /** `ino:size:mtimeNs:ctimeNs` of that file when it was read. */
  s: string;
  /** The record without its stages, as it was parsed (key order kept: `exp show --json` prints it). */
  r: Record<string, unknown>;
}

export interface Listing {
  records: ExperimentRecord[];
  damaged: { file: string; problem: string }[];
}

const identity = (st: BigIntStats) => `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

/** The entries of the index file by record file name; empty when there is none or it is not one of ours. */
function readIndex(dir: string): Map<string, Entry> {
  const byFile = new Map<string, Entry>();
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path.join(dir, TABLE_INDEX_FILE), 'utf8'));
  } catch {
    return byFile;
  }
  const v = value as { format?: unknown; version?: unknown; entries?: unknown };
  if (typeof v !== 'object' || v === null || v.format !== FORMAT || v.version !== VERSION || !Array.isArray(v.entries)) return byFile;
  for (const e of v.entries as Partial<Entry>[]) {
    if (typeof e === 'object' && e !== null && typeof e.f === 'string' && typeof e.s === 'string' && typeof e.r === 'object' && e.r !== null && !Array.isArray(e.r)) {
      byFile.set(e.f, e as Entry);
    }
  }
  return byFile;
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

/** The record as a row again: `stages: []` where its stages were (the table never uses them). */
function rowOf(r: Record<string, unknown>): ExperimentRecord {
  return { ...r, stages: [] } as unknown as ExperimentRecord;
}

/**
 * Every experiment record without its stages (`stages: []`), oldest first, and the `*.json` files that are not
 * records (with why); read through the index where it provably matches, and the index brought up to date.
 */
export function listExperimentSummaries(root: string): Listing {
  const dir = experimentsDir(root);
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return { records: [], damaged: [] };
  }
  const known = readIndex(dir);
  const now = BigInt(Date.now()) * 1_000_000n;
  const entries: Entry[] = [];
  const listing: Listing = { records: [], damaged: [] };
  let added = false;
  for (const f of names) {
    const file = path.join(dir, f);
    // stat before read: a record replaced in between is listed with the stat of the older file and read again next time.
    let st: BigIntStats;
    try {
      st = statSync(file, { bigint: true });
    } catch (err) {
      listing.damaged.push({ file, problem: (err as Error).message });
      continue;
    }
    const s = identity(st);
    const entry = known.get(f);
    if (entry && entry.s === s) {
      entries.push(entry);
      listing.records.push(rowOf(entry.r));
      continue;
    }
    try {
      const record = parseExperiment(file, readFileSync(file, 'utf8'), true);
      if (`${record.name}.json` !== f) {
        listing.damaged.push({ file, problem: `it records the name \`${record.name}\`` });
        continue;
      }
      const { stages: _, ...r } = record as unknown as Record<string, unknown>;
      listing.records.push(rowOf(r));
      const settled = st.mtimeNs + RACY_NS < now && st.ctimeNs + RACY_NS < now;
      if (settled && roundTrips(r)) {
        entries.push({ f, s, r });
        added = true;
      }
    } catch (err) {
      listing.damaged.push({ file, problem: (err as Error).message });
    }
  }
  if (added || entries.length !== known.size) writeIndex(dir, entries);
  byCreation(listing.records);
  return listing;
}

function writeIndex(dir: string, entries: Entry[]): void {
  try {
    writeFileAtomic(path.join(dir, TABLE_INDEX_FILE), JSON.stringify({ format: FORMAT, version: VERSION, entries }));
  } catch {
    // A read-only workspace still shows its table: the index is only ever a cache.
  }
}
