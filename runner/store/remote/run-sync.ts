// The remote cache during `pipeline run --pull/--push`. Unlike `pipeline push`/`pull`, a remote that is
// unreachable, fails or times out is never a failure of the run: the first such error is remembered, the remote is
// not asked again in this run, and the run ends with one warning saying what was not transferred. What fails a
// check (a tampered object or record, a record disagreeing with pipeline.lock) is refused and named, and the stage
// runs instead. A record that is not signed with this run's key is lent to this run only (Cache.lendRun).
import type { Cache, OutRecord, RunRecord } from '../cache.js';
import { RemoteError } from './backend.js';
import type { Remote } from './remote.js';
import { RemoteSync, emptyStats, type TransferStats } from './transfer.js';

/** What asking the remote for a stage's result gave. */
export type PullAnswer =
  /** The record and every object it names are now in the local store. */
  | { kind: 'pulled' }
  /** The remote has no result for this fingerprint. */
  | { kind: 'absent' }
  /** The remote's result could not be used; `detail` says why (refused, incomplete, remote down). */
  | { kind: 'unusable'; detail: string };

/** What a stage execution may ask of the remote (exec/ knows only this). */
export interface RemotePuller {
  pull(fingerprint: string, stage: string): Promise<PullAnswer>;
}

/** The outs this workspace already trusts for a stage's fingerprint (pipeline.lock's, a local record's), if any. */
export type TrustedOuts = (stage: string, fingerprint: string) => { outs: OutRecord[]; from: string } | undefined;

export class RunRemote implements RemotePuller {
  readonly pullStats: TransferStats = emptyStats();
  readonly pushStats: TransferStats = emptyStats();
  /** Stages whose result came from the remote. */
  readonly pulled: string[] = [];
  /** Stages whose result was uploaded. */
  readonly pushed: string[] = [];
  /** Stages the remote was not asked about, or whose result was not uploaded, because the remote had failed. */
  readonly notPulled: string[] = [];
  readonly notPushed: string[] = [];
  /** What was refused or missing while pulling, each with what happened to its stage. */
  private readonly pullProblems: string[] = [];
  /** The first failure of the remote itself (unreachable, an error answer, a timeout); after it the remote is not used. */
  failure: string | undefined;
  private readonly sync: RemoteSync;

  constructor(
    readonly remote: Remote,
    private readonly cache: Cache,
    private readonly trusted: TrustedOuts = () => undefined,
    private readonly signal?: AbortSignal,
  ) {
    this.sync = new RemoteSync(remote, cache);
  }

  private fail(err: unknown): string {
    // Interrupted: the stage is not to run instead; the run ends (the stage reports `interrupted`).
    if (this.signal?.aborted) throw err;
    if (!(err instanceof RemoteError)) throw err;
    this.failure ??= err.message;
    return err.message;
  }

  async pull(fingerprint: string, stage: string): Promise<PullAnswer> {
    if (this.failure !== undefined) {
      this.notPulled.push(stage);
      return { kind: 'unusable', detail: 'the remote failed earlier in this run' };
    }
    const stats = this.pullStats;
    const [refusedBefore, missingBefore] = [stats.refused.length, stats.missing.length];
    const trusted = this.trusted(stage, fingerprint);
    let pulled: Awaited<ReturnType<RemoteSync['pullResult']>>;
    try {
      pulled = await this.sync.pullResult(fingerprint, stage, stats, { trusted, requireRecord: true });
    } catch (err) {
      this.notPulled.push(stage);
      return { kind: 'unusable', detail: this.fail(err) };
    }
    const problems = [...stats.refused.slice(refusedBefore), ...stats.missing.slice(missingBefore)];
    if (pulled) {
      // Signed with this run's key: kept like a result made here. Otherwise used by this run only.
      if (pulled.signed) {
        if (!this.cache.hasRun(fingerprint)) this.cache.writeRun(pulled.record);
      } else this.cache.lendRun(pulled.record);
      stats.records++;
      this.pulled.push(stage);
      for (const p of problems) this.pullProblems.push(`${p}; the outs recorded in ${trusted?.from ?? 'it'} were pulled instead`);
      return { kind: 'pulled' };
    }
    for (const p of problems) this.pullProblems.push(`${p}; the stage ran instead`);
    return problems.length > 0 ? { kind: 'unusable', detail: problems.join('; ') } : { kind: 'absent' };
  }

  /** Upload the results the remote lacks (objects first, then the record); a failing remote stops the uploads. */
  async push(records: RunRecord[]): Promise<void> {
    for (const record of records) {
      if (this.failure !== undefined) {
        this.notPushed.push(record.stage);
        continue;
      }
      try {
        if (await this.remote.hasUsableRecord(record.fingerprint)) {
          this.pushStats.skipped++;
          continue;
        }
        if (await this.sync.pushResult(record, this.pushStats, { recordChecked: true })) this.pushed.push(record.stage);
        else this.notPushed.push(record.stage);
      } catch (err) {
        this.fail(err);
        this.notPushed.push(record.stage);
      }
    }
  }

  /**
   * What the run moved, and what it did not: refused or incomplete pulls (each saying what became of its stage), uploads
   * whose objects went missing, or nothing transferred after the remote failed.
   */
  report(): RunRemoteReport {
    const moved: RunRemoteReport['moved'] = [];
    if (this.pulled.length > 0) moved.push({ direction: 'pull', results: this.pulled.length, objects: this.pullStats.objects, bytes: this.pullStats.bytes });
    if (this.pushed.length > 0) moved.push({ direction: 'push', results: this.pushed.length, objects: this.pushStats.objects, bytes: this.pushStats.bytes });
    return {
      remote: this.remote.describe(),
      moved,
      refused: [...this.pullProblems],
      missing: [...this.pushStats.missing],
      failure: this.failure,
      notPulled: [...this.notPulled],
      notPushed: [...this.notPushed],
    };
  }
}

/** What `run --pull/--push` moved and did not, for the run to report. */
export interface RunRemoteReport {
  /** The remote, as it may be shown (credentials removed). */
  remote: string;
  moved: { direction: 'pull' | 'push'; results: number; objects: number; bytes: number }[];
  /** What failed a check (the stage ran instead), and what was missing. */
  refused: string[];
  missing: string[];
  /** The first failure of the remote itself; after it the remote was not used. */
  failure?: string;
  notPulled: string[];
  notPushed: string[];
}
