// Moving results between the local store and a remote. A result is a run record plus the objects it names (file
// outs, folder manifests and the files they list, the stage's log). Uploads send objects before the record, so a
// record on the remote never names an object that is not there; each is skipped when the remote already has it.
// Downloads verify every object before it enters the local store; what fails a check is refused and named.
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import pLimit from 'p-limit';
import type { Cache, OutRecord, RunRecord } from '../cache.js';
import type { DirManifest } from '../hash.js';
import { RUN_RECORD_VERSION } from '../cache.js';
import { IntegrityError, type ProgressFn } from './backend.js';
import type { Remote } from './remote.js';

/** Bodies at least this large report progress. */
export const PROGRESS_THRESHOLD = 8 * 1024 * 1024;

export interface TransferStats {
  objects: number;
  bytes: number;
  records: number;
  /** Objects and records the other side already had. */
  skipped: number;
  /** What failed a check: refused, not used. */
  refused: string[];
  /** What could not be found (named with its stage). */
  missing: string[];
}

export function emptyStats(): TransferStats {
  return { objects: 0, bytes: 0, records: 0, skipped: 0, refused: [], missing: [] };
}

export interface SyncOptions {
  /** Transfers at once (default PIPELINE_REMOTE_JOBS or 4). */
  jobs?: number;
  /** Progress of large bodies: label (object hash), bytes done, total. */
  onProgress?: (label: string, done: number, total: number | undefined) => void;
}

export function defaultJobs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.PIPELINE_REMOTE_JOBS;
  return v && /^[1-9][0-9]*$/.test(v) ? Number(v) : 4;
}

export class RemoteSync {
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(
    readonly remote: Remote,
    readonly cache: Cache,
    private readonly options: SyncOptions = {},
  ) {
    this.limit = pLimit(options.jobs ?? defaultJobs());
  }

  private progress(hash: string, size: number | undefined): ProgressFn | undefined {
    const report = this.options.onProgress;
    if (!report || (size !== undefined && size < PROGRESS_THRESHOLD)) return undefined;
    return (done, total) => {
      const of = total ?? size;
      // A download's size is known only once the answer arrives.
      if (of !== undefined && of < PROGRESS_THRESHOLD) return;
      report(hash, done, of);
    };
  }

  /** Every object hash a result names, read from the local store (folder manifests must be stored locally). */
  localObjectsOf(outs: OutRecord[], log: string | undefined, stage: string, stats: TransferStats): string[] | undefined {
    const hashes: string[] = [];
    let complete = true;
    for (const out of outs) {
      hashes.push(out.hash);
      if (out.type === 'dir') {
        const text = this.cache.readObjectText(out.hash);
        if (text === undefined) {
          stats.missing.push(`\`${stage}\`: manifest of ${out.path} (${out.hash.slice(0, 12)}) is not in the local store`);
          complete = false;
          continue;
        }
        for (const e of (JSON.parse(text) as DirManifest).entries) hashes.push(e.hash);
      }
    }
    if (log) hashes.push(log);
    return complete ? [...new Set(hashes)] : undefined;
  }

  /** Upload one object unless the remote has it. False when it is not in the local store. */
  private async pushObject(hash: string, stats: TransferStats): Promise<boolean> {
    if (!this.cache.hasObject(hash)) return false;
    if (await this.remote.hasObject(hash)) {
      stats.skipped++;
      return true;
    }
    const file = this.cache.objectPath(hash);
    const size = statSync(file).size;
    await this.remote.putObject(hash, file, size, this.progress(hash, size));
    stats.objects++;
    stats.bytes += size;
    return true;
  }

