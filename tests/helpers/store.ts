// Readers for what a run records: pipeline.lock, the store's objects and run records, and the invariant a crash
// must never break (every recorded out is whole in the store).
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from './snapshot.js';

export interface OutJson {
  path: string;
  type: 'file' | 'dir';
  hash: string;
  size?: number;
}

export interface LockJson {
  version?: number;
  stages: Record<string, { fingerprint: string; outs: OutJson[] }>;
}

/** The store a workspace keeps inside itself when PIPELINE_CACHE_DIR is unset. */
export function storeIn(ws: string): string {
  return path.join(ws, '.pipeline', 'cache');
}

/** pipeline.lock of a workspace, parsed; `{stages: {}}` when there is none. */
export function readLock(ws: string): LockJson {
  try {
    return JSON.parse(readFileSync(path.join(ws, 'pipeline.lock'), 'utf8')) as LockJson;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { stages: {} };
    throw err;
  }
}

/** The path of an object in a store. */
export function storeObject(store: string, hash: string): string {
  return path.join(store, 'objects', hash.slice(0, 2), hash.slice(2));
}

/** The path of an object in the workspace's own store (.pipeline/cache). */
export function objectPath(ws: string, hash: string): string {
  return storeObject(storeIn(ws), hash);
}

/** Every object hash reachable from a recorded out (a folder's manifest and its files). */
export function objectsOf(ws: string, out: { type: 'file' | 'dir'; hash: string }, store = storeIn(ws)): string[] {
  if (out.type === 'file') return [out.hash];
  const manifest = JSON.parse(readFileSync(storeObject(store, out.hash), 'utf8')) as { entries: { hash: string }[] };
  return [out.hash, ...manifest.entries.map((e) => e.hash)];
}

/** Every run record in a store: its file and its content (records being written, `.…` temp files, left out). */
export function runRecords(store: string): { file: string; record: { stage: string; fingerprint: string; outs: OutJson[] } & Record<string, unknown> }[] {
  const runs = path.join(store, 'runs');
  let shards: string[];
  try {
    shards = readdirSync(runs);
  } catch {
    return [];
  }
  return shards.flatMap((shard) =>
    readdirSync(path.join(runs, shard))
      .filter((f) => !f.startsWith('.'))
      .map((f) => {
        const file = path.join(runs, shard, f);
        return { file, record: JSON.parse(readFileSync(file, 'utf8')) as { stage: string; fingerprint: string; outs: OutJson[] } };
      }),
  );
}

/**
 * The invariant a crash must never break: every out that pipeline.lock or a run record names is in the store
 * as a regular file whose bytes hash to its name. Returns the problems found.
 */
export function recordedOutsProblems(ws: string, store = storeIn(ws)): string[] {
  const problems: string[] = [];
  const check = (who: string, outs: OutJson[]) => {
    for (const out of outs) {
      let hashes: string[];
      try {
        hashes = objectsOf(ws, out, store);
      } catch (err) {
        problems.push(`${who}: ${out.path}: manifest ${out.hash.slice(0, 12)} unreadable (${(err as Error).message})`);
        continue;
      }
      for (const h of hashes) {
        const file = storeObject(store, h);
        let st;
        try {
          st = lstatSync(file);
        } catch {
          problems.push(`${who}: ${out.path}: object ${h.slice(0, 12)} missing`);
          continue;
        }
        if (!st.isFile() || sha256(readFileSync(file)) !== h) problems.push(`${who}: ${out.path}: object ${h.slice(0, 12)} corrupt`);
      }
    }
  };
  for (const [name, entry] of Object.entries(readLock(ws).stages)) check(`pipeline.lock ${name}`, entry.outs);
  for (const { file, record } of runRecords(store)) {
    const shard = path.basename(path.dirname(file));
    check(`run record ${shard}${path.basename(file).slice(0, 10)} (${record.stage})`, record.outs);
  }
  return problems;
}
