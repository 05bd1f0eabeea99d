// Executing a plan: stages start as soon as everything they need is done, up to `jobs` at a time. Each stage
// is decided when it becomes ready — on the actual bytes its upstream wrote — so an upstream that re-runs and
// writes the same outputs leaves it fresh. A failure stops new launches (unless --keep-going); an interrupt
// stops them too. Everything the run does is reported as events to one listener (report/ composes several).
import type { Engine } from '../plan/engine.js';
import { ExitCode } from '../core/errors.js';
import type { Selection } from '../graph/graph.js';
import type { Reason } from '../plan/reasons.js';
import { preflight } from './preflight.js';
import { StageExecution, type StageDone } from './stage.js';
import type { RunEvent, RunListener, RunSummary } from './events.js';
import type { StageResult } from './outcome.js';
import type { RemotePuller } from '../store/remote/run-sync.js';
import { localExecutor, localExecutorWith, type Executor } from './executor.js';
import { HostPool } from './pool.js';

export interface RunOptions {
  names: string[];
  mode: Selection;
  force: boolean;
  jobs: number;
  keepGoing: boolean;
  /** Replay the logs of cached stages. */
  verbose: boolean;
  signal: AbortSignal;
  /** `run --pull`: where stages that would run (or lack stored objects) look for a result first. */
  remote?: RemotePuller;
  /** Where stages that must run are executed (default: child processes here). `jobs` bounds them in flight. */
  executor?: Executor;
  /**
   * Module-stage hosts started ahead of need (local execution only), maybe holding one started by the caller
   * already; the run closes it when it ends. Without, a local run makes its own.
   */
  hosts?: HostPool;
}

/** The most hosts kept waiting: one more than --jobs (a chain's next stage finds one ready), at most 8. */
const MAX_WAITING_HOSTS = 8;

const SAVE_INTERVAL_MS = 250;

export async function runPipeline(engine: Engine, options: RunOptions, listener: RunListener): Promise<RunSummary> {
  const base = options.executor ?? localExecutor;
  const hosts = base === localExecutor ? (options.hosts ?? new HostPool(engine.root)) : undefined;
  if (hosts !== options.hosts) options.hosts?.close();
  try {
    return await schedule(engine, { ...options, executor: hosts ? localExecutorWith(hosts) : base }, listener, hosts);
  } finally {
    hosts?.close();
    if (hosts && process.env.PIPELINE_DEBUG) process.stderr.write(`pipeline: ${hosts.started} stage hosts started ahead, ${hosts.taken} of them used\n`);
  }
}

