// Unchanged files are not re-hashed: path → (device, inode, size, mtime, ctime, hash, when hashed), kept between
// runs. Every field must match, to the nanosecond where the filesystem has it: an edit that puts the old mtime
// back (`touch -d`, `cp -p`, a checkout or archive tool) still moves ctime, which no user tool can set.
// The "racy" rule, as git applies it: an entry is trusted only for a file whose mtime and ctime are older than
// the moment it was hashed by more than the filesystem's timestamp granularity (2 s assumed: FAT has 2 s, some
// network filesystems 1 s), so an edit within the same tick as the hashing, which leaves every stamp equal, is
// never missed; such a file is simply hashed again until it has aged.
import { lstatSync, readFileSync, type BigIntStats } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import { hashFile } from './hash.js';

const VERSION = 2;
/** Timestamp granularity assumed for every filesystem, in ns. */
export const RACY_NS = 2_000_000_000n;

interface Entry {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  hash: string;
  /** When the hash was taken (the stat before reading), in ns since the epoch. */
  at: string;
}

function matches(known: Entry, s: BigIntStats): boolean {
  return (
    known.size === String(s.size) &&
    known.mtimeNs === String(s.mtimeNs) &&
    known.ctimeNs === String(s.ctimeNs) &&
    known.ino === String(s.ino) &&
    known.dev === String(s.dev) &&
    s.mtimeNs + RACY_NS < BigInt(known.at) &&
    s.ctimeNs + RACY_NS < BigInt(known.at)
  );
}

function entryOf(s: BigIntStats, hash: string, at: bigint): Entry {
  return {
    dev: String(s.dev),
    ino: String(s.ino),
    size: String(s.size),
    mtimeNs: String(s.mtimeNs),
    ctimeNs: String(s.ctimeNs),
    hash,
    at: String(at),
  };
}

export class StatCache {
  private entries = new Map<string, Entry>();
  private dirty = false;
  hashed = 0;
  hits = 0;

  constructor(private readonly file: string) {}

  static load(file: string): StatCache {
    const cache = new StatCache(file);
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as { version: number; entries: Record<string, Entry> };
      if (data.version === VERSION && data.entries && typeof data.entries === 'object') cache.entries = new Map(Object.entries(data.entries));
    } catch {
      // Missing or damaged: that only costs re-hashing.
    }
    return cache;
  }

  /** Hash of an absolute file path; `st` is its lstat (bigint) when the caller has it. */
  async hash(file: string, st?: BigIntStats): Promise<string> {
    const s = st ?? lstatSync(file, { bigint: true });
    const known = this.entries.get(file);
    if (known && matches(known, s)) {
      this.hits++;
      return known.hash;
    }
    // The clock is read before the bytes: a write after this moment moves a stamp past `at - granularity`.
    const at = nowNs();
    const hash = await hashFile(file, Number(s.size));
    this.hashed++;
    // Recorded against the stat taken before hashing: a write during hashing changes mtime/ctime and misses next time.
    this.entries.set(file, entryOf(s, hash, at));
    this.dirty = true;
    return hash;
  }

  /** Record a hash already known (a file just restored from the cache). */
  remember(file: string, hash: string): void {
    const s = lstatSync(file, { bigint: true });
    this.entries.set(file, entryOf(s, hash, nowNs()));
    this.dirty = true;
  }

  save(): void {
    if (!this.dirty) return;
    try {
      writeFileAtomic(this.file, JSON.stringify({ version: VERSION, entries: Object.fromEntries(this.entries) }));
    } catch {
      // A read-only or full workspace (`status` there must work): the stat cache only saves re-hashing.
    }
    this.dirty = false;
  }
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
