// The workspace side of the cache: hashing deps and outs where they live, capturing outs into the store,
// and restoring them from it. Every path is checked to stay inside the workspace, symlinks included.
import { lstatSync, mkdirSync, realpathSync, renameSync, rmSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { removeStaleTemps } from '../core/atomic.js';
import type { Cache, OutRecord } from './cache.js';
import { UsageError } from '../core/errors.js';
import { isExternalDep, isGlobPattern, isUrlDep } from '../core/paths.js';
import { hashBytes, listFiles, manifestText, type DirManifest, type ManifestEntry } from './hash.js';
import type { StatCache } from './stat-cache.js';
import type { UrlDeps } from './urls.js';
import { statSync } from 'node:fs';

/** An out or dep that is unsafe (a symlink leaving the workspace, a non-regular file): exit 2. */
export class WorkspaceError extends UsageError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'WorkspaceError';
  }
}

export class Workspace {
  private readonly realRoot: string;
  private readonly insideFolders = new Set<string>();

  constructor(
    readonly root: string,
    readonly cache: Cache,
    readonly stats: StatCache,
  ) {
    this.realRoot = realpathSync(root);
  }

  /** URL deps' recorded states (set by the engine); without it a URL dep hashes to its address alone. */
  urls?: UrlDeps;

  abs(rel: string): string {
    return path.join(this.root, rel);
  }

  /** Where a stage reads a dep: the absolute path (inside or outside the workspace), or the URL itself. */
  depPath(dep: string): string {
    return isUrlDep(dep) ? dep : path.resolve(this.root, dep);
  }

  /**
   * A dep outside the workspace (absolute or `../`), hashed by content like any dep (stat cache included); symlinks
   * are followed, since the data is not the workspace's. Undefined when it is missing.
   */
  private async hashExternal(dep: string): Promise<string | undefined> {
    const abs = path.resolve(this.root, dep);
    let st;
    try {
      st = statSync(abs, { bigint: true });
    } catch {
      return undefined;
    }
    if (st.isFile()) return this.stats.hash(abs, st);
    if (!st.isDirectory()) throw new WorkspaceError(`dep \`${dep}\` is neither a file nor a folder`);
    const entries: ManifestEntry[] = [];
    for (const file of await listFiles(abs)) {
      const full = path.join(abs, file);
      const fst = statSync(full, { bigint: true });
      if (!fst.isFile()) continue;
      entries.push({ path: file, hash: await this.stats.hash(full, fst), size: Number(fst.size) });
    }
    return hashBytes(manifestText(entries));
  }

  /** Throws when the nearest existing ancestor of `rel` resolves outside the workspace. */
  assertInside(rel: string, what: string): void {
    let probe = this.abs(rel);
    for (;;) {
      try {
        const real = realpathSync(probe);
        const relative = path.relative(this.realRoot, real);
        if (relative.startsWith('..') || path.isAbsolute(relative)) {
          throw new WorkspaceError(
            `${what} \`${rel}\` resolves outside the workspace (to ${real})`,
            'remove the symlink or point it inside the workspace',
          );
        }
        return;
      } catch (err) {
        if (err instanceof WorkspaceError) throw err;
        const parent = path.dirname(probe);
        if (parent === probe) return;
        probe = parent;
      }
    }
  }

  private lstat(rel: string): BigIntStats | undefined {
    try {
      return lstatSync(this.abs(rel), { bigint: true });
    } catch {
      return undefined;
    }
  }

  /** The current record of an out in the workspace, or undefined when it is missing. Stores nothing. */
  async hashOut(rel: string, what = 'out'): Promise<OutRecord | undefined> {
    return (await this.describe(rel, what))?.record;
  }

