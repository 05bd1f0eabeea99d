// Commands that look after the store and the CI workflow: gc, cache verify, ci generate/check.
import type { GlobalOptions } from '../options.js';
import { openEngine } from '../../plan/engine.js';
import { collectGarbage } from '../../store/gc.js';
import { acquireRunLock } from '../../exec/run-lock.js';
import { verifyCache } from '../../store/verify.js';
import { configFor } from './common.js';
import { UsageError } from '../../core/errors.js';
import type { PipelineConfig } from '../../config/types.js';
import { remoteFromConfig } from '../../store/remote/open.js';
import { collectRemoteGarbage, parseAge } from '../../store/remote/gc.js';
import { LockFile } from '../../store/lockfile.js';

/** `gc --remote --older-than AGE`: what no kept record references, older than AGE, leaves the remote. */
async function remoteGc(config: PipelineConfig, flags: { dryRun?: boolean; olderThan?: string }): Promise<number> {
  const age = flags.olderThan ?? '30d';
  const olderThanMs = parseAge(age);
  if (olderThanMs === undefined) throw new UsageError(`--older-than \`${age}\` is not an age`, 'write a number and a unit: 45s, 90m, 12h, 30d or 2w');
  const remote = remoteFromConfig(config.remote?.url, config.root);
  if (!remote) throw new UsageError('no remote cache is set', 'set PIPELINE_REMOTE or `remote:` in pipeline.yaml');
  const lock = LockFile.load(config.root);
  const keep = new Set(config.stages.map((s) => lock.get(s.name)?.fingerprint).filter((f): f is string => f !== undefined));
  const r = await collectRemoteGarbage(remote, { olderThanMs, keep, dryRun: Boolean(flags.dryRun) });
  for (const refused of r.refused) process.stderr.write(`warning: ${refused}\n`);
  const verb = flags.dryRun ? 'would remove' : 'removed';
  process.stdout.write(
    `${verb} ${r.removedObjects} objects (${(r.freedBytes / 1024 / 1024).toFixed(1)} MiB) and ${r.removedRecords} run records from ${remote.describe()}; ` +
      `kept ${r.keptObjects} objects and ${r.keptRecords} run records (newer than ${age}, or recorded in pipeline.lock)\n`,
  );
  return 0;
}

export async function gcCommand(globals: GlobalOptions, flags: { keepRuns: number; dryRun?: boolean; remote?: boolean; olderThan?: string }): Promise<number> {
  const config = await configFor(globals);
  if (flags.remote) return remoteGc(config, flags);
  if (flags.olderThan !== undefined) throw new UsageError('--older-than applies to `gc --remote`', 'add --remote, or leave --older-than out');
  const lock = await acquireRunLock(config.root, { wait: true, command: 'pipeline gc' });
  try {
    const engine = openEngine(config);
    const r = collectGarbage(engine, flags.keepRuns, Boolean(flags.dryRun));
    const verb = flags.dryRun ? 'would remove' : 'removed';
    process.stdout.write(
      `${verb} ${r.removedObjects} objects (${(r.freedBytes / 1024 / 1024).toFixed(1)} MiB) and ${r.removedRuns} run records; ` +
        `kept ${r.keptObjects} objects of ${r.keptRuns} fingerprints (pipeline.lock and the last ${flags.keepRuns} runs)\n`,
    );
    return 0;
  } finally {
    lock.release();
  }
}

export async function verifyCommand(globals: GlobalOptions, flags: { repair?: boolean; json?: boolean }): Promise<number> {
  const engine = openEngine(await configFor(globals));
  const r = await verifyCache(engine, Boolean(flags.repair));
  const problems = r.corrupt.length + r.dangling.length;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ok: problems === 0, ...r })}\n`);
  } else {
    for (const h of r.corrupt) process.stdout.write(`corrupt object ${h}${flags.repair ? ' (removed)' : ''}\n`);
    for (const d of r.dangling) {
      process.stdout.write(`dangling run record ${d.fingerprint.slice(0, 12)} of \`${d.stage}\`: missing ${d.missing.join(', ')}${flags.repair ? ' (removed)' : ''}\n`);
    }
    process.stdout.write(
      `${r.objects} objects, ${r.runs} run records: ${problems === 0 ? 'all verified' : `${r.corrupt.length} corrupt, ${r.dangling.length} dangling`}\n`,
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