async function schedule(engine: Engine, options: RunOptions, listener: RunListener, hosts: HostPool | undefined): Promise<RunSummary> {
  const startedAt = new Date();
  const started = performance.now();
  const { graph } = engine;
  // Hosts for module stages: one is started when a module stage is about to execute (unless one waits); when it
  // takes its host, up to --jobs + 1 wait for the module stages likely to execute after it (pool.ts). Likely: never
  // run here, forced, or — once a stage of this run executed because a stage it needs changed its outputs — any
  // left. A stage that may run only if its upstream's outputs change gets none before that: most runs after one
  // edit execute one stage, and hosts nobody takes cost CPU the running stage needs.
  const modulesLeft = new Set<string>();
  let propagating = false;
  const likely = (name: string) => propagating || forced.has(name) || engine.lock.get(name) === undefined;
  hosts?.want(() => Math.min(options.jobs + 1, MAX_WAITING_HOSTS, [...modulesLeft].filter(likely).length));
  const emit = (event: RunEvent) => {
    if (hosts && event.type === 'stage-started' && modulesLeft.delete(event.name)) {
      propagating ||= event.reasons.some((r) => r.code === 'upstream-changed');
      hosts.prestart();
    }
    if (event.type === 'stage-finished') modulesLeft.delete(event.result.name);
    listener.event(event);
  };
  // Long loops of the store (restoring, storing, hashing thousands of files) stop when the run is interrupted.
  engine.ws.signal = options.signal;
  const { selected, forced, unselected } = await preflight(engine, options);
  const done = new Map<string, StageDone>();
  for (const [need, outs] of unselected) done.set(need, { result: skipped(need), outs });
  for (const name of selected) if (graph.stage(name).kind === 'module') modulesLeft.add(name);

  // Saving rewrites pipeline.lock and the stat cache whole: space the saves by their own cost, so a run of
  // thousands of short stages does not spend its time rewriting them.
  let lastSave = 0;
  let saveCost = 0;
  const saveSoon = (force = false) => {
    const now = performance.now();
    if (force || now - lastSave > Math.max(SAVE_INTERVAL_MS, 20 * saveCost)) {
      engine.save();
      lastSave = performance.now();
      saveCost = lastSave - now;
    }
  };

  // A ready queue fed by counts of unfinished needs: each stage is looked at once when it becomes ready.
  const order = graph.order.filter((n) => selected.has(n));
  const waiting = new Map<string, number>();
  const ready: string[] = [];
  let next = 0;
  for (const name of order) {
    const count = graph.upstream(name).filter((n) => !done.has(n)).length;
    waiting.set(name, count);
    if (count === 0) ready.push(name);
  }
  const finished = (name: string) => {
    for (const d of graph.downstream(name)) {
      const left = waiting.get(d);
      if (left === undefined) continue; // not selected
      waiting.set(d, left - 1);
      if (left === 1) ready.push(d);
    }
  };
  /** Why a stage cannot run because a stage it needs failed or was blocked (the root cause), if it cannot. */
  const blockedBy = (name: string): Reason[] | undefined => {
    const cause = graph
      .upstream(name)
      .map((n) => done.get(n)?.result)
      .find((r) => r && (r.outcome.kind === 'failed' || r.outcome.kind === 'blocked'));
    if (!cause) return undefined;
    if (cause.outcome.kind === 'blocked') return cause.reasons;
    return [{ code: 'blocked-by', stage: cause.name, gate: Boolean(cause.gate) }];
  };
  const block = (name: string, reasons: Reason[]) => {
    const result: StageResult = { name, outcome: { kind: 'blocked' }, reasons, durationMs: 0 };
    done.set(name, { result });
    emit({ type: 'stage-finished', result });
  };
  const running = new Map<string, Promise<void>>();
  let stopLaunching = false;
  let firstFailure: string | undefined;

  const launch = (name: string) => {
    const stage = graph.stage(name);
    const upstream = new Map(stage.needs.map((n) => [n, done.get(n)?.outs ?? []]));
    const run = new StageExecution(
      engine,
      stage,
      upstream,
      { force: forced.has(name), verbose: options.verbose, signal: options.signal, executor: options.executor!, remote: options.remote },
      emit,
    );
    const task = run
      .execute()
      .then((d) => {
        done.set(name, d);
        if (d.result.outcome.kind === 'failed') {
          firstFailure ??= name;
          if (!options.keepGoing) stopLaunching = true;
        }
        saveSoon();
        finished(name);
      })
      .finally(() => running.delete(name));
    running.set(name, task);
  };

  for (;;) {
    while (next < ready.length) {
      const name = ready[next];
      const why = blockedBy(name);
      if (why !== undefined) {
        next++;
        block(name, why);
        finished(name);
        continue;
      }
      if (stopLaunching || options.signal.aborted || running.size >= options.jobs) break;
      next++;
      launch(name);
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  for (const name of order) {
    if (done.has(name)) continue;
    const notStarted: Reason = options.signal.aborted ? { code: 'interrupted' } : { code: 'not-started', failed: firstFailure! };
    block(name, blockedBy(name) ?? [notStarted]);
  }
  saveSoon(true);

  // Every stage, in run order; those outside the selection are reported as `skipped`.
  const stages = graph.order.map((n) => (selected.has(n) ? done.get(n)!.result : skipped(n)));
  const failed = stages.filter((s) => s.outcome.kind === 'failed');
  let exitCode: number = ExitCode.ok;
  if (options.signal.aborted) exitCode = ExitCode.interrupted;
  else if (failed.some((s) => !s.gate)) exitCode = ExitCode.stageFailed;
  else if (failed.length > 0) exitCode = ExitCode.gateFailed;
  const summary: RunSummary = { ok: exitCode === 0, exitCode, stages, startedAt, durationMs: performance.now() - started };
  emit({ type: 'run-finished', summary });
  return summary;
}

function skipped(name: string): StageResult {
  return { name, outcome: { kind: 'skipped' }, reasons: [{ code: 'not-selected' }], durationMs: 0 };
}
