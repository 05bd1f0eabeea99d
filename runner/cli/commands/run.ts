// `pipeline run`: take the workspace lock and run the plan; the terminal, `--json`, last-run.json and the history
// are listeners on the run's events.
import os from 'node:os';
import path from 'node:path';
import type { GlobalOptions } from '../options.js';
import { openEngine } from '../../plan/engine.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import type { Selection } from '../../graph/graph.js';
import { preview } from '../../plan/preview.js';
import { formatReasons } from '../../plan/reasons.js';
import { reporterFor } from '../../report/progress.js';
import { CombinationListener, HistoryListener, JsonListener, LastRunListener } from '../../report/listeners.js';
import { FreshListener } from '../../report/fresh.js';
import { SCHEMA_VERSION, reasonsJson } from '../../report/json.js';
import { startRunLock } from '../../exec/run-lock.js';
import { runPipeline } from '../../exec/scheduler.js';
import { localExecutor, type Executor, type ExecutorName } from '../../exec/executor.js';
import { configFor, plannedConfigFor } from './common.js';
import { scopeParams } from '../../plan/params.js';
import type { PipelineConfig } from '../../config/types.js';
import { hostsForRun } from '../../exec/pool.js';
import { Cache, defaultCacheDir } from '../../store/cache.js';
import { openLease } from '../../store/uses.js';
import { openRunRemote, pushRunResults, reportRunRemote } from './run-remote.js';

export interface RunFlags {
  force?: boolean;
  single?: boolean;
  downstream?: boolean;
  dryRun?: boolean;
  jobs?: number;
  set: string[];
  keepGoing?: boolean;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  wait: boolean;
  /** undefined: as `remote:` in pipeline.yaml says. */
  pull?: boolean;
  push?: boolean;
  executor?: ExecutorName;
  update?: boolean;
}

function selectionOf(flags: RunFlags): Selection {
  if (flags.single && flags.downstream) throw new UsageError('--single and --downstream cannot be combined', 'choose one');
  return flags.single ? 'single' : flags.downstream ? 'downstream' : 'needs';
}

