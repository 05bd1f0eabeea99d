// Commands that look after the store and the CI workflow: gc, cache verify, ci generate/check.
import type { GlobalOptions } from '../options.js';
import type { Engine } from '../../plan/engine.js';
import { readHistory } from '../../report/history.js';
import { collectGarbage, type GcRoots } from '../../store/gc.js';
import { verifyCache } from '../../store/verify.js';
import { experimentRoots } from '../../store/experiments.js';
import { configFor } from './common.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import type { PipelineConfig } from '../../config/types.js';
import { remoteFromConfig } from '../../store/remote/open.js';
import { collectRemoteGarbage, parseAge } from '../../store/remote/gc.js';
import { LockFile } from '../../store/lockfile.js';
import { isNotice, type Emit } from '../../exec/events.js';
import { noticeLine } from '../../report/notices.js';
import { Session } from '../session.js';
import { interruptible } from '../interrupts.js';
import { openEngineWarned, printLockWarnings } from './warnings.js';

/** `gc --remote --older-than AGE`: what no kept record references, older than AGE, leaves the remote. */
async function remoteGc(config: PipelineConfig, flags: { dryRun?: boolean; olderThan?: string }): Promise<number> {
  const age = flags.olderThan ?? '30d';
  const olderThanMs = parseAge(age);
  if (olderThanMs === undefined) throw new UsageError(`--older-than \`${age}\` is not an age`, 'write a number and a unit: 45s, 90m, 12h, 30d or 2w');
  const lock = LockFile.load(config.root);
  printLockWarnings(lock);
  const keep = new Set(config.stages.map((s) => lock.get(s.name)?.fingerprint).filter((f): f is string => f !== undefined));
  return interruptible(noticesOnStderr, (signal) =>
    endsOnInterrupt(signal, async () => {
      const remote = remoteFromConfig(config.remote?.url, config.root, process.env, signal);
      if (!remote) throw new UsageError('no remote cache is set', 'set PIPELINE_REMOTE or `remote:` in pipeline.yaml');
      const r = await collectRemoteGarbage(remote, { olderThanMs, keep, dryRun: Boolean(flags.dryRun), signal });
      for (const refused of r.refused) process.stderr.write(`warning: ${refused}\n`);
      for (const undone of r.undone) process.stderr.write(`warning: ${undone}\n`);
      const verb = flags.dryRun ? 'would remove' : 'removed';
      process.stdout.write(
        `${verb} ${r.removedObjects} objects (${(r.freedBytes / 1024 / 1024).toFixed(1)} MiB) and ${r.removedRecords} run records from ${remote.describe()}; ` +
          `kept ${r.keptObjects} objects and ${r.keptRecords} run records (newer than ${age}, recorded in pipeline.lock` +
          `${r.keptExperiments > 0 ? `, or named by the ${r.keptExperiments} experiments there` : ''})\n`,
      );
      return 0;
    }),
  );
}

/** What the commands here say besides their results (Ctrl-C's notice), on stderr. */
export const noticesOnStderr: Emit = (event) => {
  if (isNotice(event)) process.stderr.write(noticeLine(event) ?? '');
};

/**
 * Work on a store that Ctrl-C may cut short: once `signal` was tripped, an error of the work ends in exit 130 with
 * `note` (what the interruption left) instead.
 */
export async function endsOnInterrupt(signal: AbortSignal, work: () => Promise<number>, note = 'what was removed so far is consistent (each removal is whole); run it again to finish'): Promise<number> {
  try {
    return await work();
  } catch (err) {
    if (!signal.aborted) throw err;
    process.stderr.write(`interrupted: ${note}\n`);
    return ExitCode.interrupted;
  }
}

