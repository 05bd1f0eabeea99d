// Garbage collection of a store that several workspaces may share. Kept:
//   - every run record (and the objects of its outs, folder manifests and log) that some workspace's pipeline.lock
//     references: this workspace's lock, and every other one through its roots file (store/uses.ts);
//   - the run records of this workspace's last N runs (--keep-runs);
//   - every run record used (written or restored from) within the last --max-age days, whatever workspace used it;
//   - every object at least as new as the start of a running `pipeline run` anywhere on the store (its lease): the
//     previous outs a failing stage puts back, and the outs it has stored but not yet recorded.
// Everything else goes. Roots files of workspaces that are gone (no pipeline.lock at their path) are dropped,
// as are leases of dead processes. Long loops yield so Ctrl-C stops gc promptly (exit 130, nothing half-done:
// each removal is one unlink, and a run record goes before the objects only it kept).
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { processAlive, tempOwner } from '../core/atomic.js';
import type { Cache } from './cache.js';
import { parseManifest, yieldToSignals, YIELD_EVERY } from './hash.js';
import type { LockEntry } from './lockfile.js';
import { liveLeases, readRoots } from './uses.js';

export interface GcResult {
  keptRuns: number;
  removedRuns: number;
  keptObjects: number;
  removedObjects: number;
  freedBytes: number;
  /** Workspaces sharing the store whose pipeline.lock was honoured (this one included). */
  workspaces: number;
  runningRuns: number;
}

/** What this workspace keeps, gathered by the caller. */
export interface GcRoots {
  /** The workspace's real path: its roots file in the store is superseded by `lockEntries`. */
  workspaceRoot: string;
  /** The pipeline.lock entries of the workspace's current stages. */
  lockEntries: Pick<LockEntry, 'fingerprint' | 'outs'>[];
  /** The fingerprints of the workspace's last N runs (--keep-runs), from its history. */
  recentRuns: string[];
}

export interface GcOptions {
  /** Keep what was used within this many days (0: only what is referenced). */
  maxAgeDays: number;
  dryRun: boolean;
  signal?: AbortSignal;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export async function collectGarbage(cache: Cache, kept: GcRoots, options: GcOptions): Promise<GcResult> {
  const { dryRun, signal } = options;
  const now = Date.now();
  const cutoff = now - options.maxAgeDays * DAY_MS;
  const liveRuns = new Set<string>();
  const liveObjects = new Set<string>();
  let step = 0;
  const tick = async () => {
    if (++step % YIELD_EVERY === 0) await yieldToSignals(signal);
  };
  const keepOuts = (outs: { type: string; hash: string }[]) => {
    for (const o of outs) {
      liveObjects.add(o.hash);
      if (o.type === 'dir') {
        const text = cache.readObjectText(o.hash);
        const parsed = text === undefined ? undefined : parseManifest(text);
        if (parsed && 'manifest' in parsed) for (const e of parsed.manifest.entries) liveObjects.add(e.hash);
      }
    }
  };
  for (const entry of kept.lockEntries) {
    liveRuns.add(entry.fingerprint);
    keepOuts(entry.outs);
  }
  // Other workspaces on this store: their pipeline.lock, as they last wrote it.
  let workspaces = 1;
  for (const { file, roots, mtimeMs } of readRoots(cache)) {
    await tick();
    if (roots.root === kept.workspaceRoot) continue;
    const gone = !existsSync(path.join(roots.root, 'pipeline.lock'));
    if (gone && (existsSync(roots.root) || mtimeMs < cutoff)) {
      // The workspace was deleted (or is out of sight and unused for --max-age): it protects nothing.
      if (!dryRun) rmSync(file, { force: true });
      continue;
    }
    workspaces++;
    for (const fp of roots.fingerprints) liveRuns.add(fp);
    keepOuts(roots.outs);
  }
  for (const fp of kept.recentRuns) liveRuns.add(fp);
  const leases = liveLeases(cache, Math.max(options.maxAgeDays, 1) * DAY_MS, dryRun);
  const leasedSince = Math.min(...leases.map((l) => l.started - 2000), Infinity);

  let removedRuns = 0;
  let keptRuns = 0;
  let freedBytes = 0;
  for (const fp of cache.listRuns()) {
    await tick();
    const record = cache.readRun(fp);
    let usedAt: number;
    try {
      usedAt = statSync(cache.runPath(fp)).mtimeMs;
    } catch {
      continue;
    }
    if (record && (liveRuns.has(fp) || usedAt >= cutoff || usedAt >= leasedSince)) {
      keptRuns++;
      keepOuts(record.outs);
      if (record.log) liveObjects.add(record.log);
      continue;
    }
    removedRuns++;
    if (!dryRun) cache.deleteRun(fp);
  }
  let removedObjects = 0;
  for (const hash of cache.listObjects()) {
    await tick();
    if (liveObjects.has(hash)) continue;
    let st;
    try {
      st = statSync(cache.objectPath(hash));
    } catch {
      continue; // already gone
    }
    if (st.mtimeMs >= leasedSince) continue; // a running run may need it
    removedObjects++;
    freedBytes += st.size;
    if (!dryRun) cache.deleteObject(hash);
  }
  // Partial writes left by killed processes: temp files (core/atomic.ts naming) beside objects and run records,
  // and the copies of older versions in tmp/. Those of live processes stay.
  const sweep = (dir: string, owner: (name: string) => number | undefined) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const pid = owner(name);
      if (pid === undefined || processAlive(pid)) continue;
      const file = path.join(dir, name);
      try {
        freedBytes += statSync(file).size;
      } catch {
        continue;
      }
      if (!dryRun) rmSync(file, { force: true });
    }
  };
  sweep(cache.tmpDir, (name) => {
    const m = /^[0-9a-f]+\.(\d+)\.[0-9a-f]+$/.exec(name);
    return m ? Number(m[1]) : undefined;
  });
  sweep(cache.dir, tempOwner);
  for (const top of [cache.objectsDir, cache.runsDir, path.join(cache.dir, 'roots'), path.join(cache.dir, 'leases')]) {
    sweep(top, tempOwner);
    let shards: string[];
    try {
      shards = readdirSync(top).filter((s) => /^[0-9a-f]{2}$/.test(s));
    } catch {
      continue;
    }
    for (const shard of shards) sweep(path.join(top, shard), tempOwner);
  }
  return { keptRuns, removedRuns, keptObjects: liveObjects.size, removedObjects, freedBytes, workspaces, runningRuns: leases.length };
}
