// Content hashes: sha256 of a file's bytes; a directory hashes to the sha256 of its manifest
// (sorted relative paths with their file hashes), so a folder out is one content-addressed tree.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdir as readdirCallback, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type StringifyModule from 'safe-stable-stringify';
import { promisify } from 'node:util';

// A CommonJS package: require() loads it in ~2 ms, an ESM import (which scans it for named exports) in ~9 ms,
// and this is on the path of every command.
const stringify = createRequire(import.meta.url)('safe-stable-stringify') as typeof StringifyModule;

// fs's callback form: node:fs/promises would load with every command (≈ 1.5 ms).
const readdir = promisify(readdirCallback);

export const HASH_ALGORITHM = 'sha256';
const SMALL_FILE = 8 * 1024 * 1024;

export function hashBytes(data: string | Uint8Array): string {
  return createHash(HASH_ALGORITHM).update(data).digest('hex');
}

/** Canonical JSON (sorted keys) of a value; the text every fingerprint and manifest is hashed from. */
export function canonicalJson(value: unknown): string {
  return stringify(value) ?? 'null';
}

const CHUNK = 4 * 1024 * 1024;
let chunk: Buffer | undefined;

/** sha256 of a file's bytes, as a promise (a read error rejects it); see hashFileSync. */
export function hashFile(file: string, size?: number): Promise<string> {
  return new Promise((resolve) => resolve(hashFileSync(file, size)));
}

