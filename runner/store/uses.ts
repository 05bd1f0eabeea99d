// What a shared store (one PIPELINE_CACHE_DIR for several workspaces) records about its users, so that `gc` in one
// workspace never breaks another's results or rollbacks:
//   roots/<id>.json    per workspace (id: sha256 of its real path): the outs its pipeline.lock references, written
//                      when pipeline.lock is written (never by a no-op or `status`)
//   roots/<id>.experiments.json   per workspace: the outs its experiment records reference, written when an
//                      experiment is recorded, pulled or removed (kept until the experiment is removed)
//   leases/<host>.<pid>.<hex>.json   one per running `pipeline run`: while it lives, every object at least as new as
//                      its start is kept (objects a stage stores or re-uses are stamped with the time of use)
// Run records carry their last use as their mtime (set when written and when restored from).
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive, removeFile, writeFileAtomic } from '../core/atomic.js';
import { validOutRecords, type Cache, type OutRecord } from './cache.js';

export interface Roots {
  root: string;
  updatedAt: string;
  fingerprints: string[];
  outs: OutRecord[];
}

export interface Lease {
  host: string;
  pid: number;
  root: string;
  /** ms since the epoch */
  started: number;
}

/** What a roots file records: a workspace's pipeline.lock, or its experiments. */
export type RootsKind = 'lock' | 'experiments';

function rootsFile(cache: Cache, root: string, kind: RootsKind): string {
  let real = root;
  try {
    real = realpathSync(root);
  } catch {
    // keep the path as given
  }
  const id = createHash('sha256').update(real).digest('hex').slice(0, 32);
  return path.join(cache.dir, 'roots', kind === 'lock' ? `${id}.json` : `${id}.experiments.json`);
}

/** Record what a workspace's pipeline.lock (or its experiments) references (best effort: a read-only store records nothing). */
export function writeRoots(cache: Cache, root: string, entries: { fingerprint: string; outs: OutRecord[] }[], kind: RootsKind = 'lock'): void {
  const roots: Roots = {
    root: realpathSync(root),
    updatedAt: new Date().toISOString(),
    fingerprints: entries.map((e) => e.fingerprint),
    outs: entries.flatMap((e) => e.outs),
  };
  try {
    writeFileAtomic(rootsFile(cache, root, kind), JSON.stringify(roots));
  } catch {
    // the store is not writable here: gc elsewhere then keeps this workspace's results only by age
  }
}

export function readRoots(cache: Cache): { file: string; roots: Roots; mtimeMs: number }[] {
  const dir = path.join(cache.dir, 'roots');
  const found: { file: string; roots: Roots; mtimeMs: number }[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^[0-9a-f]{32}(\.experiments)?\.json$/.test(n));
  } catch {
    return found;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const roots = JSON.parse(readFileSync(file, 'utf8')) as Roots;
      if (typeof roots.root !== 'string' || !Array.isArray(roots.fingerprints) || !validOutRecords(roots.outs)) continue;
      found.push({ file, roots, mtimeMs: statSync(file).mtimeMs });
    } catch {
      // unreadable: ignored (protects nothing)
    }
  }
  return found;
}

/** Take a lease for a running run; release() removes it. */
export function openLease(cache: Cache, root: string): { release(): void } {
  const lease: Lease = { host: os.hostname(), pid: process.pid, root, started: Date.now() };
  const file = path.join(cache.dir, 'leases', `${lease.host.replace(/[^A-Za-z0-9_-]/g, '_')}.${process.pid}.${randomBytes(4).toString('hex')}.json`);
  try {
    writeFileAtomic(file, JSON.stringify(lease));
  } catch {
    return { release() {} };
  }
  return { release: () => removeFile(file) };
}

/** Live leases; those of processes of this host that are gone, or older than `staleMs` elsewhere, are removed. */
export function liveLeases(cache: Cache, staleMs: number, dryRun: boolean): Lease[] {
  const dir = path.join(cache.dir, 'leases');
  const live: Lease[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    return live;
  }
  const host = os.hostname();
  for (const name of names) {
    const file = path.join(dir, name);
    let lease: Lease;
    try {
      lease = JSON.parse(readFileSync(file, 'utf8')) as Lease;
    } catch {
      continue;
    }
    const alive = lease.host === host ? processAlive(lease.pid) : Date.now() - lease.started < staleMs;
    if (alive) live.push(lease);
    else if (!dryRun) removeFile(file);
  }
  return live;
}
