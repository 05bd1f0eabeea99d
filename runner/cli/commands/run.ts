// `pipeline run`: a session (session.ts) takes the workspace and runs the plan; the terminal, `--json`,
// last-run.json and the history are listeners on the run's events. `run --dry-run` plans and writes nothing.
import os from 'node:os';
import type { GlobalOptions } from '../options.js';
import { openEngineWarned } from './warnings.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import type { Selection } from '../../graph/graph.js';
import { preview } from '../../plan/preview.js';
import { formatReasons } from '../../plan/reasons.js';
import { SCHEMA_VERSION, reasonsJson } from '../../report/json.js';
import type { ExecutorName } from '../../exec/executor.js';
import type { SlurmMode } from '../../exec/executors.js';
import { plannedConfigFor } from './common.js';
import type { PipelineConfig } from '../../config/types.js';
import { openRunRemote } from './run-remote.js';
import { Session } from '../session.js';
import { ignoreOuts } from '../gitignore.js';

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
  slurmMode?: SlurmMode;
  slurmGroupChains?: boolean;
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
  if (flags.slurmMode && flags.executor === 'local') throw new UsageError('--slurm-mode applies to the slurm executor, not to `--executor local`', 'leave out one of them');
  if (flags.slurmGroupChains && (flags.executor === 'local' || flags.slurmMode === 'steps'))
    throw new UsageError('--slurm-group-chains groups stages into batch jobs: it applies to the slurm executor in job mode only', 'leave out `--executor local` / `--slurm-mode steps`, or the flag');
  if (flags.dryRun) return dryRun(await plannedConfigFor(globals, flags.set, { readOnly: true }), names, mode, flags, flags.json ? process.stderr : process.stdout);
  const session = await Session.open(globals, {
    command: `pipeline run ${names.join(' ')}`.trim(),
    wait: flags.wait,
    sets: flags.set,
    runs: {
      json: flags.json,
      quiet: flags.quiet,
      executor: flags.executor,
      slurmMode: flags.slurmMode,
      groupChains: flags.slurmGroupChains,
      earlyHosts: JSON.stringify([flags.set, names, mode, Boolean(flags.force)]),
    },
  });
  try {
    await session.acquireWorkspace();
    const engine = session.openEngine();
    const remote = await openRunRemote(engine, flags, session.signal);
    if (flags.update) {
      const { updateUrls } = await import('./update.js');
      await updateUrls(engine, names, session.out, (message, c) =>
        session.emit(
          c?.result === 'unreachable'
            ? { type: 'warning', warning: { code: 'url-unreachable', url: c.url, message } }
            : { type: 'url-check', ...(c ? { url: c.url } : {}), result: c?.result ?? 'none', message },
        ),
      );
    }
    // Only a plain local run is answered again from the fresh record: no --json, --verbose, --force or remote.
    const plain = !flags.json && !flags.verbose && !flags.force && !flags.update && !remote && session.executorName() === 'local';
    const { exitCode, summary } = await session.run(engine, {
      names,
      mode,
      force: Boolean(flags.force),
      jobs: flags.jobs ?? os.availableParallelism(),
      keepGoing: Boolean(flags.keepGoing),
      verbose: Boolean(flags.verbose),
      remote,
      fresh: plain,
    });
    const ignored = ignoreOuts(engine.config, summary);
    if (ignored.length > 0 && !flags.quiet) (flags.json ? process.stderr : session.out).write(`added to .gitignore: ${ignored.join(' ')}\n`);
    return exitCode;
  } finally {
    session.close();
  }
}

/** `run --dry-run`: the plan and the reasons, written nowhere. */
async function dryRun(config: PipelineConfig, names: string[], mode: Selection, flags: RunFlags, out: NodeJS.WritableStream): Promise<number> {
  const engine = openEngineWarned(config);
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
