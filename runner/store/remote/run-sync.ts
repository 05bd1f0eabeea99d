// The remote cache during `pipeline run --pull/--push`. Unlike `pipeline push`/`pull`, a remote that is
// unreachable or fails is never a failure of the run: the first such error is remembered, the remote is not asked
// again in this run, and the run ends with a warning saying what was not transferred. What fails a check (a
// tampered object or record) is refused and named, and the stage runs instead.
import type { Cache, RunRecord } from '../cache.js';
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
  /** The first failure of the remote itself (unreachable, an error answer); after it the remote is not used. */
  failure: string | undefined;
  private readonly sync: RemoteSync;

  constructor(
    readonly remote: Remote,
    cache: Cache,
  ) {
    this.sync = new RemoteSync(remote, cache);
  }

  private fail(err: unknown): string {
    if (!(err instanceof RemoteError)) throw err;
    this.failure ??= err.message;
    return err.message;
  }

  async pull(fingerprint: string, stage: string): Promise<PullAnswer> {
    if (this.failure !== undefined) {
      this.notPulled.push(stage);
      return { kind: 'unusable', detail: 'the remote failed earlier in this run' };
    }
    const refusedBefore = this.pullStats.refused.length;
    const missingBefore = this.pullStats.missing.length;
    try {
      const record = await this.sync.pullResult(fingerprint, stage, this.pullStats);
      if (record) {
        this.pulled.push(stage);
        return { kind: 'pulled' };
      }
    } catch (err) {
      this.notPulled.push(stage);
      return { kind: 'unusable', detail: this.fail(err) };
    }
    const problems = [...this.pullStats.refused.slice(refusedBefore), ...this.pullStats.missing.slice(missingBefore)];
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
        if (await this.remote.hasRecord(record.fingerprint)) {
          this.pushStats.skipped++;
          continue;
        }
        if (await this.sync.pushResult(record, this.pushStats)) this.pushed.push(record.stage);
        else this.notPushed.push(record.stage);
      } catch (err) {
        this.fail(err);
        this.notPushed.push(record.stage);
      }
    }
  }

  /** What the run moved, and what it did not: refused, incomplete, or not transferred because the remote failed. */
  report(): RunRemoteReport {
    const moved: RunRemoteReport['moved'] = [];
    if (this.pulled.length > 0) moved.push({ direction: 'pull', results: this.pulled.length, objects: this.pullStats.objects, bytes: this.pullStats.bytes });
    if (this.pushed.length > 0) moved.push({ direction: 'push', results: this.pushed.length, objects: this.pushStats.objects, bytes: this.pushStats.bytes });
    return {
      remote: this.remote.describe(),
      moved,
      refused: [...this.pullStats.refused],
      missing: [...this.pullStats.missing, ...this.pushStats.missing],
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
