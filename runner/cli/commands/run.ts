// `pipeline run`: take the workspace lock, run the plan, record the run (last-run.json, history), report.
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../core/atomic.js';
import type { GlobalOptions } from '../main.js';
import { dagJson } from '../../graph/draw.js';
import { openEngine } from '../../plan/engine.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import type { Selection } from '../../graph/graph.js';
import { appendHistory } from '../../report/history.js';
import { collectMetrics } from '../../report/metrics.js';
import { preview } from '../../plan/preview.js';
import { formatDuration, reporterFor } from '../../report/progress.js';
import { acquireRunLock } from '../../exec/run-lock.js';
import { runPipeline } from '../../exec/run.js';
import { configFor } from './common.js';
import { Cache, defaultCacheDir } from '../../store/cache.js';
import { openLease } from '../../store/uses.js';

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
  const config = await configFor(globals, flags.set, { readOnly: flags.dryRun });
  const out = flags.json ? process.stderr : process.stdout;

  if (flags.dryRun) {
    const engine = openEngine(config);
    const plan = await preview(engine, { names, mode, force: Boolean(flags.force) });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ dryRun: true, stages: plan.map(({ name, action, reasons, fingerprint }) => ({ name, action, reasons, fingerprint })) })}\n`);
    } else {
      const width = Math.max(8, ...plan.map((p) => p.name.length));
      const words = { fresh: 'fresh', restore: 'restore', run: 'run', maybe: 'maybe', skipped: 'skip' } as const;
      for (const p of plan) out.write(`${p.name.padEnd(width)}  ${words[p.action].padEnd(7)}  ${p.reasons.join('; ')}\n`);
      const count = (a: string) => plan.filter((p) => p.action === a).length;
      out.write(`dry run: ${count('run')} to run, ${count('maybe')} maybe, ${count('restore')} to restore, ${count('fresh')} fresh; nothing was executed or written\n`);
    }
    return ExitCode.ok;
  }

  const lock = await acquireRunLock(config.root, {
    wait: flags.wait,
    command: `pipeline run ${names.join(' ')}`.trim(),
    onWait: (h) => process.stderr.write(`waiting for another run of this workspace to finish (pid ${h.pid}, started ${h.started})…\n`),
  });
  const lease = openLease(new Cache(defaultCacheDir(config.root)), config.root);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.interrupted);
    process.stderr.write(`\n${signal}: stopping running stages (again to quit at once)…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const startedAt = new Date();
    const engine = openEngine(config);
    const reporter = await reporterFor(out, engine.graph.order, { showOutput: !flags.quiet });
    let summary;
    try {
      summary = await runPipeline(
        engine,
        {
          names,
          mode,
          force: Boolean(flags.force),
          jobs: flags.jobs ?? os.availableParallelism(),
          keepGoing: Boolean(flags.keepGoing),
          verbose: Boolean(flags.verbose),
          signal: controller.signal,
        },
        reporter,
      );
    } finally {
      reporter.close?.();
    }
    const record = {
      ok: summary.ok,
      exitCode: summary.exitCode,
      stages: summary.stages.map(({ name, status, reason, durationMs, fingerprint }) => ({
        name,
        status,
        reason,
        durationMs: Math.round(durationMs),
        fingerprint: fingerprint ?? null,
      })),
    };
    writeFileAtomic(
      path.join(engine.stateDir, 'last-run.json'),
      JSON.stringify({ ...record, startedAt: startedAt.toISOString(), durationMs: Math.round(summary.durationMs), dag: dagJson(engine.graph) }, null, 2),
    );
    appendHistory(engine, startedAt, summary, collectMetrics(engine));

    const count = (s: string) => summary.stages.filter((x) => x.status === s).length;
    const failedGate = summary.stages.find((s) => s.status === 'failed' && s.gate);
    if (failedGate && summary.exitCode === ExitCode.gateFailed) out.write(`gate \`${failedGate.name}\` failed: ${failedGate.reason}\n`);
    out.write(
      `${summary.stages.length} stages: ${count('ran')} ran, ${count('cached')} cached, ${count('failed')} failed, ${count('blocked')} blocked${count('skipped') > 0 ? `, ${count('skipped')} skipped` : ''}` +
        ` (${formatDuration(summary.durationMs)})${summary.exitCode === ExitCode.interrupted ? ' — interrupted' : ''}\n`,
    );
    if (flags.json) process.stdout.write(`${JSON.stringify(record)}\n`);
    return summary.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    lease.release();
    lock.release();
  }
}
