// `pipeline exp push [NAME…]` and `pipeline exp pull [NAME…]`: experiments through the remote cache, so a teammate
// sees and applies them. An experiment is a JSON object under an `ac` key made from its name alone, signed like a
// run record when PIPELINE_REMOTE_SIGNING_KEY is set; which names a remote holds is its listing where it has one,
// and an index merged by every push and pull (store/remote/experiments.ts). A push also uploads each stage's result (objects and run record), so a pull brings what
// `exp apply` restores. A pulled record whose signature does not verify with this command's key (unsigned, another
// key, or no key here) is kept and shown, marked `pulled: {signed: false}`: `exp apply` runs its stages instead of
// restoring them, and its stage results are not fetched.
import { UsageError } from '../../core/errors.js';
import { printable } from '../../core/printable.js';
import type { GlobalOptions } from '../options.js';
import { configFor } from './common.js';
import { openEngine } from '../../plan/engine.js';
import { remoteFromConfig } from '../../store/remote/open.js';
import { RemoteSync, emptyStats, recordFromLock } from '../../store/remote/transfer.js';
import { checkExperimentName, experimentProblem, hasExperiment, listExperiments, readExperiment, recordExperimentRoots, writeExperiment, type ExperimentRecord } from '../../store/experiments.js';
import { addToIndex, getExperiment, putExperiment, remoteExperimentNames, removeFromRemote } from '../../store/remote/experiments.js';
import { interruptible } from '../interrupts.js';
import { endsOnInterrupt, noticesOnStderr } from './maintenance.js';

async function openRemote(globals: GlobalOptions, signal: AbortSignal) {
  const config = await configFor(globals);
  const remote = remoteFromConfig(config.remote?.url, config.root, process.env, signal);
  if (!remote) throw new UsageError('no remote cache is set', 'set PIPELINE_REMOTE (s3://bucket/prefix, http(s)://host/prefix, or a folder), or `remote:` in pipeline.yaml');
  return { config, remote };
}

export async function expPushCommand(globals: GlobalOptions, names: string[]): Promise<number> {
  return interruptible(noticesOnStderr, (signal) =>
    endsOnInterrupt(signal, async () => {
      const { config, remote } = await openRemote(globals, signal);
      const records = names.length > 0 ? names.map((n) => readExperiment(config.root, n)) : listExperiments(config.root).records;
      const engine = openEngine(config);
      const sync = new RemoteSync(remote, engine.cache, {});
      const stats = emptyStats();
      for (const record of records) {
        for (const s of record.stages) {
          if (!s.fingerprint || s.outs.length === 0) continue;
          await sync.pushResult(engine.cache.readRun(s.fingerprint) ?? recordFromLock(s.name, s.fingerprint, s.outs), stats);
        }
        const { pulled: _, ...own } = record;
        await putExperiment(remote, own);
      }
      await addToIndex(remote, records.map((r) => r.name));
      for (const m of [...stats.refused, ...stats.missing]) process.stderr.write(`error: ${m}\n`);
      process.stdout.write(`pushed ${records.length} experiment(s), ${stats.objects} objects and ${stats.records} run records to ${remote.describe()}${remote.signing ? ' (signed)' : ' (unsigned: PIPELINE_REMOTE_SIGNING_KEY is not set)'}\n`);
      return stats.refused.length + stats.missing.length > 0 ? 1 : 0;
    }),
  );
}

export async function expPullCommand(globals: GlobalOptions, names: string[], flags: { force?: boolean }): Promise<number> {
  return interruptible(noticesOnStderr, (signal) =>
    endsOnInterrupt(signal, async () => {
      const { config, remote } = await openRemote(globals, signal);
      const listed = names.length > 0 ? { names, problems: [] } : await remoteExperimentNames(remote);
      const wanted = listed.names;
      const engine = openEngine(config);
      const sync = new RemoteSync(remote, engine.cache, {});
      const stats = emptyStats();
      let pulled = 0;
      let problems = listed.problems.length;
      for (const p of listed.problems) process.stderr.write(`error: ${printable(p)}\n`);
      for (const name of wanted) {
        const what = `experiment \`${name}\` on ${remote.describe()}`;
        const got = await getExperiment(remote, name);
        const problem = got ? experimentProblem(got.value) : 'not there';
        if (!got || problem || got.value.name !== name) {
          process.stderr.write(`error: ${what}: ${printable(problem ?? 'it names another experiment')}\n`);
          problems++;
          continue;
        }
        if (hasExperiment(config.root, name) && !flags.force) {
          process.stderr.write(`note: \`${name}\` is already recorded here: kept (--force replaces it)\n`);
          continue;
        }
        const record = { ...(got.value as unknown as ExperimentRecord), pulled: { signed: got.signed } };
        if (got.signed) {
          for (const s of record.stages) {
            if (!s.fingerprint || s.outs.length === 0) continue;
            const got = await sync.pullResult(s.fingerprint, s.name, stats, { trusted: { outs: s.outs, from: `experiment ${name}` }, requireRecord: false });
            // The signed experiment vouches for these outs: the local run record is made from it, as `pull` makes one from pipeline.lock.
            if (got && !engine.cache.hasRun(s.fingerprint)) engine.cache.writeRun(recordFromLock(s.name, s.fingerprint, s.outs, got.signed ? got.record.log : undefined));
          }
        }
        writeExperiment(config.root, record);
        pulled++;
        if (!got.signed) process.stderr.write(`note: \`${name}\` is not signed with this key: shown, and \`exp apply\` runs its stages instead of restoring them\n`);
      }
      if (pulled > 0) recordExperimentRoots(config.root);
      for (const m of [...stats.refused, ...stats.missing]) process.stderr.write(`error: ${m}\n`);
      process.stdout.write(`pulled ${pulled} experiment(s), ${stats.objects} objects from ${remote.describe()}\n`);
      return problems + stats.refused.length + stats.missing.length > 0 ? 1 : 0;
    }),
  );
}

/** `exp remove --remote NAME… | --all`: experiments leave the remote (not this workspace); none if one is not there. */
export async function expRemoveRemoteCommand(globals: GlobalOptions, names: string[], flags: { all?: boolean }): Promise<number> {
  if (flags.all && names.length > 0) throw new UsageError('--all and experiment names cannot be combined', 'name experiments, or use --all alone');
  if (!flags.all && names.length === 0) throw new UsageError('name the experiments to remove from the remote, or use --all', 'e.g. pipeline exp remove --remote exp-1a2b3c4d');
  return interruptible(noticesOnStderr, (signal) =>
    endsOnInterrupt(signal, async () => {
      const { remote } = await openRemote(globals, signal);
      let doomed = names.map(checkExperimentName);
      if (flags.all) {
        const listed = await remoteExperimentNames(remote);
        for (const p of listed.problems) process.stderr.write(`warning: ${printable(p)} (left there)\n`);
        doomed = listed.names;
      }
      const { missing } = await removeFromRemote(remote, doomed);
      if (missing.length > 0) {
        for (const n of missing) process.stderr.write(`error: experiment \`${printable(n)}\` is not on ${remote.describe()}; nothing was removed\n`);
        process.stderr.write('  `pipeline exp pull` lists what the remote holds (`exp show` after it)\n');
        return 1;
      }
      process.stdout.write(`removed ${doomed.length} experiment(s) from ${remote.describe()}${doomed.length > 0 ? `: ${doomed.join(' ')}` : ''}; their stage results go with \`gc --remote\` once nothing else names them\n`);
      return 0;
    }),
  );
}
