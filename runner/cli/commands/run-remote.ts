// `pipeline run --pull/--push`: the remote a run uses (PIPELINE_REMOTE, or `remote:` in pipeline.yaml, whose
// `pull`/`push` are the defaults the flags override), the upload of its results after it, and the lines that say
// what moved and what did not. A remote that fails is a warning here, never the run's failure.
import { UsageError } from '../../core/errors.js';
import type { RunSummary } from '../../exec/events.js';
import type { Engine } from '../../plan/engine.js';
import type { RunRecord } from '../../store/cache.js';
import { remoteFromConfig, remoteSettingOf } from '../../store/remote/open.js';
import { RunRemote, objectsLocal } from '../../store/remote/run-sync.js';
import type { StagePreview } from '../../plan/preview.js';
import { RemoteError } from '../../store/remote/backend.js';

export interface RunRemoteChoice {
  run: RunRemote;
  pull: boolean;
  push: boolean;
}

/** The remote of this run, or undefined when it neither pulls nor pushes (then the network is never touched). */
export function openRunRemote(engine: Engine, flags: { pull?: boolean; push?: boolean }): RunRemoteChoice | undefined {
  const setting = remoteSettingOf(engine.config.remote);
  const pull = flags.pull ?? setting?.pull ?? false;
  const push = flags.push ?? setting?.push ?? false;
  if (!pull && !push) return undefined;
  if (!setting) {
    const flag = flags.pull ? '--pull' : '--push';
    throw new UsageError(`${flag} needs a remote cache, and none is set`, 'set PIPELINE_REMOTE (s3://bucket/prefix, http(s)://host/prefix, or a folder), or `remote:` in pipeline.yaml');
  }
  const remote = remoteFromConfig(setting.url, engine.root, { ...process.env, PIPELINE_REMOTE: setting.url })!;
  return { run: new RunRemote(remote, engine.cache), pull, push };
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

export function reportRunRemote(run: RunRemote): void {
  const { info, warnings } = run.summary();
  for (const line of info) process.stderr.write(`remote: ${line}\n`);
  for (const line of warnings) process.stderr.write(`warning: remote: ${line}\n`);
}

/**
 * `status --remote`: a stale stage that would run, or whose restore lacks stored objects, gets the reason
 * `restorable-from-remote` when the remote holds a result for its fingerprint. A failing remote is a warning.
 */
export async function markRestorableFromRemote(engine: Engine, plan: StagePreview[]): Promise<void> {
  const setting = remoteSettingOf(engine.config.remote);
  if (!setting) throw new UsageError('--remote needs a remote cache, and none is set', 'set PIPELINE_REMOTE or `remote:` in pipeline.yaml');
  const remote = remoteFromConfig(setting.url, engine.root, { ...process.env, PIPELINE_REMOTE: setting.url })!;
  for (const p of plan) {
    if (!p.fingerprint || p.state === 'fresh' || !engine.graph.stage(p.name).cache) continue;
    if (p.action === 'restore') {
      const source = engine.lock.get(p.name)?.fingerprint === p.fingerprint ? engine.lock.get(p.name)!.outs : engine.cache.readRun(p.fingerprint)?.outs;
      if (source && source.every((rec) => objectsLocal(engine.cache, rec))) continue;
    } else if (p.action !== 'run') continue;
    try {
      if (await remote.hasRecord(p.fingerprint)) p.reasons = [...p.reasons.filter((r) => r.code !== 'restorable'), { code: 'restorable-from-remote' }];
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err;
      process.stderr.write(`warning: ${err.message}; not known which stages the remote can restore\n`);
      return;
    }
  }
}
