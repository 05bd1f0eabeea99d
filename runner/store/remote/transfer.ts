// Moving results between the local store and a remote. A result is a run record plus the objects it names (file
// outs, folder manifests and the files they list, the stage's log). Uploads send objects before the record, so a
// record on the remote never names an object that is not there; each is skipped when the remote already has it
// (and made new again there when old, so `gc --remote` sees it as used). Downloads verify every object before it
// enters the local store; what fails a check is refused and named. What a remote's record may decide is limited by
// what this workspace already trusts (pullResult).
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import pLimit from 'p-limit';
import type { Cache, OutRecord, RunRecord } from '../cache.js';
import { parseManifest, type DirManifest } from '../hash.js';
import { printable } from '../../core/printable.js';
import { RUN_RECORD_VERSION, outsDisagreement } from '../cache.js';
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

  /** Upload one object unless the remote has it (made new again there when old). False when it is not in the local store. */
  private async pushObject(hash: string, stats: TransferStats): Promise<boolean> {
    if (!this.cache.hasObject(hash)) return false;
    if (await this.remote.present('cas', hash)) {
      stats.skipped++;
      return true;
    }
    await this.uploadObject(hash, stats);
    return true;
  }

  private async uploadObject(hash: string, stats: TransferStats): Promise<void> {
    const file = this.cache.objectPath(hash);
    const size = statSync(file).size;
    await this.remote.putObject(hash, file, size, this.progress(hash, size));
    stats.objects++;
    stats.bytes += size;
  }

  /**
   * Upload a result: its objects, then its record. A result with an object missing locally is not uploaded
   * (named in stats.missing), so the remote never holds a record it cannot restore. A record already there is kept
   * when a pull with this key accepts it; with signing on, an unsigned one (or one signed with another key) is
   * replaced by a signed copy. `recordChecked`: the caller found no usable record a moment ago.
   */
  async pushResult(record: RunRecord, stats: TransferStats, opts: { recordChecked?: boolean } = {}): Promise<boolean> {
    const hashes = this.localObjectsOf(record.outs, record.log, record.stage, stats);
    if (!hashes) return false;
    const present = await Promise.all(hashes.map((h) => this.limit(() => this.pushObject(h, stats))));
    const absent = hashes.filter((_, i) => !present[i]);
    if (absent.length > 0) {
      stats.missing.push(`\`${record.stage}\`: ${absent.length} object(s) not in the local store (${absent.map((h) => h.slice(0, 12)).join(', ')})`);
      return false;
    }
    if (!opts.recordChecked && (await this.limit(() => this.remote.hasUsableRecord(record.fingerprint)))) {
      stats.skipped++;
      return true;
    }
    await this.limit(() => this.remote.putRecord(record));
    stats.records++;
    await this.afterRecord(hashes, stats);
    return true;
  }

  /**
   * A `gc --remote` running meanwhile may have removed an object this push found present before its record was
   * written (it decided on the object's age before the push made it new). Where gc can run (a store that lists),
   * every object the new record names is looked for again and uploaded again if gone; gc for its part removes a
   * record written during its run that names an object it removed (gc.ts). Either way no record is left naming an
   * object gc removed.
   */
  private async afterRecord(hashes: string[], stats: TransferStats): Promise<void> {
    if (!this.remote.backend.list) return;
    await Promise.all(
      hashes.map((h) =>
        this.limit(async () => {
          if (!(await this.remote.hasObject(h))) await this.uploadObject(h, stats);
        }),
      ),
    );
  }

  /** Make one object present and verified in the local store. False when the remote lacks it or it was refused. */
  private async pullObject(hash: string, stats: TransferStats, stage: string): Promise<boolean> {
    if (this.cache.hasObject(hash)) {
      stats.skipped++;
      return true;
    }
    const tmp = this.cache.tempFile(hash);
    let adopted = false;
    try {
      const found = await this.remote.getObject(hash, tmp, this.progress(hash, undefined));
      if (!found) {
        stats.missing.push(`\`${stage}\`: object ${hash.slice(0, 12)} is not on the remote`);
        return false;
      }
      this.cache.adoptFile(tmp, hash);
      adopted = true;
      stats.objects++;
      stats.bytes += found.size;
      return true;
    } catch (err) {
      if (err instanceof IntegrityError) {
        stats.refused.push(`\`${stage}\`: ${err.message}`);
        return false;
      }
      throw err;
    } finally {
      if (!adopted) await rm(tmp, { force: true });
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
      // The manifest's bytes match its name, but what they say came from the remote: checked whole.
      const parsed = parseManifest(text);
      if ('problem' in parsed) {
        stats.refused.push(printable(`\`${stage}\`: refused the manifest of ${out.path} (${out.hash.slice(0, 12)}) from ${this.remote.describe()}: ${parsed.problem}`));
        complete = false;
        return;
      }
      for (const e of parsed.manifest.entries) entries.push(e.hash);
    });
    const rest = await Promise.all([...new Set(entries)].map((h) => this.limit(() => this.pullObject(h, stats, stage))));
    return complete && rest.every(Boolean);
  }

  /** The checked run record of a fingerprint, without its objects: absent, refused (named in stats.refused), or found. */
  async fetchRecord(fingerprint: string, stage: string, stats: TransferStats): Promise<FetchedRecord> {
    try {
      const record = await this.limit(() => this.remote.getRecord(fingerprint));
      return record ? { kind: 'found', record } : { kind: 'absent' };
    } catch (err) {
      if (err instanceof IntegrityError) {
        stats.refused.push(`\`${stage}\`: ${err.message}`);
        return { kind: 'refused' };
      }
      throw err;
    }
  }

  /**
   * A stage's result from the remote, every object it names downloaded and verified into the local store; nothing
   * is written to the local run cache here (the caller decides: see `Cache.lendRun`). Undefined when the remote has
   * no usable result (named in stats when something was refused or missing).
   *
   * With `trusted` outs — pipeline.lock's for this very fingerprint (or a local run record's) — those are the outs
   * fetched: the remote's record must list exactly them, else it is refused and named (its log is not used) and the
   * trusted outs' objects are fetched all the same. Without them, the record's own outs are fetched. `requireRecord`:
   * a remote without any record for the fingerprint has nothing (`run --pull`); without it (`pull`), the trusted
   * outs' objects are looked for anyway.
   */
  async pullResult(fingerprint: string, stage: string, stats: TransferStats, opts: PullOptions): Promise<PulledResult | undefined> {
    const fetched = await this.fetchRecord(fingerprint, stage, stats);
    const { trusted } = opts;
    if (fetched.kind === 'absent' && opts.requireRecord) return undefined;
    if (!trusted) {
      if (fetched.kind !== 'found') return undefined;
      const { record } = fetched;
      return (await this.pullObjects(record.outs, record.log, stage, stats)) ? { record, agreed: true, signed: this.remote.signing } : undefined;
    }
    let log: string | undefined;
    let agreed = false;
    if (fetched.kind === 'found') {
      const problem = outsDisagreement(trusted.outs, fetched.record.outs, [trusted.from, 'the record']);
      if (problem === undefined) {
        log = fetched.record.log;
        agreed = true;
      } else stats.refused.push(`\`${stage}\`: refused ${this.remote.recordName(fingerprint)}: its outs disagree with ${trusted.from} (${problem})`);
    }
    if (!(await this.pullObjects(trusted.outs, log, stage, stats))) return undefined;
    return { record: recordFromLock(stage, fingerprint, trusted.outs, log), agreed, signed: agreed && this.remote.signing };
  }
}

export type FetchedRecord = { kind: 'absent' } | { kind: 'refused' } | { kind: 'found'; record: RunRecord };

export interface PullOptions {
  /** The outs this workspace already trusts for the fingerprint, and where they are recorded (for messages). */
  trusted?: { outs: OutRecord[]; from: string };
  requireRecord: boolean;
}

export interface PulledResult {
  /** The result now restorable from the local store: the trusted outs when there were some, else the record's. */
  record: RunRecord;
  /** The remote's record was found and used (it agreed with the trusted outs, if any). */
  agreed: boolean;
  /** That record was signed with this command's key (so it may be kept as trusted). */
  signed: boolean;
}

/** A record for a result known only from pipeline.lock (its run record was removed locally, or never stored). */
export function recordFromLock(stage: string, fingerprint: string, outs: OutRecord[], log?: string): RunRecord {
  return { version: RUN_RECORD_VERSION, fingerprint, stage, outs, ...(log ? { log } : {}), durationMs: 0, createdAt: new Date().toISOString() };
}