  /**
   * Upload a result: its objects, then its record. A result with an object missing locally is not uploaded
   * (named in stats.missing), so the remote never holds a record it cannot restore.
   */
  async pushResult(record: RunRecord, stats: TransferStats): Promise<boolean> {
    const hashes = this.localObjectsOf(record.outs, record.log, record.stage, stats);
    if (!hashes) return false;
    const present = await Promise.all(hashes.map((h) => this.limit(() => this.pushObject(h, stats))));
    const absent = hashes.filter((_, i) => !present[i]);
    if (absent.length > 0) {
      stats.missing.push(`\`${record.stage}\`: ${absent.length} object(s) not in the local store (${absent.map((h) => h.slice(0, 12)).join(', ')})`);
      return false;
    }
    if (await this.limit(() => this.remote.hasRecord(record.fingerprint))) {
      stats.skipped++;
      return true;
    }
    await this.limit(() => this.remote.putRecord(record));
    stats.records++;
    return true;
  }

  /** Make one object present and verified in the local store. False when the remote lacks it or it was refused. */
  private async pullObject(hash: string, stats: TransferStats, stage: string): Promise<boolean> {
    if (this.cache.hasObject(hash)) {
      stats.skipped++;
      return true;
    }
    const tmp = this.cache.tempFile(hash);
    try {
      const found = await this.remote.getObject(hash, tmp, this.progress(hash, undefined));
      if (!found) {
        stats.missing.push(`\`${stage}\`: object ${hash.slice(0, 12)} is not on the remote`);
        return false;
      }
      const size = statSync(tmp).size;
      this.cache.adoptFile(tmp, hash);
      stats.objects++;
      stats.bytes += size;
      return true;
    } catch (err) {
      if (err instanceof IntegrityError) {
        stats.refused.push(`\`${stage}\`: ${err.message}`);
        return false;
      }
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Download what restoring these outs (and the log) needs. True when every object is now local and verified. */
  async pullObjects(outs: OutRecord[], log: string | undefined, stage: string, stats: TransferStats): Promise<boolean> {
    const first = [...outs.map((o) => o.hash), ...(log ? [log] : [])];
    const ok = await Promise.all(first.map((h) => this.limit(() => this.pullObject(h, stats, stage))));
    let complete = ok.every(Boolean);
    const entries: string[] = [];
    outs.forEach((out, i) => {
      if (out.type !== 'dir' || !ok[i]) return;
      const text = this.cache.readObjectText(out.hash);
      if (text === undefined) {
        complete = false;
        return;
      }
      for (const e of (JSON.parse(text) as DirManifest).entries) entries.push(e.hash);
    });
    const rest = await Promise.all([...new Set(entries)].map((h) => this.limit(() => this.pullObject(h, stats, stage))));
    return complete && rest.every(Boolean);
  }

  /** The checked run record of a fingerprint, without its objects; undefined when absent or refused (named). */
  async fetchRecord(fingerprint: string, stage: string, stats: TransferStats): Promise<RunRecord | undefined> {
    try {
      return await this.limit(() => this.remote.getRecord(fingerprint));
    } catch (err) {
      if (err instanceof IntegrityError) {
        stats.refused.push(`\`${stage}\`: ${err.message}`);
        return undefined;
      }
      throw err;
    }
  }

  /**
   * The run record of a fingerprint from the remote with every object it names, stored locally; undefined when
   * the remote lacks it or anything failed a check (named in stats.refused). For `run --pull`.
   */
  async pullResult(fingerprint: string, stage: string, stats: TransferStats): Promise<RunRecord | undefined> {
    const record = await this.fetchRecord(fingerprint, stage, stats);
    if (!record) return undefined;
    if (!(await this.pullObjects(record.outs, record.log, stage, stats))) return undefined;
    if (!this.cache.hasRun(fingerprint)) {
      this.cache.writeRun(record);
      stats.records++;
    }
    return record;
  }
}

/** A record for a result known only from pipeline.lock (its run record was removed locally). */
export function recordFromLock(stage: string, fingerprint: string, outs: OutRecord[]): RunRecord {
  return { version: RUN_RECORD_VERSION, fingerprint, stage, outs, durationMs: 0, createdAt: new Date().toISOString() };
}
