// `pipeline push [STAGE…]` and `pipeline pull [STAGE…]`: move the results pipeline.lock records between the local
// store and the remote cache (PIPELINE_REMOTE, or `remote:` in pipeline.yaml). A failing remote is exit 1 with its
// URL (credentials removed) and the cause (a timeout included: a remote that timed out twice is not asked again);
// anything refused by a check, or missing, is named and is also exit 1. Ctrl-C / SIGTERM abandons the transfers in
// flight at once (exit 130).
import { UsageError } from '../../core/errors.js';
import type { Engine } from '../../plan/engine.js';
import { remoteFromConfig } from '../../store/remote/open.js';
import { RemoteSync, emptyStats, recordFromLock, type TransferStats } from '../../store/remote/transfer.js';
import type { Remote } from '../../store/remote/remote.js';
import type { GlobalOptions } from '../options.js';
import { configFor } from './common.js';
import { Session } from '../session.js';
import { interruptible } from '../interrupts.js';
import { noticesOnStderr, endsOnInterrupt } from './maintenance.js';
import { openEngineWarned } from './warnings.js';

function openRemote(engine: Engine, signal: AbortSignal): Remote {
  const remote = remoteFromConfig(engine.config.remote?.url, engine.root, process.env, signal);
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

/** The named stages (a template's name: its expansions), every stage when none is named, in pipeline order. */
function selected(engine: Engine, stages: string[]): string[] {
  const named = new Set(engine.graph.expand(stages));
  return stages.length === 0 ? engine.graph.order : engine.graph.order.filter((s) => named.has(s));
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
    process.stderr.write(`error: ${problems} problem(s), each named above with what became of its stage\n`);
    return 1;
  }
  return 0;
}

/** Say, after each problem a stage's transfer added to `stats`, what became of the stage. */
function annotate(stats: TransferStats, before: [number, number], outcome: string): void {
  for (const [list, from] of [[stats.refused, before[0]], [stats.missing, before[1]]] as const) {
    for (let i = from; i < list.length; i++) list[i] = `${list[i]}; ${outcome}`;
  }
}

const INTERRUPTED = 'every object and run record transferred so far is whole; run it again to finish';

export async function pushCommand(globals: GlobalOptions, stages: string[]): Promise<number> {
  const started = Date.now();
  const engine = openEngineWarned(await configFor(globals));
  const names = selected(engine, stages);
  return interruptible(noticesOnStderr, (signal) =>
    endsOnInterrupt(
      signal,
      async () => {
        const remote = openRemote(engine, signal);
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
          const before: [number, number] = [stats.refused.length, stats.missing.length];
          if (!(await sync.pushResult(record, stats))) annotate(stats, before, 'its result was not uploaded');
        }
        return report('pushed', remote, stats, started, notes);
      },
      INTERRUPTED,
    ),
  );
}

/**
 * Pull one stage's result: pipeline.lock's outs are what is fetched and restored (the remote's record must agree
 * with them, else it is refused and named, and only its log is lost). The run record kept locally is made from
 * pipeline.lock; it keeps the remote's log only when the record was signed with this command's key.
 */
async function pullStage(engine: Engine, sync: RemoteSync, stage: string, stats: TransferStats): Promise<number> {
  const entry = engine.lock.get(stage)!;
  const trusted = { outs: entry.outs, from: 'pipeline.lock' };
  const before: [number, number] = [stats.refused.length, stats.missing.length];
  const pulled = await sync.pullResult(entry.fingerprint, stage, stats, { trusted, requireRecord: false });
  if (!pulled) {
    annotate(stats, before, 'not restored: the stage will run');
    return 0;
  }
  annotate(stats, before, "the outs pipeline.lock records were restored all the same (without the record's log)");
  if (!engine.cache.hasRun(entry.fingerprint)) {
    engine.cache.writeRun(recordFromLock(stage, entry.fingerprint, entry.outs, pulled.signed ? pulled.record.log : undefined));
    if (pulled.agreed) stats.records++;
  }
  let restored = 0;
  for (const out of entry.outs) {
    const current = await engine.ws.hashOut(out.path).catch(() => undefined);
    if (current?.hash === out.hash && current.type === out.type) continue;
    if (await engine.ws.restoreOut(out)) restored++;
    else stats.refused.push(`\`${stage}\`: ${out.path} failed verification in the local store (removed); not restored — pull again`);
  }
  return restored;
}

export async function pullCommand(globals: GlobalOptions, stages: string[]): Promise<number> {
  const started = Date.now();
  const session = await Session.open(globals, { command: 'pipeline pull', wait: true });
  try {
    await session.acquireWorkspace();
    const engine = session.openEngine();
    const names = selected(engine, stages);
    const { signal } = session;
    return await endsOnInterrupt(
      signal,
      async () => {
        const remote = openRemote(engine, signal);
        const sync = new RemoteSync(remote, engine.cache, { onProgress: progressReporter() });
        const stats = emptyStats();
        const notes: string[] = [];
        let restored = 0;
        try {
          for (const stage of names) {
            if (signal.aborted) throw new Error('interrupted');
            if (engine.lock.get(stage)) restored += await pullStage(engine, sync, stage, stats);
            else notes.push(`\`${stage}\` is not in pipeline.lock (it never completed): nothing to pull`);
          }
        } finally {
          engine.save();
        }
        const code = report('pulled', remote, stats, started, notes);
        process.stdout.write(`restored ${restored} out(s) in the workspace\n`);
        return code;
      },
      INTERRUPTED,
    );
  } finally {
    session.close();
  }
}
