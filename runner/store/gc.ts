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
  const gc = new Collection(cache, options);
  for (const entry of kept.lockEntries) {
    gc.liveRuns.add(entry.fingerprint);
    gc.keepOuts(entry.outs);
  }
  const workspaces = 1 + (await gc.keepOtherWorkspaces(kept.workspaceRoot));
  for (const fp of kept.recentRuns) gc.liveRuns.add(fp);
  const leases = liveLeases(cache, Math.max(options.maxAgeDays, 1) * DAY_MS, options.dryRun);
  const leasedSince = Math.min(...leases.map((l) => l.started - 2000), Infinity);
  const { keptRuns, removedRuns } = await gc.sweepRuns(leasedSince);
  const removedObjects = await gc.sweepObjects(leasedSince);
  gc.sweepPartialWrites();
  return { keptRuns, removedRuns, keptObjects: gc.liveObjects.size, removedObjects, freedBytes: gc.freedBytes, workspaces, runningRuns: leases.length };
}

/** One collection: what is live so far, what was freed, and each pass over the store. */
class Collection {
  readonly liveRuns = new Set<string>();
  readonly liveObjects = new Set<string>();
  freedBytes = 0;
  /** Run records and roots files used since then are kept. */
  private readonly cutoff: number;
  private step = 0;

  constructor(
    private readonly cache: Cache,
    private readonly options: GcOptions,
  ) {
    this.cutoff = Date.now() - options.maxAgeDays * DAY_MS;
  }

  /** Lets Ctrl-C through every YIELD_EVERY steps of a long loop. */
  private async tick(): Promise<void> {
    if (++this.step % YIELD_EVERY === 0) await yieldToSignals(this.options.signal);
  }

  /** The objects of these outs are live, and for a folder the objects its manifest lists. */
  keepOuts(outs: { type: string; hash: string }[]): void {
    for (const o of outs) {
      this.liveObjects.add(o.hash);
      if (o.type === 'dir') {
        const text = this.cache.readObjectText(o.hash);
        const parsed = text === undefined ? undefined : parseManifest(text);
        if (parsed && 'manifest' in parsed) for (const e of parsed.manifest.entries) this.liveObjects.add(e.hash);
      }
    }
  }

  /** Other workspaces on this store keep their pipeline.lock, as they last wrote it; returns how many there are. */
  async keepOtherWorkspaces(workspaceRoot: string): Promise<number> {
    let workspaces = 0;
    for (const { file, roots, mtimeMs } of readRoots(this.cache)) {
      await this.tick();
      if (roots.root === workspaceRoot) continue;
      const gone = !existsSync(path.join(roots.root, 'pipeline.lock'));
      if (gone && (existsSync(roots.root) || mtimeMs < this.cutoff)) {
        // The workspace was deleted (or is out of sight and unused for --max-age): it protects nothing.
        if (!this.options.dryRun) rmSync(file, { force: true });
        continue;
      }
      workspaces++;
      for (const fp of roots.fingerprints) this.liveRuns.add(fp);
      this.keepOuts(roots.outs);
    }
    return workspaces;
  }

  /** Run records that are live, recent or used since a running run started stay (with their objects); the rest go. */
  async sweepRuns(leasedSince: number): Promise<{ keptRuns: number; removedRuns: number }> {
    let keptRuns = 0;
    let removedRuns = 0;
    for (const fp of this.cache.listRuns()) {
      await this.tick();
      const record = this.cache.readRun(fp);
      let usedAt: number;
      try {
        usedAt = statSync(this.cache.runPath(fp)).mtimeMs;
      } catch {
        continue;
      }
      if (record && (this.liveRuns.has(fp) || usedAt >= this.cutoff || usedAt >= leasedSince)) {
        keptRuns++;
        this.keepOuts(record.outs);
        if (record.log) this.liveObjects.add(record.log);
        continue;
      }
      removedRuns++;
      if (!this.options.dryRun) this.cache.deleteRun(fp);
    }
    return { keptRuns, removedRuns };
  }

  /** Objects no kept record references go, unless a running run may need them; returns how many went. */
  async sweepObjects(leasedSince: number): Promise<number> {
    let removed = 0;
    for (const hash of this.cache.listObjects()) {
      await this.tick();
      if (this.liveObjects.has(hash)) continue;
      let st;
      try {
        st = statSync(this.cache.objectPath(hash));
      } catch {
        continue; // already gone
      }
      if (st.mtimeMs >= leasedSince) continue; // a running run may need it
      removed++;
      this.freedBytes += st.size;
      if (!this.options.dryRun) this.cache.deleteObject(hash);
    }
    return removed;
  }

  /**
   * Partial writes left by killed processes: temp files (core/atomic.ts naming) beside objects and run records, and
   * the copies of older versions in tmp/. Those of live processes stay.
   */
  sweepPartialWrites(): void {
    const { cache } = this;
    this.sweepDir(cache.tmpDir, (name) => {
      const m = /^[0-9a-f]+\.(\d+)\.[0-9a-f]+$/.exec(name);
      return m ? Number(m[1]) : undefined;
    });
    this.sweepDir(cache.dir, tempOwner);
    for (const top of [cache.objectsDir, cache.runsDir, path.join(cache.dir, 'roots'), path.join(cache.dir, 'leases')]) {
      this.sweepDir(top, tempOwner);
      let shards: string[];
      try {
        shards = readdirSync(top).filter((s) => /^[0-9a-f]{2}$/.test(s));
      } catch {
        continue;
      }
      for (const shard of shards) this.sweepDir(path.join(top, shard), tempOwner);
    }
  }

  /** Removes the files of `dir` written by a process that is gone (`owner` reads the pid from a name). */
  private sweepDir(dir: string, owner: (name: string) => number | undefined): void {
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
        this.freedBytes += statSync(file).size;
      } catch {
        continue;
      }
      if (!this.options.dryRun) rmSync(file, { force: true });
    }
  }
}
