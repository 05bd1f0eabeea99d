// The content-addressed store and the run-cache.
//   objects/ab/cdef…    every output file (and folder manifest, and stage log) ever produced, named by its sha256
//   runs/ab/cdef….json  fingerprint → the outputs it produced, so any state ever seen restores without executing
//   leases/PID.HEX.json every object a running stage may still need to put its previous outs back (see gc.ts)
// Writes go to a temp file, are flushed to disk and renamed into place; objects are re-hashed before they are
// restored, and before a store trusts an object already there, and a bad one is discarded, so a corrupt or
// tampered store costs a re-run, never a wrong result. Run records are untrusted input too: one whose shape is
// wrong is ignored, and `checkRecordedOuts` refuses one whose outs are not exactly the stage's declared outs.
// A record from a remote is written to runs/ only when it is signed (or its outs are pipeline.lock's); an unsigned
// one is lent to the process that pulled it (`lendRun`) and never stored.
import { chmodSync, constants, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, utimesSync } from 'node:fs';
import path from 'node:path';
import type { ReadSet } from '../core/read-set.js';
import { flushFiles, renameMakingFolder, syncFileSystemOf, tempPathFor, writeFileAtomic, writeFileDurably } from '../core/atomic.js';
import { HASH_PATTERN, hashBytes, hashFile, yieldToSignals, YIELD_EVERY } from './hash.js';
import { ioError, withIo, withIoAsync } from './io-error.js';
import { validOutRecords, type OutRecord } from './out-records.js';

export { checkRecordedOuts, outsDisagreement, validOutRecords, type OutRecord } from './out-records.js';

export const RUN_RECORD_VERSION = 1;
const FSYNC_EACH_UP_TO = 8;

export interface RunRecord {
  version: number;
  fingerprint: string;
  stage: string;
  outs: OutRecord[];
  /** Object hash of the stage's captured stdout/stderr. */
  log?: string;
  durationMs: number;
  createdAt: string;
}

export function defaultCacheDir(root: string): string {
  const fromEnv = process.env.PIPELINE_CACHE_DIR;
  return fromEnv ? path.resolve(root, fromEnv) : path.join(root, '.pipeline', 'cache');
}

export class Cache {
  readonly objectsDir: string;
  readonly runsDir: string;
  readonly tmpDir: string;
  /** Where the run records a decision reads are named (set by the engine: the fresh record's list). */
  reads?: ReadSet;

  constructor(readonly dir: string) {
    this.objectsDir = path.join(dir, 'objects');
    this.runsDir = path.join(dir, 'runs');
    this.tmpDir = path.join(dir, 'tmp');
  }

  objectPath(hash: string): string {
    return path.join(this.objectsDir, hash.slice(0, 2), hash.slice(2));
  }

  runPath(fingerprint: string): string {
    return path.join(this.runsDir, fingerprint.slice(0, 2), `${fingerprint.slice(2)}.json`);
  }

  /** True when a regular file is stored under that hash (a symlink or folder there counts as absent). */
  hasObject(hash: string): boolean {
    try {
      return lstatSync(this.objectPath(hash)).isFile();
    } catch {
      return false;
    }
  }

  /** Objects this process re-hashed and found intact (or wrote itself): stored again without reading them. */
  private readonly intact = new Set<string>();

  /** Whether an object already stored holds the right bytes; a corrupt one is removed (and then stored again). */
  private async existingIntact(hash: string): Promise<boolean> {
    if (this.intact.has(hash)) return this.hasObject(hash);
    if (!this.hasObject(hash)) return false;
    const ok = await this.verifyObject(hash);
    if (ok) {
      this.intact.add(hash);
      this.touchObject(hash);
    }
    return ok;
  }

  /**
   * Copy a workspace file into the store under its (already computed) hash. An object already stored under that
   * name is trusted only once re-hashed: a corrupt one is replaced, so what is secured here can be put back.
   */
  async storeFile(source: string, hash: string): Promise<void> {
    await this.storeFiles([{ source, hash }]);
  }

