// A dep outside the workspace (absolute or `../`), hashed by content like any dep, with the stat cache. The data is
// not the workspace's, so symlinks are followed there — a file, a folder, and every symlinked file or folder inside
// a folder — and a folder hashes as the manifest of every file below it. What cannot be hashed is refused with a
// message, never skipped: a path leading into /proc, /sys, /dev or another pseudo filesystem (by a symlink or a
// mount, places.ts), a fifo, socket or device, a symlink to nothing, and a symlink back to a folder on its own way
// (a cycle, which would never end).
import { readdirSync, readlinkSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { hashBytes, manifestText, yieldToSignals, YIELD_EVERY, type ManifestEntry } from './hash.js';
import { specialKind, unhashablePlace, UNHASHABLE_HINT, WorkspaceError } from './places.js';
import type { StatCache } from './stat-cache.js';
import type { ReadSet } from '../core/read-set.js';

/** The hash of an external dep (its content, or its folder's manifest); undefined when it does not exist. */
export async function hashExternalDep(dep: string, abs: string, stats: StatCache, signal?: AbortSignal, reads?: ReadSet): Promise<string | undefined> {
  reads?.add('dep', abs);
  const st = statSync(abs, { bigint: true, throwIfNoEntry: false });
  if (!st) return undefined;
  refuseUnhashable(dep, abs, undefined);
  if (st.isFile()) return stats.hash(abs, st);
  if (!st.isDirectory()) throw new WorkspaceError(`dep \`${dep}\` is ${specialKind(st)}, which has no content to hash`, UNHASHABLE_HINT);
  const walk = new Walk(dep, stats, signal, reads);
  await walk.folder(abs, '', new Map([[idOf(st), '']]), st.dev);
  return hashBytes(manifestText(walk.entries));
}

function idOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}

function real(abs: string): string {
  try {
    return realpathSync.native(abs);
  } catch {
    return abs;
  }
}

/** Refuses a path whose real place cannot be hashed; `rel` names it inside the dep (undefined: the dep itself). */
function refuseUnhashable(dep: string, abs: string, rel: string | undefined): void {
  const place = real(abs);
  const why = unhashablePlace(place);
  if (!why) return;
  const what = rel === undefined ? `dep \`${dep}\`` : `\`${rel}\` in dep \`${dep}\``;
  throw new WorkspaceError(`${what} ${place !== abs ? `leads to \`${place}\`, ` : 'is '}${why}`, UNHASHABLE_HINT);
}

class Walk {
  readonly entries: ManifestEntry[] = [];
  private seen = 0;
  /** Devices already checked for a pseudo filesystem (a mount inside the folder changes the device). */
  private readonly devices = new Set<bigint>();

  constructor(
    private readonly dep: string,
    private readonly stats: StatCache,
    private readonly signal: AbortSignal | undefined,
    private readonly reads: ReadSet | undefined,
  ) {}

  /** Every file below `dir` (`rel` inside the dep); `onWay`: the folders from the dep to here, by identity. */
  async folder(dir: string, rel: string, onWay: Map<string, string>, dev: bigint): Promise<void> {
    this.reads?.add('folder', dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (++this.seen % YIELD_EVERY === 0) await yieldToSignals(this.signal);
      const abs = path.join(dir, e.name);
      const child = rel ? `${rel}/${e.name}` : e.name;
      const st = statSync(abs, { bigint: true, throwIfNoEntry: false });
      if (!st) {
        throw new WorkspaceError(`\`${child}\` in dep \`${this.dep}\` is a symlink to nothing (\`${readlinkSync(abs)}\`)`, 'remove the link or restore what it points to');
      }
      // A symlink may lead anywhere; a mount inside the folder shows as another device (checked once per device).
      if (e.isSymbolicLink()) refuseUnhashable(this.dep, abs, child);
      else if (st.dev !== dev && !this.devices.has(st.dev)) {
        refuseUnhashable(this.dep, abs, child);
        this.devices.add(st.dev);
      }
      if (st.isDirectory()) {
        const id = idOf(st);
        const loop = onWay.get(id);
        if (loop !== undefined) {
          throw new WorkspaceError(
            `dep \`${this.dep}\` holds a symlink cycle: \`${child}\` leads back to ${loop === '' ? 'the dep itself' : `\`${loop}\``}`,
            'remove the link, or point it at a folder that does not hold it',
          );
        }
        onWay.set(id, child);
        await this.folder(abs, child, onWay, st.dev);
        onWay.delete(id);
      } else if (st.isFile()) {
        this.reads?.add('file', abs);
        this.entries.push({ path: child, hash: await this.stats.hash(abs, st), size: Number(st.size) });
      } else {
        throw new WorkspaceError(`\`${child}\` in dep \`${this.dep}\` is ${specialKind(st)}, which has no content to hash`, UNHASHABLE_HINT);
      }
    }
  }
}
