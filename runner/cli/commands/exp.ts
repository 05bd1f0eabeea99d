// `pipeline exp run|show|diff|remove`: experiments — sweeps over params run in scratch copies of the workspace
// (exp/sweep.ts), each recorded under .pipeline/experiments/ (store/experiments.ts), and the table of them.
import os from 'node:os';
import type { GlobalOptions } from '../options.js';
import { UsageError } from '../../core/errors.js';
import { Session } from '../session.js';
import { configFor, uninterpolatedConfigFor } from './common.js';
import { openEngine } from '../../plan/engine.js';
import { localExecutor } from '../../exec/executors.js';
import { hasExperiment, listExperiments, recordExperimentRoots, removeExperiment, writeExperiment, EXPERIMENT_SCHEMA_VERSION } from '../../store/experiments.js';
import { gitCommit, planVariants } from '../exp/variants.js';
import { runSweep, sharedBudget } from '../exp/sweep.js';
import { sweepProgressFor } from '../../report/sweep-progress.js';

export interface ExpRunFlags {
  set: string[];
  grid: string[];
  name?: string;
  jobs?: number;
  json?: boolean;
  force?: boolean;
  wait: boolean;
}

export async function expRunCommand(globals: GlobalOptions, flags: ExpRunFlags): Promise<number> {
  const session = await Session.open(globals, { command: 'pipeline exp run', wait: flags.wait });
  try {
    const out = flags.json ? process.stderr : process.stdout;
    const variants = await planVariants(await uninterpolatedConfigFor(globals), flags.set, flags.grid, flags.name);
    const root = session.config.root;
    const taken = variants.filter((v) => hasExperiment(root, v.name)).map((v) => v.name);
    if (taken.length > 0 && !flags.force) {
      throw new UsageError(`experiment ${taken.map((n) => `\`${n}\``).join(', ')} already recorded`, 'choose another --name, remove it (`pipeline exp remove NAME`), or replace it with --force');
    }
    await session.acquireWorkspace();
    const workspace = openEngine(session.config);
    const jobs = flags.jobs ?? os.availableParallelism();
    out.write(`exp: ${variants.length} variant${variants.length === 1 ? '' : 's'}, --jobs ${jobs}\n`);
    const progress = await sweepProgressFor(out, variants.length);
    const result = await runSweep(
      {
        workspace,
        jobs,
        signal: session.signal,
        executor: sharedBudget(localExecutor(), jobs),
        commit: gitCommit(root),
        progress,
        recorded: (record) => writeExperiment(root, record),
      },
      variants,
    ).finally(() => progress.close());
    recordExperimentRoots(root);
    const failed = result.records.filter((r) => r.status === 'failed').length;
    out.write(`exp: ${result.records.length - failed} ok, ${failed} failed; ${result.executions} stage executions for ${result.stageRuns} stages in ${result.records.length} variants; \`pipeline exp show\` compares them\n`);
    if (flags.json) process.stdout.write(`${JSON.stringify({ schemaVersion: EXPERIMENT_SCHEMA_VERSION, executions: result.executions, experiments: result.records })}\n`);
    return result.exitCode;
  } finally {
    session.close();
  }
}

export async function expRemoveCommand(globals: GlobalOptions, names: string[], flags: { all?: boolean }): Promise<number> {
  const { root } = await configFor(globals);
  if (flags.all && names.length > 0) throw new UsageError('--all and experiment names cannot be combined', 'name experiments, or use --all alone');
  if (!flags.all && names.length === 0) throw new UsageError('name the experiments to remove, or use --all', 'e.g. pipeline exp remove exp-1a2b3c4d');
  const doomed = flags.all ? listExperiments(root).records.map((r) => r.name) : names;
  for (const n of doomed) if (!hasExperiment(root, n)) removeExperiment(root, n); // names the missing one
  for (const n of doomed) removeExperiment(root, n);
  recordExperimentRoots(root);
  process.stdout.write(`removed ${doomed.length} experiment${doomed.length === 1 ? '' : 's'}${doomed.length > 0 ? `: ${doomed.join(' ')}` : ''}\n`);
  return 0;
}

