// The content-addressed store and the run-cache.
//   objects/ab/cdef…    every output file (and folder manifest, and stage log) ever produced, named by its sha256
//   runs/ab/cdef….json  fingerprint → the outputs it produced, so any state ever seen restores without executing
// Writes go to a temp file and are renamed into place; objects are re-hashed before they are restored and a bad
// one is discarded, so a corrupt or tampered store costs a re-run, never a wrong result.
import { randomBytes } from 'node:crypto';
import { copyFileSync, constants, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { hashBytes, hashFile } from './hash.js';

export const RUN_RECORD_VERSION = 1;

export interface OutRecord {
  /** Workspace-relative out path as declared. */
  path: string;
  type: 'file' | 'dir';
  /** File: sha256 of the bytes. Folder: sha256 of its manifest (stored as an object too). */
  hash: string;
  size: number;
}

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

  /** Copy a workspace file into the store under its (already computed) hash. */
  storeFile(source: string, hash: string): void {
    if (this.hasObject(hash)) return;
    const target = this.objectPath(hash);
    mkdirSync(path.dirname(target), { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
    const tmp = path.join(this.tmpDir, `${hash.slice(0, 16)}.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      copyFileSync(source, tmp, constants.COPYFILE_FICLONE);
      renameSync(tmp, target);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Store bytes (a manifest, a log) and return their hash. */
  storeBytes(data: string | Uint8Array): string {
    const hash = hashBytes(data);
    if (!this.hasObject(hash)) writeFileAtomic(this.objectPath(hash), data);
    return hash;
  }

  /**
   * Re-hash a stored object. A missing object, one that is not a regular file, or one whose bytes no longer
   * match its name is discarded and reported as false.
   */
  async verifyObject(hash: string): Promise<boolean> {
    const file = this.objectPath(hash);
    let ok = false;
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

  /** Copy an object to `target` through a temp file beside it. The caller verifies first. */
  copyObjectTo(hash: string, target: string): void {
    mkdirSync(path.dirname(target), { recursive: true });
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      copyFileSync(this.objectPath(hash), tmp, constants.COPYFILE_FICLONE);
      renameSync(tmp, target);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** A fresh temp file name in the store's tmp folder (same filesystem as the objects), for downloads. */
  tempFile(hash: string): string {
    mkdirSync(this.tmpDir, { recursive: true });
    return path.join(this.tmpDir, `${hash.slice(0, 16)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  }

  /** Move a file whose bytes were verified to hash to `hash` (e.g. a download) into the store. */
  adoptFile(file: string, hash: string): void {
    const target = this.objectPath(hash);
    mkdirSync(path.dirname(target), { recursive: true });
    renameSync(file, target);
  }

  hasRun(fingerprint: string): boolean {
    return existsSync(this.runPath(fingerprint));
  }

  readRun(fingerprint: string): RunRecord | undefined {
    const file = this.runPath(fingerprint);
    try {
      const st = lstatSync(file);
      if (!st.isFile()) return undefined;
      const record = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
      if (record.version !== RUN_RECORD_VERSION || record.fingerprint !== fingerprint || !Array.isArray(record.outs)) {
        return undefined;
      }
      return record;
    } catch {
      return undefined;
    }
  }

  writeRun(record: RunRecord): void {
    writeFileAtomic(this.runPath(record.fingerprint), JSON.stringify(record, null, 1));
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