export async function runCommand(globals: GlobalOptions, names: string[], flags: RunFlags): Promise<number> {
  const mode = selectionOf(flags);
  if ((flags.single || flags.downstream) && names.length === 0) {
    throw new UsageError(`--${flags.single ? 'single' : 'downstream'} needs at least one stage name`, 'e.g. pipeline run train --single');
  }
  const out = flags.json ? process.stderr : process.stdout;
  if (flags.dryRun) return dryRun(await plannedConfigFor(globals, flags.set, { readOnly: true }), names, mode, flags, out);

  // A module stage's host starts while the config loads and the run plans when a stage is likely to execute.
  const early = globals.config || flags.executor === 'slurm' ? undefined : hostsForRun(path.resolve(globals.cwd), JSON.stringify([flags.set, names, mode, Boolean(flags.force)]));

  // The run lock's first attempt (a `flock` process) runs while the params are checked against the stages' schemas.
  const loaded = await configFor(globals, flags.set);
  const command = `pipeline run ${names.join(' ')}`.trim();
  const attempt = startRunLock(loaded.root, command);
  let config: PipelineConfig;
  try {
    config = await scopeParams(loaded);
  } catch (err) {
    await attempt.abandon();
    throw err;
  }
  const lock = await attempt.acquire({
    wait: flags.wait,
    command,
    onWait: (h) => process.stderr.write(`waiting for another run of this workspace to finish (pid ${h.pid}, started ${h.started})…\n`),
  });
  early?.remember();
  const lease = openLease(new Cache(defaultCacheDir(config.root)), config.root);
  // The host started early serves module stages run here, from the workspace's root; otherwise the run makes its
  // own pool when it runs stages locally (runPipeline).
  const executorName = flags.executor ?? config.executor ?? 'local';
  const local = executorName === 'local' && config.stages.some((s) => s.kind === 'module');
  const hosts = local && early?.root === config.root ? early : undefined;
  if (early !== hosts) early?.close();
  const controller = new AbortController();
  let executor: Executor = localExecutor;
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      executor.abandon?.();
      process.exit(ExitCode.interrupted);
    }
    process.stderr.write(`\n${signal}: stopping running ${executor.name === 'slurm' ? 'stages (cancelling their Slurm jobs)' : 'stages'} (again to quit at once)…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    if (executorName === 'slurm') {
      const { SlurmExecutor } = await import('../../exec/slurm.js');
      executor = await SlurmExecutor.open();
    }
    const engine = openEngine(config);
    const remote = openRunRemote(engine, flags, controller.signal);
    if (flags.update) {
      const { updateUrls } = await import('./update.js');
      await updateUrls(engine, names, out);
    }
    const terminal = await reporterFor(out, engine.graph.order, { showOutput: !flags.quiet });
    const history = new HistoryListener(engine);
    // Only a plain local run is answered again from the fresh record: no --json, --verbose, --force or remote.
    const plain = !flags.json && !flags.verbose && !flags.force && !flags.update && !remote && executor.name === 'local';
    const fresh = globals.fresh && plain ? new FreshListener(engine, out, !flags.quiet, history) : undefined;
    const listener = new CombinationListener([
      new LastRunListener(engine),
      history,
      terminal,
      ...(flags.json ? [new JsonListener(process.stdout)] : []),
      ...(fresh ? [fresh] : []),
    ]);
    try {
      const summary = await runPipeline(
        engine,
        {
          names,
          mode,
          force: Boolean(flags.force),
          jobs: flags.jobs ?? os.availableParallelism(),
          keepGoing: Boolean(flags.keepGoing),
          verbose: Boolean(flags.verbose),
          signal: controller.signal,
          executor,
          hosts,
          remote: remote?.pull ? remote.run : undefined,
        },
        listener,
      );
      if (remote?.push && !controller.signal.aborted) await pushRunResults(engine, remote.run, summary);
      if (remote) reportRunRemote(remote.run);
      const answer = fresh?.answer();
      if (answer && !controller.signal.aborted) globals.fresh?.certify(engine.root, answer);
      return summary.exitCode;
    } catch (err) {
      // Interrupted before any stage began (restoring the outs of unselected stages): nothing was recorded.
      if (controller.signal.aborted) return ExitCode.interrupted;
      throw err;
    } finally {
      listener.close();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    hosts?.close();
    lease.release();
    lock.release();
  }
}

/** `run --dry-run`: the plan and the reasons, written nowhere. */
async function dryRun(config: PipelineConfig, names: string[], mode: Selection, flags: RunFlags, out: NodeJS.WritableStream): Promise<number> {
  const engine = openEngine(config);
  const plan = await preview(engine, { names, mode, force: Boolean(flags.force) });
  if (flags.json) {
    const stages = plan.map(({ name, action, reasons, fingerprint }) => ({ name, action, reasons: reasonsJson(reasons), fingerprint }));
    process.stdout.write(`${JSON.stringify({ schemaVersion: SCHEMA_VERSION, dryRun: true, stages })}\n`);
  } else {
    const width = Math.max(8, ...plan.map((p) => p.name.length));
    const words = { fresh: 'fresh', restore: 'restore', run: 'run', maybe: 'maybe', skipped: 'skip' } as const;
    for (const p of plan) out.write(`${p.name.padEnd(width)}  ${words[p.action].padEnd(7)}  ${formatReasons(p.reasons)}\n`);
    const count = (a: string) => plan.filter((p) => p.action === a).length;
    out.write(`dry run: ${count('run')} to run, ${count('maybe')} maybe, ${count('restore')} to restore, ${count('fresh')} fresh; nothing was executed or written\n`);
  }
  return ExitCode.ok;
}
