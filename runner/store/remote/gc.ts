// `pipeline gc --remote`: remove from the remote what no kept record references, by age. A run record is kept when
// it is younger than the cut-off or its fingerprint is one pipeline.lock records; an object is kept when a kept
// record names it (directly, as a folder manifest, or as a file such a manifest lists) or when it is younger than
// the cut-off (a push in flight uploads objects before its record). A kept record's objects are kept whether or not
// its signature verifies with this command's key: a gc run with another key (or none) never strips a young record
// of its objects. Records go first, then objects, so a removed object is never named by a record still on the
// remote. Only stores that can list blobs qualify: a folder and S3; the HTTP layout (Bazel's) has no listing.
//
// Against a push running meanwhile: a push makes an old object it relies on new again (Remote.present), and each
// blob's age is read again just before it is removed; a push that wrote its record after finding an object present
// looks for that object again and uploads it if gone (transfer.ts), and this gc, after removing objects, reads every
// record written during its run and removes one that names an object it removed. So no record is left naming an
// object this gc removed.
//
// Experiments pushed to the remote (`exp push`) are roots, as they are for the local gc: read first, each keeps the
// run records of its stages' fingerprints and the objects its stages' outs name, whatever their age, and neither the
// experiments nor their index are ever removed by age (`exp remove --remote` removes an experiment).
import { UsageError } from '../../core/errors.js';
import type { RunRecord } from '../cache.js';
import type { DirManifest } from '../hash.js';
import { IntegrityError, type Backend } from './backend.js';
import type { Remote } from './remote.js';
import { EXPERIMENT_KEY_PREFIX, EXPERIMENTS_INDEX_KEY } from './experiments.js';

/** A key of the `ac` namespace that holds an experiment or their index, not a run record. */
const isExperimentKey = (key: string): boolean => key.startsWith(EXPERIMENT_KEY_PREFIX) || key === EXPERIMENTS_INDEX_KEY;

export interface RemoteGcResult {
  removedRecords: number;
  keptRecords: number;
  removedObjects: number;
  keptObjects: number;
  /** Experiments on the remote: never removed by age; what their stages name is kept. */
  keptExperiments: number;
  freedBytes: number;
  /** Records that failed a check: named (one kept by age or pipeline.lock keeps its objects all the same). */
  refused: string[];
  /** Records written during this gc that named an object it removed: removed too. */
  undone: string[];
}

export interface RemoteGcOptions {
  olderThanMs: number;
  keep: Set<string>;
  dryRun: boolean;
  now?: Date;
  signal?: AbortSignal;
}