/** sha256 of a file's bytes: read whole when small, else in 4 MiB reads into one reused buffer. */
function hashFileSync(file: string, size?: number): string {
  if (size !== undefined && size <= SMALL_FILE) return hashBytes(readFileSync(file));
  const hash = createHash(HASH_ALGORITHM);
  const buffer = (chunk ??= Buffer.allocUnsafe(CHUNK));
  const fd = openSync(file, 'r');
  try {
    for (let n = readSync(fd, buffer, 0, CHUNK, null); n > 0; n = readSync(fd, buffer, 0, CHUNK, null)) {
      hash.update(n === CHUNK ? buffer : buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export interface ManifestEntry {
  /** Path relative to the directory, forward slashes. */
  path: string;
  hash: string;
  size: number;
  /** Set when the file is executable (by its owner); restores make it executable for everyone who can read it. */
  x?: true;
}

/**
 * A folder out: its files (with their hashes and executable bits) and its empty folders. `dirs` and `x` are left
 * out when there are none, so a folder without either hashes as it did before they were recorded.
 */
export interface DirManifest {
  type: 'dir';
  entries: ManifestEntry[];
  dirs?: string[];
}

const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function manifestText(entries: ManifestEntry[], dirs: string[] = []): string {
  const sorted = [...entries].sort((a, b) => byPath(a.path, b.path));
  const manifest: DirManifest = { type: 'dir', entries: sorted };
  if (dirs.length > 0) manifest.dirs = [...dirs].sort(byPath);
  return canonicalJson(manifest);
}

export const HASH_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Why `p` is not a safe relative path inside a folder (absolute, `..`, `.`, empty segments, a backslash, NUL, a
 * name the engine uses for its temp files); undefined when it is one.
 */
export function unsafeRelPath(p: unknown): string | undefined {
  if (typeof p !== 'string' || p.length === 0) return 'an empty or non-text path';
  if (p.length > 4096) return 'a path longer than 4096 characters';
  if (p.includes('\0')) return 'a path holding a NUL character';
  if (p.includes('\\')) return 'a path holding a backslash';
  if (p.startsWith('/')) return 'an absolute path';
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return `a path that is not normalised (\`${segment || '//'}\` segment)`;
    if (/^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(segment) || /\.\d+\.restore\.tmp$/.test(segment)) return 'a path named like a temp file of the engine';
  }
  return undefined;
}

/**
 * Parse and validate a folder manifest read from the store (untrusted: anyone who can write the store can write
 * one). Every entry must be a safe relative path, named once, never both a file and a folder of another entry;
 * hashes are sha256, sizes whole numbers. Returns the manifest or why it is refused.
 */
export function parseManifest(text: string): { manifest: DirManifest } | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { problem: 'the manifest is not JSON' };
  }
  const m = data as Partial<DirManifest> | null;
  if (typeof m !== 'object' || m === null || m.type !== 'dir' || !Array.isArray(m.entries)) return { problem: 'the manifest is not a folder manifest' };
  if (m.dirs !== undefined && !Array.isArray(m.dirs)) return { problem: 'the manifest\'s `dirs` is not a list' };
  const files = new Set<string>();
  for (const e of m.entries as unknown[]) {
    const entry = e as Partial<ManifestEntry> | null;
    if (typeof entry !== 'object' || entry === null) return { problem: 'a manifest entry is not an object' };
    const bad = unsafeRelPath(entry.path);
    if (bad) return { problem: `manifest entry ${JSON.stringify(entry.path)} is ${bad}` };
    if (typeof entry.hash !== 'string' || !HASH_PATTERN.test(entry.hash)) return { problem: `manifest entry \`${entry.path}\` has no valid hash` };
    if (typeof entry.size !== 'number' || !Number.isSafeInteger(entry.size) || entry.size < 0) return { problem: `manifest entry \`${entry.path}\` has no valid size` };
    if (entry.x !== undefined && entry.x !== true) return { problem: `manifest entry \`${entry.path}\` has an invalid \`x\`` };
    if (files.has(entry.path!)) return { problem: `manifest entry \`${entry.path}\` is listed twice` };
    files.add(entry.path!);
  }
  const folders = new Set<string>();
  for (const f of files) {
    for (let i = f.indexOf('/'); i !== -1; i = f.indexOf('/', i + 1)) folders.add(f.slice(0, i));
  }
  for (const f of files) if (folders.has(f)) return { problem: `manifest entry \`${f}\` is both a file and a folder of another entry` };
  const dirs = (m.dirs ?? []) as unknown[];
  const seen = new Set<string>();
  for (const d of dirs) {
    const bad = unsafeRelPath(d);
    if (bad) return { problem: `manifest folder ${JSON.stringify(d)} is ${bad}` };
    const dir = d as string;
    if (seen.has(dir) || files.has(dir) || folders.has(dir)) return { problem: `manifest folder \`${dir}\` is listed twice or is not empty` };
    for (let i = dir.indexOf('/'); i !== -1; i = dir.indexOf('/', i + 1)) {
      if (files.has(dir.slice(0, i))) return { problem: `manifest folder \`${dir}\` lies inside the file \`${dir.slice(0, i)}\`` };
    }
    seen.add(dir);
  }
  for (const d of seen) {
    for (let i = d.indexOf('/'); i !== -1; i = d.indexOf('/', i + 1)) {
      if (seen.has(d.slice(0, i))) return { problem: `manifest folder \`${d.slice(0, i)}\` is listed as empty but holds \`${d}\`` };
    }
  }
  return { manifest: { type: 'dir', entries: m.entries, ...(seen.size > 0 ? { dirs: [...seen] } : {}) } };
}

/** Calls `onEach` every this many files in long loops: they yield to the event loop there so signals are heard. */
export const YIELD_EVERY = 256;

/** Wait for the event loop to run (a pending signal handler, a timer); throws the signal's reason once aborted. */
export async function yieldToSignals(signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/**
 * Every regular file (and everything else that is not a folder) below `dir` as sorted forward-slash relative
 * paths, and the folders that hold nothing. Symlinks are refused by the caller.
 */
export async function listFiles(dir: string, signal?: AbortSignal): Promise<{ files: string[]; emptyDirs: string[] }> {
  const found: string[] = [];
  const emptyDirs: string[] = [];
  let n = 0;
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    if (entries.length === 0 && rel) emptyDirs.push(rel);
    for (const e of entries) {
      if (++n % YIELD_EVERY === 0) signal?.throwIfAborted();
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else found.push(child);
    }
  };
  await walk('');
  return { files: found.sort(), emptyDirs: emptyDirs.sort() };
}
