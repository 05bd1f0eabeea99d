// Byte snapshots of folders, for "nothing changed" and "the same as a reference run" checks.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * Every file, folder and symlink below a folder: relative path → `file <sha256>` / `dir` / `link <target>`; with
 * `meta`, also the mode and a file's mtime: `file <mode> <sha256> <mtimeMs>` / `dir <mode>`.
 */
export type Snapshot = Record<string, string>;

export interface SnapshotOptions {
  /** Relative paths left out, with everything below them. */
  exclude?: string[];
  /** Left out when it returns true (for a relative path), with everything below it. */
  skip?: (rel: string) => boolean;
  /** Modes and mtimes too (a rewrite of the same bytes shows). */
  meta?: boolean;
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Byte snapshot of a folder (dot files included); {} when it does not exist. */
export function snapshotDir(dir: string, options: SnapshotOptions = {}): Snapshot {
  const snap: Snapshot = {};
  if (!existsSync(dir)) return snap;
  const left = (rel: string) => options.exclude?.some((e) => rel === e || rel.startsWith(`${e}/`)) || options.skip?.(rel);
  const walk = (rel: string) => {
    const abs = rel ? path.join(dir, rel) : dir;
    for (const name of readdirSync(abs).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (left(child)) continue;
      const full = path.join(dir, child);
      const st = lstatSync(full);
      const mode = options.meta ? ` ${(st.mode & 0o7777).toString(8)}` : '';
      if (st.isSymbolicLink()) snap[child] = `link ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        snap[child] = `dir${mode}`;
        walk(child);
      } else snap[child] = `file${mode} ${sha256(readFileSync(full))}${options.meta ? ` ${st.mtimeMs}` : ''}`;
    }
  };
  walk('');
  return snap;
}

/** What changed from one snapshot to the next: `added P`, `changed P`, `removed P`. */
export function diffSnapshots(before: Snapshot, after: Snapshot): string[] {
  const diffs: string[] = [];
  for (const [k, v] of Object.entries(after)) {
    if (!(k in before)) diffs.push(`added ${k}`);
    else if (before[k] !== v) diffs.push(`changed ${k}`);
  }
  for (const k of Object.keys(before)) if (!(k in after)) diffs.push(`removed ${k}`);
  return diffs;
}

/**
 * The files (and symlinks) at or below `rel` of `root`, keyed by root-relative path: a file by its sha256, a
 * symlink as `link <target>`, in path order.
 */
export function filesUnder(root: string, rel: string): Map<string, string> {
  const out = new Map<string, string>();
  const abs = path.join(root, rel);
  const st = lstatSync(abs);
  if (!st.isDirectory()) {
    out.set(rel, st.isSymbolicLink() ? `link ${readlinkSync(abs)}` : sha256(readFileSync(abs)));
    return out;
  }
  for (const [child, entry] of Object.entries(snapshotDir(abs))) {
    if (entry === 'dir') continue;
    out.set(`${rel}/${child}`, entry.startsWith('file ') ? entry.slice('file '.length) : entry);
  }
  return out;
}