/** `30d`, `12h`, `90m`, `45s`, `2w` → milliseconds; undefined when not a duration. */
export function parseAge(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

type Listable = Required<Pick<Backend, 'list' | 'remove' | 'modified'>> & Backend;

class RemoteGc {
  readonly result: RemoteGcResult = { removedRecords: 0, keptRecords: 0, removedObjects: 0, keptObjects: 0, keptExperiments: 0, freedBytes: 0, refused: [], undone: [] };
  private readonly referenced = new Set<string>();
  private readonly removedObjects = new Set<string>();
  /** Every record seen by the first pass, with its last change and size (a rewrite changes one of them). */
  private readonly seen = new Map<string, string>();
  private readonly cutoff: number;
  /** Fingerprints whose run records stay: pipeline.lock's (given) and every experiment's stages'. */
  private readonly keep: Set<string>;

  constructor(
    private readonly remote: Remote,
    private readonly backend: Listable,
    private readonly opts: RemoteGcOptions,
  ) {
    this.cutoff = (opts.now ?? new Date()).getTime() - opts.olderThanMs;
    this.keep = new Set(opts.keep);
  }

  /** Still old (and there) when asked again just before removing: a push may have made it new meanwhile. */
  private async stillOld(ns: 'ac' | 'cas', key: string): Promise<boolean> {
    const modified = await this.backend.modified(ns, key);
    return modified !== undefined && modified.getTime() < this.cutoff;
  }

  /** The objects a record names: its outs, the files its folder manifests list, its log. */
  private async objectsOf(record: Pick<RunRecord, 'outs'> & { log?: string }): Promise<string[]> {
    const hashes: string[] = [];
    for (const out of record.outs) {
      hashes.push(out.hash);
      if (out.type !== 'dir') continue;
      const manifest = await this.backend.getBytes('cas', out.hash);
      if (manifest === undefined) continue;
      try {
        for (const e of (JSON.parse(manifest.toString('utf8')) as DirManifest).entries) hashes.push(e.hash);
      } catch {
        // a manifest that does not parse names nothing; its record is refused on pull anyway
      }
    }
    if (record.log) hashes.push(record.log);
    return hashes;
  }

  /** A record's form (its signature checked only to name a mismatch); undefined when it is not a record at all. */
  private async readRecord(key: string): Promise<RunRecord | undefined> {
    const bytes = await this.backend.getBytes('ac', key);
    if (bytes === undefined) return undefined;
    try {
      const { record } = this.remote.parseRecord(key, bytes);
      try {
        this.remote.checkRecord(key, bytes);
      } catch (err) {
        if (!(err instanceof IntegrityError)) throw err;
        this.result.refused.push(`${err.message} (kept, with its objects)`);
      }
      return record;
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      this.result.refused.push(err.message);
      return undefined;
    }
  }

  /**
   * Every experiment on the remote, read before any record goes: its stages' fingerprints join the kept ones, its
   * stages' outs the referenced objects. One that cannot be read is named and kept (and names nothing).
   */
  async experiments(): Promise<void> {
    for (const key of (await this.remote.keys('ac', EXPERIMENT_KEY_PREFIX)) ?? []) {
      this.opts.signal?.throwIfAborted();
      let got: Awaited<ReturnType<Remote['getSigned']>>;
      try {
        got = await this.remote.getSigned(key, `the experiment object ${key} on ${this.remote.describe()}`);
      } catch (err) {
        if (!(err instanceof IntegrityError)) throw err;
        this.result.refused.push(`${err.message} (kept)`);
        continue;
      }
      if (got === undefined) continue; // removed since it was listed
      this.result.keptExperiments++;
      const stages = Array.isArray(got.value.stages) ? (got.value.stages as unknown[]) : [];
      for (const stage of stages) {
        if (typeof stage !== 'object' || stage === null) continue;
        const { fingerprint, outs } = stage as { fingerprint?: unknown; outs?: unknown };
        if (typeof fingerprint === 'string') this.keep.add(fingerprint);
        if (!Array.isArray(outs)) continue;
        const named = outs.filter((o): o is RunRecord['outs'][number] => typeof o === 'object' && o !== null && typeof (o as { hash?: unknown }).hash === 'string');
        for (const h of await this.objectsOf({ outs: named })) this.referenced.add(h);
      }
    }
  }

  async records(): Promise<void> {
    for await (const blob of this.backend.list('ac')) {
      this.opts.signal?.throwIfAborted();
      if (isExperimentKey(blob.key)) continue;
      this.seen.set(blob.key, `${blob.modified.getTime()} ${blob.size}`);
      const old = blob.modified.getTime() < this.cutoff;
      if (old && !this.keep.has(blob.key) && (this.opts.dryRun || (await this.stillOld('ac', blob.key)))) {
        if (!this.opts.dryRun) await this.backend.remove('ac', blob.key);
        this.result.removedRecords++;
        continue;
      }
      this.result.keptRecords++;
      const record = await this.readRecord(blob.key);
      if (record) for (const h of await this.objectsOf(record)) this.referenced.add(h);
    }
  }

  async objects(): Promise<void> {
    for await (const blob of this.backend.list('cas')) {
      this.opts.signal?.throwIfAborted();
      const old = blob.modified.getTime() < this.cutoff;
      if (this.referenced.has(blob.key) || !old || (!this.opts.dryRun && !(await this.stillOld('cas', blob.key)))) {
        this.result.keptObjects++;
        continue;
      }
      if (!this.opts.dryRun) await this.backend.remove('cas', blob.key);
      this.removedObjects.add(blob.key);
      this.result.removedObjects++;
      this.result.freedBytes += blob.size;
    }
  }

  /** Records written (or rewritten) during this gc that name an object it removed are removed too. */
  async undo(): Promise<void> {
    if (this.opts.dryRun || this.removedObjects.size === 0) return;
    for await (const blob of this.backend.list('ac')) {
      if (isExperimentKey(blob.key)) continue;
      if (this.seen.get(blob.key) === `${blob.modified.getTime()} ${blob.size}`) continue;
      const record = await this.readRecord(blob.key);
      if (!record) continue;
      const gone = (await this.objectsOf(record)).find((h) => this.removedObjects.has(h));
      if (gone === undefined) continue;
      await this.backend.remove('ac', blob.key);
      this.result.removedRecords++;
      this.result.undone.push(`run record ${blob.key.slice(0, 12)} (stage \`${record.stage}\`), written during this gc, named object ${gone.slice(0, 12)} that it removed: removed too; push that result again`);
    }
  }
}

export async function collectRemoteGarbage(remote: Remote, opts: RemoteGcOptions): Promise<RemoteGcResult> {
  const { backend } = remote;
  if (!backend.list || !backend.remove || !backend.modified) {
    throw new UsageError(
      `remote ${remote.describe()} cannot list what it holds (the HTTP cache layout has no listing), so \`gc --remote\` cannot tell what is unused`,
      'expire old entries on the server itself (e.g. by age), or use an S3 or folder remote',
    );
  }
  const gc = new RemoteGc(remote, backend as Listable, opts);
  // Stopped by a signal between two blobs: records go before the objects only they name, so what is left is whole.
  await gc.experiments();
  await gc.records();
  await gc.objects();
  await gc.undo();
  return gc.result;
}