  /**
   * Store many files: each copied to a temp name beside its object, flushed to disk, renamed into place. Up to
   * FSYNC_EACH_UP_TO files get an fsync each, all at once; more, one syncfs (`sync -f`; fsyncs where it is missing),
   * which writes out the whole filesystem's dirty pages and costs a process start (15–395 ms, two fsyncs 7–26 ms).
   */
  async storeFiles(files: { source: string; hash: string }[], signal?: AbortSignal): Promise<void> {
    const pending: { tmp: string; target: string; hash: string }[] = [];
    const queued = new Set<string>();
    try {
      for (const [i, { source, hash }] of files.entries()) {
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToSignals(signal);
        if (queued.has(hash) || (await this.existingIntact(hash))) continue;
        queued.add(hash);
        const target = this.objectPath(hash);
        const tmp = tempPathFor(target);
        pending.push({ tmp, target, hash });
        withIo('store an object in', target, () => {
          mkdirSync(path.dirname(target), { recursive: true });
          copyFileSync(source, tmp, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
        });
      }
      if (pending.length === 0) return;
      // A few files: an fsync each, all at once in the thread pool while the event loop goes on (other stages of the
      // run); more: one syncfs of their filesystem (a child process), each file flushed where that is missing.
      if (pending.length <= FSYNC_EACH_UP_TO || !(await syncFileSystemOf(pending[0].tmp))) {
        await flushFiles(pending.map((p) => p.tmp)).catch((err: Error & { flushing?: string }) => {
          throw ioError(err, 'store an object in', pending.find((p) => p.tmp === err.flushing)?.target ?? pending[0].target);
        });
      }
      for (const p of pending) {
        withIo('store an object in', p.target, () => renameSync(p.tmp, p.target));
        this.intact.add(p.hash);
      }
    } finally {
      for (const p of pending) rmSync(p.tmp, { force: true });
    }
  }

  /** storeBytes with the flush off the event loop (writeFileDurably). */
  async storeBytesAsync(data: string | Uint8Array): Promise<string> {
    const hash = hashBytes(data);
    const target = this.toStore(hash);
    if (target !== undefined) await withIoAsync('store an object in', target, () => writeFileDurably(target, data));
    this.intact.add(hash);
    return hash;
  }

  /** Store bytes (a manifest, a log) and return their hash; a corrupt object of that name is replaced. */
  storeBytes(data: string | Uint8Array): string {
    const hash = hashBytes(data);
    const target = this.toStore(hash);
    if (target !== undefined) withIo('store an object in', target, () => writeFileAtomic(target, data, { durable: true }));
    this.intact.add(hash);
    return hash;
  }

  /** Where bytes of this hash must be written, or undefined when an intact object holds them already (then touched). */
  private toStore(hash: string): string | undefined {
    if (this.intact.has(hash) && this.hasObject(hash)) return undefined;
    if (this.readObjectText(hash) === undefined) return this.objectPath(hash);
    this.touchObject(hash);
    return undefined;
  }

  /**
   * Re-hash a stored object. A missing object, one that is not a regular file, or one whose bytes no longer
   * match its name is discarded and reported as false.
   */
  async verifyObject(hash: string): Promise<boolean> {
    const file = this.objectPath(hash);
    const placed = this.placed.get(hash);
    if (placed !== undefined) {
      // Verified as it was written by this process, and still that very file, unchanged since: not read again.
      if (fileIdentity(file) === placed) return true;
      this.placed.delete(hash);
    }
    let ok: boolean;
    try {
      const st = lstatSync(file);
      ok = st.isFile() && (await hashFile(file, st.size)) === hash;
    } catch {
      return false;
    }
    if (!ok) rmSync(file, { force: true, recursive: true });
    return ok;
  }

  readObjectText(hash: string): string | undefined {
    try {
      const text = readFileSync(this.objectPath(hash), 'utf8');
      if (hashBytes(text) !== hash) {
        rmSync(this.objectPath(hash), { force: true });
        return undefined;
      }
      return text;
    } catch {
      return undefined;
    }
  }

  /**
   * Copy an object to `target` through a temp file beside it, with mode 0755 when `executable`, else 0644 (less
   * the umask). The caller verifies first.
   */
  copyObjectTo(hash: string, target: string, executable = false): void {
    withIo('restore', target, () => {
      mkdirSync(path.dirname(target), { recursive: true });
      const tmp = tempPathFor(target);
      try {
        copyFileSync(this.objectPath(hash), tmp, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
        chmodSync(tmp, (executable ? 0o777 : 0o666) & ~umask());
        renameSync(tmp, target);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    });
  }

  /** The tmp folder was made by this process (once per store, not once per download). */
  private tmpMade = false;

  /** A fresh temp file name in the store's tmp folder (same filesystem as the objects), for downloads. */
  tempFile(hash: string): string {
    if (!this.tmpMade) mkdirSync(this.tmpDir, { recursive: true });
    this.tmpMade = true;
    return tempPathFor(path.join(this.tmpDir, hash.slice(0, 16)));
  }

  /**
   * Move a file whose bytes were verified to hash to `hash` as they were written (a download) into the store. It is
   * not flushed to disk: after a power loss a torn object is caught by the re-hash every later process does before
   * using it. This process restores it without reading it again, as long as it is the very file placed here
   * (verifyObject).
   */
  adoptFile(file: string, hash: string): void {
    const target = this.objectPath(hash);
    withIo('store an object in', target, () => renameMakingFolder(file, target));
    const id = fileIdentity(target);
    if (id !== undefined) this.placed.set(hash, id);
    this.intact.add(hash);
  }

  /** Objects this process placed after verifying them as they were written: their file's identity then. */
  private readonly placed = new Map<string, string>();

  /** Records of an unsigned remote, usable by this process only (the run that pulled them): never written. */
  private readonly lent = new Map<string, RunRecord>();

  /**
   * Use a record from an unsigned remote in this process — the run that asked for it with `--pull` restores from it
   * and replays its log — without storing it: another run never finds it in runs/.
   */
  lendRun(record: RunRecord): void {
    this.lent.set(record.fingerprint, record);
  }

  hasRun(fingerprint: string): boolean {
    return this.lent.has(fingerprint) || existsSync(this.runPath(fingerprint));
  }

  readRun(fingerprint: string): RunRecord | undefined {
    const lent = this.lent.get(fingerprint);
    if (lent) return lent;
    const file = this.runPath(fingerprint);
    this.reads?.add('store', file);
    try {
      const st = lstatSync(file);
      if (!st.isFile()) return undefined;
      const record = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
      if (record === null || typeof record !== 'object') return undefined;
      if (record.version !== RUN_RECORD_VERSION || record.fingerprint !== fingerprint || !validOutRecords(record.outs)) {
        return undefined;
      }
      if (typeof record.stage !== 'string' || (record.log !== undefined && !(typeof record.log === 'string' && HASH_PATTERN.test(record.log)))) return undefined;
      return record;
    } catch {
      return undefined;
    }
  }

  /** writeRun with the flush off the event loop (writeFileDurably): the run's other stages go on meanwhile. */
  async writeRunAsync(record: RunRecord): Promise<void> {
    this.lent.delete(record.fingerprint);
    const file = this.runPath(record.fingerprint);
    await withIoAsync('write a run record to', file, () => writeFileDurably(file, JSON.stringify(record, null, 1)));
  }

  writeRun(record: RunRecord): void {
    this.lent.delete(record.fingerprint);
    const file = this.runPath(record.fingerprint);
    withIo('write a run record to', file, () => writeFileAtomic(file, JSON.stringify(record, null, 1), { durable: true }));
  }

  /** Mark an object as used now: `gc` keeps every object at least as new as the start of a running run. */
  private touchObject(hash: string): void {
    try {
      const now = new Date();
      utimesSync(this.objectPath(hash), now, now);
    } catch {
      // a read-only store: nothing to protect against, gc cannot run there either
    }
  }

  /** Mark a run record as used now (its mtime is its last use, which `gc --max-age` goes by); best effort. */
  touchRun(fingerprint: string): void {
    try {
      const now = new Date();
      utimesSync(this.runPath(fingerprint), now, now);
    } catch {
      // a read-only store, or a record just removed: the use is not recorded
    }
  }

  deleteRun(fingerprint: string): void {
    rmSync(this.runPath(fingerprint), { force: true });
  }

  /** Every stored run record's fingerprint. */
  listRuns(): string[] {
    return listSharded(this.runsDir).map((name) => name.replace(/\.json$/, ''));
  }

  listObjects(): string[] {
    return listSharded(this.objectsDir);
  }

  deleteObject(hash: string): void {
    rmSync(this.objectPath(hash), { force: true, recursive: true });
  }

  exists(): boolean {
    return existsSync(this.dir);
  }
}

/**
 * A regular file's identity: its inode, size and change times (nanoseconds). Replacing the file (a rename onto it)
 * or writing into it changes it; undefined for anything but a regular file.
 */
function fileIdentity(file: string): string | undefined {
  try {
    const st = lstatSync(file, { bigint: true });
    return st.isFile() ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : undefined;
  } catch {
    return undefined;
  }
}

let cachedUmask: number | undefined;
function umask(): number {
  // process.umask() with no argument is the only way to read it; read it once.
  return (cachedUmask ??= process.umask());
}

function listSharded(dir: string): string[] {
  const names: string[] = [];
  let shards: string[];
  try {
    shards = readdirSync(dir);
  } catch {
    return names;
  }
  for (const shard of shards) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const rest of readdirSync(path.join(dir, shard))) {
      if (!rest.startsWith('.')) names.push(shard + rest);
    }
  }
  return names;
}
