// Unchanged files are not re-hashed: (path, size, mtime, inode) → hash, kept between runs.
// An entry is trusted only when the file's mtime is older than the moment it was hashed, so a
// file rewritten within the same clock tick (the "racy clean" case) is hashed again.
import { existsSync, lstatSync, readFileSync, type BigIntStats } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import { hashFile } from './hash.js';

const VERSION = 1;

interface Entry {
  size: number;
  mtimeNs: string;
  ino: number;
  hash: string;
  /** When the hash was taken, in ns since the epoch. */
  at: string;
}

export class StatCache {
  private entries = new Map<string, Entry>();
  private dirty = false;
  hashed = 0;
  hits = 0;

  constructor(private readonly file: string) {}

  static load(file: string): StatCache {
    const cache = new StatCache(file);
    if (existsSync(file)) {
      try {
        const data = JSON.parse(readFileSync(file, 'utf8')) as { version: number; entries: Record<string, Entry> };
        if (data.version === VERSION) cache.entries = new Map(Object.entries(data.entries));
      } catch {
        // A damaged stat cache only costs re-hashing.
      }
    }
    return cache;
  }

  /** Hash of an absolute file path; `st` is its lstat (bigint) when the caller has it. */
  async hash(file: string, st?: BigIntStats): Promise<string> {
    const s = st ?? lstatSync(file, { bigint: true });
    const known = this.entries.get(file);
    if (
      known &&
      known.size === Number(s.size) &&
      known.mtimeNs === String(s.mtimeNs) &&
      known.ino === Number(s.ino) &&
      s.mtimeNs < BigInt(known.at)
    ) {
      this.hits++;
      return known.hash;
    }
    const at = BigInt(Date.now()) * 1_000_000n;
    const hash = await hashFile(file, Number(s.size));
    this.hashed++;
    // Record against the stat taken before hashing: a write during hashing changes mtime and misses next time.
    this.entries.set(file, { size: Number(s.size), mtimeNs: String(s.mtimeNs), ino: Number(s.ino), hash, at: String(at) });
    this.dirty = true;
    return hash;
  }

  /** Record a hash already known (a file just restored from the cache). */
  remember(file: string, hash: string): void {
    const s = lstatSync(file, { bigint: true });
    this.entries.set(file, {
      size: Number(s.size),
      mtimeNs: String(s.mtimeNs),
      ino: Number(s.ino),
      hash,
      at: String(BigInt(Date.now()) * 1_000_000n),
    });
    this.dirty = true;
  }

  save(): void {
    if (!this.dirty) return;
    writeFileAtomic(this.file, JSON.stringify({ version: VERSION, entries: Object.fromEntries(this.entries) }));
    this.dirty = false;
  }
}
