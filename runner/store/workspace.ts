// The workspace side of the cache: hashing deps and outs where they live, capturing outs into the store,
// and restoring them from it. Every path is checked to stay inside the workspace, symlinks included. What a
// restore writes comes from the store, which is untrusted: the out path must be a normalised relative path
// that is not reserved (`.git`, `.pipeline`, pipeline.yaml, pipeline.lock) and is reached through no symlink, and
// a folder's manifest is validated whole (parseManifest) before anything in the workspace changes.
import { lstatSync, mkdirSync, realpathSync, renameSync, rmSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { removeStaleTemps, tempPathFor } from '../core/atomic.js';
import type { Cache, OutRecord } from './cache.js';
import { isExternalDep, isGlobPattern, isUrlDep, joinUnder } from '../core/paths.js';
import { hashBytes, listFiles, manifestText, parseManifest, unsafeRelPath, yieldToSignals, YIELD_EVERY, type ManifestEntry } from './hash.js';
import { withIo } from './io-error.js';
import { hashExternalDep } from './external.js';
import type { ReadKind, ReadSet } from '../core/read-set.js';
import { specialKind, unhashablePlace, UNHASHABLE_HINT, WorkspaceError } from './places.js';
import type { StatCache } from './stat-cache.js';
import type { UrlDeps } from './urls.js';

/** What a path described as a `dep`, `out` or `module` file is read as. */
const READ_KINDS: Record<string, ReadKind> = { dep: 'dep', out: 'out', module: 'code' };

/** The folders a listing of `files` walked: each one's folders, the empty ones, and the listed folder itself (''). */
function foldersOf(files: string[], emptyDirs: string[]): Set<string> {
  const folders = new Set<string>(['', ...emptyDirs]);
  for (const f of files) for (let d = path.posix.dirname(f); d !== '.' && !folders.has(d); d = path.posix.dirname(d)) folders.add(d);
  return folders;
}

/** Paths (first segment) a restore never writes, whatever a record says. */
const RESERVED = new Set(['.git', '.pipeline', 'pipeline.yaml', 'pipeline.lock']);

export { WorkspaceError };

export class Workspace {
  private readonly realRoot: string;
  private readonly insideFolders = new Set<string>();
  /** Devices known to be real filesystems: the workspace's, and any other met once (a mount inside it). */
  private readonly realDevices = new Set<bigint>();
  /** Aborts long loops (restoring, hashing thousands of files) when the run is interrupted. */
  signal?: AbortSignal;

  constructor(
    readonly root: string,
    readonly cache: Cache,
    readonly stats: StatCache,
  ) {
    this.realRoot = realpathSync.native(root);
    this.realDevices.add(lstatSync(root, { bigint: true }).dev);
  }

  /** The workspace's real path (symlinks resolved). */
  get realRootPath(): string {
    return this.realRoot;
  }
  /** URL deps' recorded states (set by the engine); without it a URL dep hashes to its address alone. */
  urls?: UrlDeps;
  /** Where every path read to hash a dep, out or code file is named (set by the engine: the fresh record's list). */
  reads?: ReadSet;

  abs(rel: string): string {
    return joinUnder(this.root, rel);
  }

  /** Where a stage reads a dep: the absolute path (inside or outside the workspace), or the URL itself. */
  depPath(dep: string): string {
    return isUrlDep(dep) ? dep : path.resolve(this.root, dep);
  }

  /**
   * Throws when the nearest existing ancestor of `rel` resolves outside the workspace: resolved by realpath(3) in one
   * call, as the kernel follows the path when a stage writes there (Node's JS realpathSync lstats every segment).
   */
  assertInside(rel: string, what: string): void {
    let probe = this.abs(rel);
    for (;;) {
      try {
        const real = realpathSync.native(probe);
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

  private lstat(rel: string, abs = this.abs(rel)): BigIntStats | undefined {
    try {
      return lstatSync(abs, { bigint: true });
    } catch {
      return undefined;
    }
  }

  /** The current record of an out in the workspace, or undefined when it is missing. Stores nothing. */
  async hashOut(rel: string, what = 'out'): Promise<OutRecord | undefined> {
    return (await this.describe(rel, what))?.record;
  }

  /** An out's record and, for a folder, its entries (read once for both hashing and storing). */
  private async describe(rel: string, what: string): Promise<{ record: OutRecord; entries?: ManifestEntry[]; emptyDirs?: string[] } | undefined> {
    const abs = this.abs(rel);
    this.reads?.addBelow(this.root, READ_KINDS[what] ?? 'file', abs);
    const st = this.lstat(rel, abs);
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
    this.checkDevice(abs, rel, what, st);
    if (st.isFile()) {
      const record: OutRecord = { path: rel, type: 'file', hash: await this.stats.hash(abs, st), size: Number(st.size) };
      if (st.mode & 0o100n) record.x = true;
      return { record };
    }
    if (st.isDirectory()) {
      const { entries, emptyDirs } = await this.dirEntries(rel, what);
      const size = entries.reduce((sum, e) => sum + e.size, 0);
      return { record: { path: rel, type: 'dir', hash: hashBytes(manifestText(entries, emptyDirs)), size }, entries, emptyDirs };
    }
    throw new WorkspaceError(`${what} \`${rel}\` is ${specialKind(st)}, which has no content to hash`, UNHASHABLE_HINT);
  }

  /** A file or folder on another device than the workspace's (a mount) must not be a pseudo filesystem's. */
  private checkDevice(abs: string, rel: string, what: string, st: BigIntStats): void {
    if (this.realDevices.has(st.dev)) return;
    const why = unhashablePlace(abs);
    if (why) throw new WorkspaceError(`${what} \`${rel}\` is ${why}`, UNHASHABLE_HINT);
    this.realDevices.add(st.dev);
  }


  private async dirEntries(rel: string, what: string): Promise<{ entries: ManifestEntry[]; emptyDirs: string[] }> {
    const dir = this.abs(rel);
    const entries: ManifestEntry[] = [];
    const { files, emptyDirs } = await listFiles(dir, this.signal);
    if (this.reads) {
      for (const folder of foldersOf(files, emptyDirs)) this.reads.add('folder', path.join(dir, folder));
      for (const file of files) this.reads.add('file', path.join(dir, file));
    }
    for (const [i, file] of files.entries()) {
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToSignals(this.signal);
      const full = path.join(dir, file);
      const st = lstatSync(full, { bigint: true });
      if (!st.isFile()) {
        const kind = st.isSymbolicLink() ? 'a symlink' : specialKind(st);
        throw new WorkspaceError(`${what} \`${rel}/${file}\` is ${kind}`, `folders in ${what === 'dep' ? 'deps inside the workspace' : `${what}s`} may hold only regular files and folders`);
      }
      this.checkDevice(full, `${rel}/${file}`, what, st);
      const entry: ManifestEntry = { path: file, hash: await this.stats.hash(full, st), size: Number(st.size) };
      if (st.mode & 0o100n) entry.x = true;
      entries.push(entry);
    }
    return { entries, emptyDirs };
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
    const { record, entries, emptyDirs } = found;
    if (!entries) {
      await this.cache.storeFile(this.abs(rel), record.hash);
    } else {
      await this.cache.storeFiles(entries.map((e) => ({ source: path.join(this.abs(rel), e.path), hash: e.hash })), this.signal);
      this.cache.storeBytes(manifestText(entries, emptyDirs));
    }
    return record;
  }


  /**
   * Put an out back as recorded. The record's path and, for a folder, its whole manifest are validated and every
   * object verified before anything in the workspace changes; returns false (and changes nothing) when an object
   * is missing or corrupt, throws a WorkspaceError when the record or manifest is unsafe. A folder is assembled
   * beside its place (a temp name) with its files' executable bits and its empty folders, then renamed into
   * place, so an interrupted restore leaves the old out (or none), never a mix.
   */
  async restoreOut(record: OutRecord): Promise<boolean> {
    this.assertWritable(record.path);
    const target = this.abs(record.path);
    removeStaleTemps(target);
    if (record.type === 'file') {
      if (!(await this.cache.verifyObject(record.hash))) return false;
      if (this.lstat(record.path)?.isDirectory()) rmSync(target, { recursive: true, force: true });
      this.cache.copyObjectTo(record.hash, target, record.x === true);
      this.stats.remember(target, record.hash);
      return true;
    }
    const text = this.cache.readObjectText(record.hash);
    if (text === undefined) return false;
    const parsed = parseManifest(text);
    if ('problem' in parsed) {
      this.cache.deleteObject(record.hash);
      throw new WorkspaceError(
        `the stored manifest of folder out \`${record.path}\` is unsafe: ${parsed.problem}; it was removed from the store`,
        'nothing was written; run `pipeline cache verify --repair` to find other damage, then run the stage again',
      );
    }
    const { manifest } = parsed;
    for (const [i, e] of manifest.entries.entries()) {
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToSignals(this.signal);
      if (!(await this.cache.verifyObject(e.hash))) return false;
    }
    const staging = tempPathFor(target);
    try {
      withIo('restore', staging, () => mkdirSync(staging, { recursive: true }));
      for (const d of manifest.dirs ?? []) withIo('restore', staging, () => mkdirSync(path.join(staging, d), { recursive: true }));
      for (const [i, e] of manifest.entries.entries()) {
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToSignals(this.signal);
        this.cache.copyObjectTo(e.hash, path.join(staging, e.path), e.x === true);
      }
      withIo('restore', target, () => {
        rmSync(target, { recursive: true, force: true });
        mkdirSync(path.dirname(target), { recursive: true });
        renameSync(staging, target);
      });
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    for (const e of manifest.entries) this.stats.remember(path.join(target, e.path), e.hash);
    return true;
  }

  /**
   * An out path a restore or removal may write: a safe relative path, not reserved, whose folders are real
   * folders (no symlink on the way: a symlink even to a place inside the workspace could lead into `.git`), and
   * which is inside the workspace.
   */
  private assertWritable(rel: string): void {
    const bad = unsafeRelPath(rel);
    if (bad) throw new WorkspaceError(`refused to write out ${JSON.stringify(rel)}: it is ${bad}`, 'outs are normalised paths inside the workspace; the record naming it is damaged');
    if (RESERVED.has(rel.split('/')[0])) {
      throw new WorkspaceError(`refused to write out \`${rel}\`: \`${rel.split('/')[0]}\` is reserved`, 'outs may not lie in .git or .pipeline, nor be pipeline.yaml or pipeline.lock');
    }
    const segments = rel.split('/');
    for (let i = 1; i < segments.length; i++) {
      const folder = segments.slice(0, i).join('/');
      if (this.lstat(folder)?.isSymbolicLink()) {
        throw new WorkspaceError(`refused to write out \`${rel}\`: its folder \`${folder}\` is a symlink`, 'replace the symlink with a real folder');
      }
    }
    this.assertReplaceable(rel);
  }

  removeOut(rel: string): void {
    this.assertWritable(rel);
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

  /**
   * The folders a glob dep's expansion reads: from the pattern's fixed part down (every level for `**`, as many as
   * the pattern has segments otherwise), hidden folders left out as the expansion leaves them: a file added where the
   * pattern could match changes one of them.
   */
  private async noteGlobFolders(pattern: string): Promise<void> {
    const segments = pattern.split('/');
    const fixed = segments.findIndex(isGlobPattern);
    const base = segments.slice(0, fixed).join('/');
    this.reads!.addBelow(this.root, 'folder', this.abs(base));
    const { glob } = await import('tinyglobby');
    const deep = segments.slice(fixed).some((s) => s.includes('**'));
    const depth = segments.length - fixed - 1;
    const below = deep ? ['**'] : Array.from({ length: depth }, (_, i) => Array(i + 1).fill('*').join('/'));
    if (below.length === 0) return;
    const folders = await glob(below, { cwd: this.abs(base), onlyDirectories: true, dot: false, expandDirectories: false });
    for (const f of folders) this.reads!.add('folder', path.join(this.abs(base), f));
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
        const hash = await hashExternalDep(pattern, path.resolve(this.root, pattern), this.stats, this.signal, this.reads);
        if (hash) hashes[pattern] = hash;
        else missing.push(pattern);
        continue;
      }
      if (isGlobPattern(pattern)) {
        const { glob } = await import('tinyglobby');
        const matches = await glob(pattern, { cwd: this.root, onlyFiles: true, dot: false, expandDirectories: false });
        if (matches.length === 0) missing.push(pattern);
        if (this.reads) await this.noteGlobFolders(pattern);
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
