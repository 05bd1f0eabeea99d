// `pipeline run --pull/--push`: the remote a run uses (PIPELINE_REMOTE, or `remote:` in pipeline.yaml, whose
// `pull`/`push` are the defaults the flags override), the upload of its results after it, and the notices that say
// what moved and what did not. A remote that fails is a warning here, never the run's failure.
import { UsageError } from '../../core/errors.js';
import type { Notice, RunSummary, Warning } from '../../exec/events.js';
import type { Engine } from '../../plan/engine.js';
import { checkRecordedOuts, outsDisagreement, type OutRecord, type RunRecord } from '../../store/cache.js';
import { remoteSettingOf } from '../../store/remote/setting.js';
import type { RunRemote, TrustedOuts } from '../../store/remote/run-sync.js';

export interface RunRemoteChoice {
  run: RunRemote;
  pull: boolean;
  push: boolean;
}

/**
 * The remote of this run, or undefined when it neither pulls nor pushes (then the network is never touched).
 * `signal`: the run's Ctrl-C / SIGTERM, which abandons the requests in flight.
 */
export async function openRunRemote(engine: Engine, flags: { pull?: boolean; push?: boolean }, signal?: AbortSignal): Promise<RunRemoteChoice | undefined> {
  const setting = remoteSettingOf(engine.config.remote);
  const pull = flags.pull ?? setting?.pull ?? false;
  const push = flags.push ?? setting?.push ?? false;
  if (!pull && !push) return undefined;
  if (!setting) {
    const flag = flags.pull ? '--pull' : '--push';
    throw new UsageError(`${flag} needs a remote cache, and none is set`, 'set PIPELINE_REMOTE (s3://bucket/prefix, http(s)://host/prefix, or a folder), or `remote:` in pipeline.yaml');
  }
  // The remote's modules load only for a run that uses it (their node:fs/promises and streams cost every run ≈ 2 ms).
  const [{ remoteFromConfig }, { RunRemote }] = await Promise.all([import('../../store/remote/open.js'), import('../../store/remote/run-sync.js')]);
  const remote = remoteFromConfig(setting.url, engine.root, { ...process.env, PIPELINE_REMOTE: setting.url }, signal)!;
  return { run: new RunRemote(remote, engine.cache, trustedOuts(engine), signal), pull, push };
}

/** The outs this workspace already trusts for a stage's fingerprint: pipeline.lock's, else a stored run record's. */
function trustedOuts(engine: Engine): TrustedOuts {
  return (name, fingerprint) => {
    const declared = engine.graph.stage(name).outs;
    const entry = engine.lock.get(name);
    if (entry?.fingerprint === fingerprint && checkRecordedOuts(declared, entry.outs, 'pipeline.lock') === undefined) return { outs: entry.outs, from: 'pipeline.lock' };
    const record = engine.cache.readRun(fingerprint);
    if (record && checkRecordedOuts(declared, record.outs, 'run-cache') === undefined) return { outs: record.outs, from: 'the local run-cache' };
    return undefined;
  };
}

/** Upload what the run ran, restored or found fresh (in the selection) that the remote lacks. */
export async function pushRunResults(engine: Engine, run: RunRemote, summary: RunSummary): Promise<void> {
  const records: RunRecord[] = [];
  for (const s of summary.stages) {
    if (!s.fingerprint || !['ran', 'restored', 'fresh'].includes(s.outcome.kind)) continue;
    if (!engine.graph.stage(s.name).cache) continue;
    const record = engine.cache.readRun(s.fingerprint);
    if (record) records.push(record);
  }
  await run.push(records);
}

/** What the run's remote moved, then what it refused, lacked or could not transfer. */
export function remoteNotices(run: RunRemote): Notice[] {
  const r = run.report();
  const notices: Notice[] = [];
  for (const t of r.moved) notices.push({ type: 'remote-transfer', direction: t.direction, results: t.results, objects: t.objects, bytes: t.bytes, remote: r.remote });
  const warnings: Warning[] = [
    ...r.refused.map((detail): Warning => ({ code: 'remote-refused', detail })),
    ...r.missing.map((detail): Warning => ({ code: 'remote-incomplete', detail })),
  ];
  if (r.failure !== undefined) warnings.push({ code: 'remote-failed', message: r.failure, notPulled: r.notPulled, notPushed: r.notPushed });
  return [...notices, ...warnings.map((warning): Notice => ({ type: 'warning', warning }))];
}

/**
 * `status --remote`: the lookup `preview` asks for the outs the remote records for a fingerprint, so a stale stage
 * the remote can restore gets the reason `restorable-from-remote` and its downstream is judged on those outs. A
 * failing remote is a warning (once; it is not asked again); a record that fails its checks counts as absent.
 */
export async function remoteOutsLookup(engine: Engine, warn: (message: string) => void): Promise<(fingerprint: string) => Promise<OutRecord[] | undefined>> {
  const setting = remoteSettingOf(engine.config.remote);
  if (!setting) throw new UsageError('--remote needs a remote cache, and none is set', 'set PIPELINE_REMOTE or `remote:` in pipeline.yaml');
  const [{ remoteFromConfig }, { IntegrityError, RemoteError }] = await Promise.all([import('../../store/remote/open.js'), import('../../store/remote/backend.js')]);
  const remote = remoteFromConfig(setting.url, engine.root, { ...process.env, PIPELINE_REMOTE: setting.url })!;
  let failed = false;
  const entries = engine.graph.order.flatMap((name) => engine.lock.get(name) ?? []);
  const locked = new Map(entries.map((e) => [e.fingerprint, e.outs]));
  return async (fingerprint) => {
    if (failed) return undefined;
    try {
      const outs = (await remote.getRecord(fingerprint))?.outs;
      const trusted = locked.get(fingerprint);
      if (!outs || !trusted) return outs;
      // A pull restores pipeline.lock's outs for this fingerprint, whatever the record says.
      const problem = outsDisagreement(trusted, outs, ['pipeline.lock', 'the record']);
      if (problem) process.stderr.write(`warning: ${remote.recordName(fingerprint)} disagrees with pipeline.lock (${problem}); a pull restores pipeline.lock's outs\n`);
      return trusted;
    } catch (err) {
      if (err instanceof IntegrityError) {
        warn(err.message);
        return undefined;
      }
      if (!(err instanceof RemoteError)) throw err;
      failed = true;
      warn(`${err.message}; not known which stages the remote can restore`);
      return undefined;
    }
  };
}