export async function gcCommand(globals: GlobalOptions, flags: { keepRuns: number; maxAge: number; dryRun?: boolean; remote?: boolean; olderThan?: string }): Promise<number> {
  if (flags.remote) return remoteGc(await configFor(globals), flags);
  if (flags.olderThan !== undefined) throw new UsageError('--older-than applies to `gc --remote`', 'add --remote, or leave --older-than out');
  const session = await Session.open(globals, { command: 'pipeline gc', wait: true });
  try {
    await session.acquireWorkspace();
    const engine = session.openEngine();
    const { signal } = session;
    return await endsOnInterrupt(signal, async () => {
      const r = await collectGarbage(engine.cache, gcRoots(engine, flags.keepRuns), { maxAgeDays: flags.maxAge, dryRun: Boolean(flags.dryRun), signal });
      const verb = flags.dryRun ? 'would remove' : 'removed';
      const shared = r.workspaces > 1 ? `, ${r.workspaces - 1} other workspaces' pipeline.lock` : '';
      const running = r.runningRuns > 0 ? `, what ${r.runningRuns} running runs may need` : '';
      process.stdout.write(
        `${verb} ${r.removedObjects} objects (${(r.freedBytes / 1024 / 1024).toFixed(1)} MiB) and ${r.removedRuns} run records; ` +
          `kept ${r.keptObjects} objects of ${r.keptRuns} fingerprints (pipeline.lock and the last ${flags.keepRuns} runs` +
          `${flags.maxAge > 0 ? `, used within ${flags.maxAge} days` : ''}${shared}${running})\n`,
      );
      return 0;
    });
  } finally {
    session.close();
  }
}

/** What gc keeps for this workspace: its pipeline.lock entries and the fingerprints of its last `keepRuns` runs. */
function gcRoots(engine: Engine, keepRuns: number): GcRoots {
  // The experiments' results are kept until the experiment is removed (`pipeline exp remove`).
  const lockEntries = [...engine.graph.order.flatMap((name) => engine.lock.get(name) ?? []), ...experimentRoots(engine.root)];
  const history = readHistory(engine);
  const recentRuns = history.slice(Math.max(0, history.length - keepRuns)).flatMap((h) => Object.values(h.fingerprints));
  return { workspaceRoot: engine.ws.realRootPath, lockEntries, recentRuns };
}

export async function verifyCommand(globals: GlobalOptions, flags: { repair?: boolean; json?: boolean }): Promise<number> {
  const engine = openEngineWarned(await configFor(globals));
  let r: Awaited<ReturnType<typeof verifyCache>> | undefined;
  const code = await interruptible(noticesOnStderr, (signal) =>
    endsOnInterrupt(signal, async () => {
      const stages = engine.graph.order.map((name) => engine.graph.stage(name));
      r = await verifyCache(engine.cache, engine.lock, stages, Boolean(flags.repair), signal);
      return 0;
    }),
  );
  if (!r) return code;
  return report(r, flags);
}

function report(r: Awaited<ReturnType<typeof verifyCache>>, flags: { repair?: boolean; json?: boolean }): number {
  const problems = r.corrupt.length + r.dangling.length + r.unsafe.length;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ok: problems === 0, ...r })}\n`);
  } else {
    for (const h of r.corrupt) process.stdout.write(`corrupt object ${h}${flags.repair ? ' (removed)' : ''}\n`);
    for (const d of r.dangling) {
      process.stdout.write(`dangling run record ${d.fingerprint.slice(0, 12)} of \`${d.stage}\`: missing ${d.missing.join(', ')}${flags.repair ? ' (removed)' : ''}\n`);
    }
    for (const u of r.unsafe) {
      process.stdout.write(`unsafe ${u.source} of \`${u.stage}\`: ${u.problem}${flags.repair && u.source !== 'pipeline.lock' ? ' (removed)' : ''}\n`);
    }
    const unsafe = r.unsafe.length > 0 ? `, ${r.unsafe.length} unsafe` : '';
    process.stdout.write(
      `${r.objects} objects, ${r.runs} run records: ${problems === 0 ? 'all verified' : `${r.corrupt.length} corrupt, ${r.dangling.length} dangling${unsafe}`}\n`,
    );
    if (problems > 0 && !flags.repair) process.stdout.write('hint: `pipeline cache verify --repair` removes them; affected stages re-run\n');
  }
  return problems === 0 ? 0 : 1;
}

export async function ciCommand(globals: GlobalOptions, sub: 'generate' | 'check'): Promise<number> {
  const config = await configFor(globals);
  const { runCi } = await import('../../ci/check.js');
  return runCi(sub, { config, stdout: process.stdout, stderr: process.stderr });
}
