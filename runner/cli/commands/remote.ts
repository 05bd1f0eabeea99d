// `pipeline push [STAGE…]` and `pipeline pull [STAGE…]`: move the results pipeline.lock records between the local
// store and the remote cache (PIPELINE_REMOTE, or `remote:` in pipeline.yaml). A failing remote is exit 1 with its
// URL (credentials removed) and the cause; anything refused by a check, or missing, is named and is also exit 1.
import { ExitCode, UsageError } from '../../core/errors.js';
import type { Engine } from '../../plan/engine.js';
import { remoteFromConfig } from '../../store/remote/open.js';
import { RemoteSync, emptyStats, recordFromLock, type TransferStats } from '../../store/remote/transfer.js';
import type { Remote } from '../../store/remote/remote.js';
import type { GlobalOptions } from '../options.js';
import { configFor } from './common.js';
import { Session } from '../session.js';
import { openEngineWarned } from './warnings.js';

function openRemote(engine: Engine): Remote {
  const remote = remoteFromConfig(engine.config.remote?.url, engine.root);
  if (!remote) {
    throw new UsageError('no remote cache is set', 'set PIPELINE_REMOTE (s3://bucket/prefix, http(s)://host/prefix, or a folder), or `remote:` in pipeline.yaml');
  }
  return remote;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Progress of large bodies on a terminal: one line, rewritten at most every 200 ms. */
function progressReporter(): ((label: string, done: number, total: number | undefined) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (label, done, total) => {
    const now = Date.now();
    if (now - last < 200 && done !== total) return;
    last = now;
    const of = total ? ` of ${mib(total)} (${Math.floor((done / total) * 100)}%)` : '';
    process.stderr.write(`\r\x1b[K  ${label.slice(0, 12)}: ${mib(done)}${of}`);
    if (done === total) process.stderr.write('\r\x1b[K');
  };
}

function selected(engine: Engine, stages: string[]): string[] {
  engine.graph.checkNames(stages);
  return stages.length === 0 ? engine.graph.order : engine.graph.order.filter((s) => stages.includes(s));
}

function report(verb: string, remote: Remote, stats: TransferStats, started: number, notes: string[]): number {
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  for (const r of stats.refused) process.stderr.write(`error: ${r}\n`);
  for (const m of stats.missing) process.stderr.write(`error: ${m}\n`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `${verb} ${stats.objects} objects (${mib(stats.bytes)}) and ${stats.records} run records ${verb === 'pushed' ? 'to' : 'from'} ${remote.describe()} in ${seconds} s; ` +
      `${stats.skipped} already there\n`,
  );
  const problems = stats.refused.length + stats.missing.length;
  if (problems > 0) {
    process.stderr.write(
      `error: ${problems} problem(s); ${verb === 'pulled' ? 'the affected stages were not restored and will run' : 'the affected results were not uploaded'}\n`,
    );
    return 1;
  }
  return 0;
}

export async function pushCommand(globals: GlobalOptions, stages: string[]): Promise<number> {
  const started = Date.now();
  const engine = openEngineWarned(await configFor(globals));
  const names = selected(engine, stages);
  const remote = openRemote(engine);
  const sync = new RemoteSync(remote, engine.cache, { onProgress: progressReporter() });
  const stats = emptyStats();
  const notes: string[] = [];
  for (const stage of names) {
    const entry = engine.lock.get(stage);
    if (!entry) {
      notes.push(`\`${stage}\` is not in pipeline.lock (it never completed): nothing to push`);
      continue;
    }
    const record = engine.cache.readRun(entry.fingerprint) ?? recordFromLock(stage, entry.fingerprint, entry.outs);
    await sync.pushResult(record, stats);
  }
  return report('pushed', remote, stats, started, notes);
}

export async function pullCommand(globals: GlobalOptions, stages: string[]): Promise<number> {
  const started = Date.now();
  const session = await Session.open(globals, { command: 'pipeline pull', wait: true });
  try {
    await session.acquireWorkspace();
    const engine = session.openEngine();
    const names = selected(engine, stages);
    const remote = openRemote(engine);
    const sync = new RemoteSync(remote, engine.cache, { onProgress: progressReporter() });
    const stats = emptyStats();
    const notes: string[] = [];
    let restored = 0;
    // Ctrl-C stops the pull between two stages: what was pulled and restored so far is whole.
    for (const stage of names) {
      if (session.signal.aborted) break;
      const entry = engine.lock.get(stage);
      if (!entry) {
        notes.push(`\`${stage}\` is not in pipeline.lock (it never completed): nothing to pull`);
        continue;
      }
      // The record carries the log; the outs to restore are pipeline.lock's, so a refused record costs only the log.
      const record = await sync.fetchRecord(entry.fingerprint, stage, stats);
      if (!(await sync.pullObjects(entry.outs, record?.log, stage, stats))) continue;
      if (!engine.cache.hasRun(entry.fingerprint)) {
        engine.cache.writeRun(record ?? recordFromLock(stage, entry.fingerprint, entry.outs));
        if (record) stats.records++;
      }
      for (const out of entry.outs) {
        const current = await engine.ws.hashOut(out.path).catch(() => undefined);
        if (current?.hash === out.hash && current.type === out.type) continue;
        if (await engine.ws.restoreOut(out)) restored++;
        else stats.refused.push(`\`${stage}\`: ${out.path} failed verification in the local store (removed); not restored — pull again`);
      }
    }
    engine.save();
    const code = report('pulled', remote, stats, started, notes);
    process.stdout.write(`restored ${restored} out(s) in the workspace\n`);
    return session.signal.aborted ? ExitCode.interrupted : code;
  } finally {
    session.close();
  }
}
