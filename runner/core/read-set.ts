// The paths a command's decision read, as the engine itself names them (as ninja's deps log and Bazel's action cache
// keep theirs): the config and pipeline.lock, every dep, out and code file and the folders walked to find them, the
// lookups that found nothing, the package manifests a module's toolchain is read from, the engine's own state.
// The fresh record (bin/fresh.js) is written from this list: a no-op answered by stat is valid only while every path
// on it has the lstat it had. Each place that reads an input adds it here; nothing traces the process.
import path from 'node:path';

/**
 * What a path was read as. `config`, `lock`, `dep`, `out`, `code` and `package` are the decision's inputs, which a
 * record must cover; the others (a file inside a folder, a folder walked, a lookup, the engine's state and store) are
 * read on the way to them.
 */
export type ReadKind = 'config' | 'lock' | 'dep' | 'out' | 'code' | 'package' | 'file' | 'folder' | 'lookup' | 'state' | 'store';

/** The kinds a fresh record must name every path of (bin/fresh.js checks the record covers them). */
export const REQUIRED_KINDS = ['config', 'lock', 'dep', 'out', 'code', 'package'] as const;
export type RequiredKind = (typeof REQUIRED_KINDS)[number];

/** A `//`, `/./` or `/../` part, or a trailing `/`, `/.` or `/..`: what path.resolve would change in an absolute path. */
const NOT_NORMAL = /\/\.{0,2}(?:\/|$)/;

/**
 * `file` from `from` (or the current folder) as path.resolve gives it; an absolute path already in that form (nearly
 * every path the engine adds: it joins them from the workspace's root) is taken as it is, without resolve's work.
 */
function absolute(file: string, from?: string): string {
  if (path.sep === '/' && file.startsWith('/') && !NOT_NORMAL.test(file)) return file;
  return from === undefined ? path.resolve(file) : path.resolve(from, file);
}

export class ReadSet {
  private readonly all = new Set<string>();
  private readonly required = new Map<RequiredKind, Set<string>>();
  private readonly looked = new Set<string>();
  /** Folders addBelow added with every folder above them up to its root (`root`, NUL, folder): not walked again. */
  private readonly walked = new Set<string>();

  /** `file` was read (or looked for) as `kind`; a relative path is taken from the current folder. */
  add(kind: ReadKind, file: string): void {
    const abs = absolute(file);
    this.all.add(abs);
    if (kind === 'lookup') this.looked.add(abs);
    if ((REQUIRED_KINDS as readonly string[]).includes(kind)) {
      const k = kind as RequiredKind;
      let set = this.required.get(k);
      if (!set) this.required.set(k, (set = new Set()));
      set.add(abs);
    }
  }

  /** `file` and every folder from `root` (excluded) down to it, each folder as read on the way (a symlink there counts). */
  addBelow(root: string, kind: ReadKind, file: string): void {
    const abs = absolute(file, root);
    for (let dir = path.dirname(abs); dir !== root && dir.startsWith(root + path.sep); dir = path.dirname(dir)) {
      const key = `${root}\0${dir}`;
      if (this.walked.has(key)) break;
      this.walked.add(key);
      this.add('folder', dir);
    }
    this.add(kind, abs);
  }

  has(file: string): boolean {
    return this.all.has(absolute(file));
  }

  /** The paths looked for that decided nothing by being there (a module resolution's misses), sorted. */
  lookups(): string[] {
    return [...this.looked].sort();
  }

  /** Every path read, sorted. */
  list(): string[] {
    return [...this.all].sort();
  }

  /** The decision's inputs by kind, each sorted (a kind nothing was read as is an empty list). */
  inputs(): Record<RequiredKind, string[]> {
    return Object.fromEntries(REQUIRED_KINDS.map((k) => [k, [...(this.required.get(k) ?? [])].sort()])) as Record<RequiredKind, string[]>;
  }
}
