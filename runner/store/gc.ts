// Garbage collection of the store: keep what pipeline.lock and the last N runs reference (their run records,
// the objects of their outs, folder manifests and logs); remove the rest.
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { processAlive } from '../core/atomic.js';
import type { Engine } from '../plan/engine.js';
import type { DirManifest } from './hash.js';
import { readHistory } from '../report/history.js';

export interface GcResult {
  keptRuns: number;
  removedRuns: number;
  keptObjects: number;
  removedObjects: number;
  freedBytes: number;
}

export function collectGarbage(engine: Engine, keepRuns: number, dryRun: boolean): GcResult {
  const { cache } = engine;
  const liveRuns = new Set<string>();
  const liveObjects = new Set<string>();
  const keepOuts = (outs: { type: string; hash: string }[]) => {
    for (const o of outs) {
      liveObjects.add(o.hash);
      if (o.type === 'dir') {
        const text = cache.readObjectText(o.hash);
        if (text) for (const e of (JSON.parse(text) as DirManifest).entries) liveObjects.add(e.hash);
      }
    }
  };
  for (const name of engine.graph.order) {
    const entry = engine.lock.get(name);
    if (entry) {
      liveRuns.add(entry.fingerprint);
      keepOuts(entry.outs);
    }
  }
  const history = readHistory(engine);
  for (const h of history.slice(Math.max(0, history.length - keepRuns))) for (const fp of Object.values(h.fingerprints)) liveRuns.add(fp);
  let removedRuns = 0;
  for (const fp of cache.listRuns()) {
    const record = cache.readRun(fp);
    if (liveRuns.has(fp) && record) {
      keepOuts(record.outs);
      if (record.log) liveObjects.add(record.log);
      continue;
    }
    removedRuns++;
    if (!dryRun) cache.deleteRun(fp);
  }
  let removedObjects = 0;
  let freedBytes = 0;
  for (const hash of cache.listObjects()) {
    if (liveObjects.has(hash)) continue;
    removedObjects++;
    try {
      freedBytes += statSync(cache.objectPath(hash)).size;
    } catch {
      // already gone
    }
    if (!dryRun) cache.deleteObject(hash);
  }
  // Partial writes left by killed runs: copies into the store (tmp/<hash>.<pid>.<random>) and the temp files of
  // atomic writes beside objects and run records (.<name>.<pid>.<random>.tmp). Those of live processes stay.
  const sweep = (dir: string, pattern: RegExp) => {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const pid = Number(pattern.exec(name)?.[1] ?? NaN);
      if (Number.isNaN(pid) || processAlive(pid)) continue;
      const file = path.join(dir, name);
      try {
        freedBytes += statSync(file).size;
      } catch {
        continue;
      }
      if (!dryRun) rmSync(file, { force: true });
    }
  };
  sweep(cache.tmpDir, /^[0-9a-f]+\.(\d+)\.[0-9a-f]+$/);
  for (const top of [cache.objectsDir, cache.runsDir]) {
    let shards: string[] = [];
    try {
      shards = readdirSync(top);
    } catch {
      continue;
    }
    for (const shard of shards) sweep(path.join(top, shard), /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/);
  }
  return { keptRuns: liveRuns.size, removedRuns, keptObjects: liveObjects.size, removedObjects, freedBytes };
}