  /** An out's record and, for a folder, its entries (read once for both hashing and storing). */
  private async describe(rel: string, what: string): Promise<{ record: OutRecord; entries?: ManifestEntry[] } | undefined> {
    const st = this.lstat(rel);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      throw new WorkspaceError(`${what} \`${rel}\` is a symlink`, 'outs must be regular files or folders inside the workspace');
    }
    // Not a symlink itself, so it is inside when its folder is; folders are resolved once per process for
    // reading (the no-op path hashes thousands of files). Writes check again, unmemoized.
    const folder = path.posix.dirname(rel);
    if (!this.insideFolders.has(folder)) {
      this.assertInside(folder === '.' ? '' : folder, what);
      this.insideFolders.add(folder);
    }
    if (st.isFile()) return { record: { path: rel, type: 'file', hash: await this.stats.hash(this.abs(rel), st), size: Number(st.size) } };
    if (st.isDirectory()) {
      const entries = await this.dirEntries(rel, what);
      const size = entries.reduce((sum, e) => sum + e.size, 0);
      return { record: { path: rel, type: 'dir', hash: hashBytes(manifestText(entries)), size }, entries };
    }
    throw new WorkspaceError(`${what} \`${rel}\` is neither a file nor a folder`);
  }


  private async dirEntries(rel: string, what: string): Promise<ManifestEntry[]> {
    const dir = this.abs(rel);
    const entries: ManifestEntry[] = [];
    for (const file of await listFiles(dir)) {
      const full = path.join(dir, file);
      const st = lstatSync(full, { bigint: true });
      if (!st.isFile()) {
        throw new WorkspaceError(`${what} \`${rel}/${file}\` is a symlink or special file`, 'folders in outs may hold only regular files');
      }
      entries.push({ path: file, hash: await this.stats.hash(full, st), size: Number(st.size) });
    }
    return entries;
  }

  /** Hash an out and copy it (and, for a folder, its manifest and files) into the store. */
  async captureOut(rel: string, options: { optional: true }): Promise<OutRecord | undefined>;
  async captureOut(rel: string, options?: { optional?: false }): Promise<OutRecord>;
  async captureOut(rel: string, options: { optional?: boolean } = {}): Promise<OutRecord | undefined> {
    const found = await this.describe(rel, 'out');
    if (!found) {
      if (options.optional) return undefined;
      throw new WorkspaceError(`the stage did not write its out \`${rel}\``, 'write every declared out, or remove it from `outs`');
    }
    const { record, entries } = found;
    if (!entries) {
      this.cache.storeFile(this.abs(rel), record.hash);
    } else {
      for (const e of entries) this.cache.storeFile(path.join(this.abs(rel), e.path), e.hash);
      this.cache.storeBytes(manifestText(entries));
    }
    return record;
  }


  /**
   * Put an out back as recorded. Every object is verified before anything in the workspace changes;
   * returns false (and changes nothing) when one is missing or corrupt.
   */
  async restoreOut(record: OutRecord): Promise<boolean> {
    this.assertReplaceable(record.path);
    const target = this.abs(record.path);
    removeStaleTemps(target);
    if (record.type === 'file') {
      if (!(await this.cache.verifyObject(record.hash))) return false;
      if (this.lstat(record.path)?.isDirectory()) rmSync(target, { recursive: true, force: true });
      this.cache.copyObjectTo(record.hash, target);
      this.stats.remember(target, record.hash);
      return true;
    }
    const text = this.cache.readObjectText(record.hash);
    if (text === undefined) return false;
    const manifest = JSON.parse(text) as DirManifest;
    for (const e of manifest.entries) if (!(await this.cache.verifyObject(e.hash))) return false;
    const staging = `${target}.${process.pid}.restore.tmp`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    for (const e of manifest.entries) this.cache.copyObjectTo(e.hash, path.join(staging, e.path));
    rmSync(target, { recursive: true, force: true });
    mkdirSync(path.dirname(target), { recursive: true });
    renameSync(staging, target);
    for (const e of manifest.entries) this.stats.remember(path.join(target, e.path), e.hash);
    return true;
  }

  removeOut(rel: string): void {
    this.assertReplaceable(rel);
    removeStaleTemps(this.abs(rel));
    rmSync(this.abs(rel), { recursive: true, force: true });
  }

  /**
   * An out about to be removed or replaced: a symlink there (one a stage wrote) is removed itself, never
   * followed, so only the folder holding it must be inside the workspace.
   */
  private assertReplaceable(rel: string): void {
    this.assertInside(this.lstat(rel)?.isSymbolicLink() ? path.dirname(rel) : rel, 'out');
  }

  /** Expand dep patterns and hash each match: relative path → hash. Missing deps are reported by the caller. */
  async hashDeps(patterns: string[]): Promise<{ hashes: Record<string, string>; missing: string[] }> {
    const hashes: Record<string, string> = {};
    const missing: string[] = [];
    for (const pattern of patterns) {
      if (isUrlDep(pattern)) {
        hashes[pattern] = this.urls?.hashOf(pattern) ?? hashBytes(`url ${pattern}`);
        continue;
      }
      if (isExternalDep(pattern)) {
        const hash = await this.hashExternal(pattern);
        if (hash) hashes[pattern] = hash;
        else missing.push(pattern);
        continue;
      }
      if (isGlobPattern(pattern)) {
        const { glob } = await import('tinyglobby');
        const matches = await glob(pattern, { cwd: this.root, onlyFiles: true, dot: false, expandDirectories: false });
        if (matches.length === 0) missing.push(pattern);
        for (const m of matches.sort()) {
          const rec = await this.hashOut(m, 'dep');
          if (rec) hashes[m] = rec.hash;
        }
        continue;
      }
      const rec = await this.hashOut(pattern, 'dep');
      if (rec) hashes[pattern] = rec.hash;
      else missing.push(pattern);
    }
    return { hashes, missing };
  }
}
