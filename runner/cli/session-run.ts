// One run of a session (session.ts): the plan over one engine with the session's executor, its listeners and the
// workspace's records, then what follows the stages — the remote's upload and what it moved — and the run's end.
// Errors before any stage began are the command line's or the config's (exit 2); once stages began, a failure that
// no stage's outcome carries (pipeline.lock, last-run.json or the history cannot be written) is one during the run
// (exit 1); an interrupted run exits 130.
import { ExitCode } from '../core/errors.js';
import type { Engine } from '../plan/engine.js';
import type { Emit, RunEvent, RunListener, RunSummary } from '../exec/events.js';
import type { OpenedExecutor } from '../exec/executors.js';
import { duringRun } from '../exec/failure.js';
import { runStages, type RunOptions } from '../exec/scheduler.js';
import { StageTracker } from '../exec/tracker.js';
import { openLease } from '../store/uses.js';
import { CombinationListener, HistoryListener, LastRunListener } from '../report/listeners.js';
import { FreshListener, type FreshRecorder } from '../report/fresh.js';
import { dropFreshRecord } from '../exec/fresh-record.js';
import { pushRunResults, remoteNotices, type RunRemoteChoice } from './commands/run-remote.js';

/** What one run does: which stages, how, with which remote. */
export interface RunRequest extends Pick<RunOptions, 'names' | 'mode' | 'force' | 'jobs' | 'keepGoing' | 'verbose'> {
  /** `run --pull/--push`: the remote the run takes results from and uploads them to. */
  remote?: RunRemoteChoice;
  /** Have the fresh record answer this run again when it finds everything fresh (a plain `pipeline run`). */
  fresh?: boolean;
}

/** What a run takes from its session. */
export interface RunContext {
  /** Tripped by Ctrl-C. */
  signal: AbortSignal;
  /** Where progress goes, and the session's listeners (the terminal, `--json`). */
  out: NodeJS.WriteStream;
  listeners: readonly RunListener[];
  quiet: boolean;
  /** The fresh record's writer (bin/fresh.js), for a plain `run`. */
  fresh?: FreshRecorder;
}

export async function runOnce(ctx: RunContext, engine: Engine, opened: OpenedExecutor, request: RunRequest): Promise<{ exitCode: number; summary?: RunSummary }> {
  const { signal } = ctx;
  const history = new HistoryListener(engine);
  const fresh = request.fresh && ctx.fresh ? new FreshListener(engine, ctx.out, !ctx.quiet, history) : undefined;
  // The workspace's records first: a record that cannot be written ends the run before the terminal says it ended.
  const listeners = new CombinationListener([new LastRunListener(engine), history, ...ctx.listeners, ...(fresh ? [fresh] : [])]);
  const tracker = new StageTracker();
  const record: Emit = (event) => listeners.event(event);
  const emit: Emit = (event) => {
    tracker.check(event);
    record(event);
  };
  const lease = openLease(engine.cache, engine.root);
  try {
    const { executor, hosts } = opened;
    const remote = request.remote?.pull ? request.remote.run : undefined;
    let summary: RunSummary;
    try {
      summary = await runStages(engine, { ...request, signal, executor, hosts, remote }, record, tracker);
      await afterStages(engine, summary, request, opened, signal, emit);
    } finally {
      // Whatever a stage wrote there during the run is not the runner's: no record outlives a run unless written next.
      dropFreshRecord(engine.root);
    }
    if (fresh) ctx.fresh?.decided(fresh.stages());
    const answer = fresh?.answer();
    if (answer && !signal.aborted) ctx.fresh?.certify(engine.root, answer);
    return { exitCode: summary.exitCode, summary };
  } catch (err) {
    // Interrupted before any stage began (restoring the outs of unselected stages): nothing was recorded.
    if (signal.aborted) return { exitCode: ExitCode.interrupted };
    throw err;
  } finally {
    lease.release();
  }
}

/** The remote's upload and what it moved, the hosts used (PIPELINE_DEBUG), then the run's end. */
async function afterStages(engine: Engine, summary: RunSummary, request: RunRequest, opened: OpenedExecutor, signal: AbortSignal, emit: Emit): Promise<void> {
  const said: RunEvent[] = [];
  try {
    const { remote } = request;
    if (remote?.push && !signal.aborted) await pushRunResults(engine, remote.run, summary);
    if (remote) said.push(...remoteNotices(remote.run));
    if (opened.hosts && process.env.PIPELINE_DEBUG) said.push({ type: 'hosts', started: opened.hosts.started, taken: opened.hosts.taken });
    for (const event of said) emit(event);
    emit({ type: 'run-finished', summary });
  } catch (err) {
    throw duringRun(err);
  }
}
