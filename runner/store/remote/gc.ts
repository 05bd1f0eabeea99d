// `pipeline gc --remote`: remove from the remote what no kept record references, by age. A run record is kept when
// it is younger than the cut-off or its fingerprint is one pipeline.lock records; an object is kept when a kept
// record names it (directly, as a folder manifest, or as a file such a manifest lists) or when it is younger than
// the cut-off (a push in flight uploads objects before its record). Records go first, then objects, so a removed
// object is never named by a record still on the remote. Only stores that can list blobs qualify: a folder and S3;
// the HTTP layout (Bazel's) has no listing.
import { UsageError } from '../../core/errors.js';
import type { DirManifest } from '../hash.js';
import { IntegrityError } from './backend.js';
import type { Remote } from './remote.js';

export interface RemoteGcResult {
  removedRecords: number;
  keptRecords: number;
  removedObjects: number;
  keptObjects: number;
  freedBytes: number;
  /** Records that failed a check: treated as not kept (removed when old). */
  refused: string[];
}

/** `30d`, `12h`, `90m`, `45s`, `2w` → milliseconds; undefined when not a duration. */
export function parseAge(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

export async function collectRemoteGarbage(remote: Remote, opts: { olderThanMs: number; keep: Set<string>; dryRun: boolean; now?: Date; signal?: AbortSignal }): Promise<RemoteGcResult> {
  const { backend } = remote;
  if (!backend.list || !backend.remove) {
    throw new UsageError(
      `remote ${remote.describe()} cannot list what it holds (the HTTP cache layout has no listing), so \`gc --remote\` cannot tell what is unused`,
      'expire old entries on the server itself (e.g. by age), or use an S3 or folder remote',
    );
  }
  const cutoff = (opts.now ?? new Date()).getTime() - opts.olderThanMs;
  const result: RemoteGcResult = { removedRecords: 0, keptRecords: 0, removedObjects: 0, keptObjects: 0, freedBytes: 0, refused: [] };
  const referenced = new Set<string>();

  // Stopped by a signal between two blobs: records go before the objects only they name, so what is left is whole.
  for await (const blob of backend.list('ac')) {
    opts.signal?.throwIfAborted();
    const old = blob.modified.getTime() < cutoff;
    if (old && !opts.keep.has(blob.key)) {
      if (!opts.dryRun) await backend.remove('ac', blob.key);
      result.removedRecords++;
      continue;
    }
    result.keptRecords++;
    const bytes = await backend.getBytes('ac', blob.key);
    if (bytes === undefined) continue;
    let record;
    try {
      record = remote.checkRecord(blob.key, bytes);
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      result.refused.push(err.message);
      continue;
    }
    for (const out of record.outs) {
      referenced.add(out.hash);
      if (out.type !== 'dir') continue;
      const manifest = await backend.getBytes('cas', out.hash);
      if (manifest === undefined) continue;
      try {
        for (const e of (JSON.parse(manifest.toString('utf8')) as DirManifest).entries) referenced.add(e.hash);
      } catch {
        // a manifest that does not parse names nothing; its record is refused on pull anyway
      }
    }
    if (record.log) referenced.add(record.log);
  }

  for await (const blob of backend.list('cas')) {
    opts.signal?.throwIfAborted();
    if (referenced.has(blob.key) || blob.modified.getTime() >= cutoff) {
      result.keptObjects++;
      continue;
    }
    if (!opts.dryRun) await backend.remove('cas', blob.key);
    result.removedObjects++;
    result.freedBytes += blob.size;
  }
  return result;
}
