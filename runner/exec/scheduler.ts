// Executing a plan: stages start as soon as everything they need is done, up to `jobs` at a time. Each stage
// is decided when it becomes ready — on the actual bytes its upstream wrote — so an upstream that re-runs and
// writes the same outputs leaves it fresh. A failure stops new launches (unless --keep-going); an interrupt
// stops them too. Everything is reported as events through a tracker that lets each stage finish once; the run's
// end (`run-finished`) is the session's to say, after what follows the stages (the remote's upload).
import type { Engine } from '../plan/engine.js';
import { ExitCode } from '../core/errors.js';
import type { Selection } from '../graph/graph.js';
import type { Reason } from '../plan/reasons.js';
import { preflight } from './preflight.js';
import { StageExecution, type StageDone } from './stage.js';
import type { Emit, RunEvent, RunSummary } from './events.js';
import type { StageResult } from './outcome.js';
import type { RemotePuller } from '../store/remote/run-sync.js';
import type { Executor } from './executor.js';
import type { HostPool } from './pool.js';
import { duringRun } from './failure.js';
import { StageTracker } from './tracker.js';
import type { Flights } from './flights.js';
import { monotonicMs } from '../core/clock.js';

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
  /** Where stages that must run are executed. `jobs` bounds them in flight. */
  executor: Executor;
  /** The module-stage hosts the executor takes from (local execution): kept warm while module stages are likely to run. */
  hosts?: HostPool;
  /** One execution per fingerprint across the plans of a sweep (and their count). */
  flights?: Flights;
}

/** The most hosts kept waiting: one more than --jobs (a chain's next stage finds one ready), at most 8. */
const MAX_WAITING_HOSTS = 8;

const SAVE_INTERVAL_MS = 250;

/**
 * Run the selected stages of a plan and return the summary. What the checks before anything runs refuse is thrown as
 * it is (exit 2, nothing ran); an error once stages began ends the run as a failure during it (exit 1, `duringRun`).
 */
export async function runStages(engine: Engine, options: RunOptions, emit: Emit, tracker = new StageTracker()): Promise<RunSummary> {
  const scheduler = new Scheduler(engine, options, emit, tracker);
  await scheduler.prepare();
  try {
    return await scheduler.run();
  } catch (err) {
    throw duringRun(err);
  }
}

class Scheduler {
  private readonly startedAt = new Date();
  private readonly started = monotonicMs();
  private readonly done = new Map<string, StageDone>();
  private selected = new Set<string>();
  private forced = new Set<string>();
  private order: string[] = [];
  /** Unfinished needs of each selected stage; the ready queue and how far it was looked at. */
  private readonly waiting = new Map<string, number>();
  private readonly ready: string[] = [];
  private next = 0;
  private readonly running = new Map<string, Promise<void>>();
  private stopLaunching = false;
  private firstFailure: string | undefined;
  /** An error that ends the run once the stages still running have finished (pipeline.lock cannot be written). */
  private fatal: { error: unknown } | undefined;
  private readonly modulesLeft = new Set<string>();
  private propagating = false;
  private lastSave = 0;
  private saveCost = 0;

  constructor(
    private readonly engine: Engine,
    private readonly options: RunOptions,
    private readonly listener: Emit,
    private readonly tracker: StageTracker,
  ) {}

  /** The checks before anything runs, the selection, the ready queue; the hosts told how many module stages may run. */
  async prepare(): Promise<void> {
    const { engine, options } = this;
    // Long loops of the store (restoring, storing, hashing thousands of files) stop when the run is interrupted.
    engine.ws.signal = options.signal;
    const { selected, forced, unselected } = await preflight(engine, options);
    this.selected = selected;
    this.forced = forced;
    for (const [need, outs] of unselected) this.done.set(need, { result: skipped(need), outs });
    for (const name of selected) if (engine.graph.stage(name).kind === 'module') this.modulesLeft.add(name);
    this.watchHosts();
    this.order = engine.graph.order.filter((n) => selected.has(n));
    for (const name of this.order) {
      const count = engine.graph.upstream(name).filter((n) => !this.done.has(n)).length;
      this.waiting.set(name, count);
      if (count === 0) this.ready.push(name);
    }
  }

  /**
   * Hosts for module stages: one is started when a module stage is about to execute (unless one waits); when it
   * takes its host, up to --jobs + 1 wait for the module stages likely to execute after it (pool.ts). Likely: never
   * run here, forced, or — once a stage of this run executed because a stage it needs changed its outputs — any
   * left. A stage that may run only if its upstream's outputs change gets none before that: most runs after one
   * edit execute one stage, and hosts nobody takes cost CPU the running stage needs.
   */
  private watchHosts(): void {
    const likely = (name: string) => this.propagating || this.forced.has(name) || this.engine.lock.get(name) === undefined;
    this.options.hosts?.want(() => Math.min(this.options.jobs + 1, MAX_WAITING_HOSTS, [...this.modulesLeft].filter(likely).length));
  }

  private emit(event: RunEvent): void {
    this.tracker.check(event);
    const { hosts } = this.options;
    if (hosts && event.type === 'stage-started' && this.modulesLeft.delete(event.name)) {
      this.propagating ||= event.reasons.some((r) => r.code === 'upstream-changed');
      hosts.prestart();
    }
    // A module stage executed again takes a host as its first attempt did: one waiting, or one started for it.
    if (hosts && event.type === 'stage-retry' && this.engine.graph.stage(event.name).kind === 'module') hosts.prestart();
    if (event.type === 'stage-finished') this.modulesLeft.delete(event.result.name);
    this.listener(event);
  }

  async run(): Promise<RunSummary> {
    const { options } = this;
    for (;;) {
      while (this.next < this.ready.length) {
        const name = this.ready[this.next];
        const why = this.blockedBy(name);
        if (why !== undefined) {
          this.next++;
          this.block(name, why);
          continue;
        }
        if (this.stopLaunching || options.signal.aborted || this.running.size >= options.jobs) break;
        this.next++;
        this.launch(name);
      }
      if (this.running.size === 0) break;
      await Promise.race(this.running.values());
    }
    if (this.fatal) throw this.fatal.error;
    for (const name of this.order) {
      if (this.done.has(name)) continue;
      const notStarted: Reason = options.signal.aborted ? { code: 'interrupted' } : { code: 'not-started', failed: this.firstFailure! };
      this.block(name, this.blockedBy(name) ?? [notStarted]);
    }
    this.saveSoon(true);
    return this.summary();
  }

  private launch(name: string): void {
    const { engine, options } = this;
    const stage = engine.graph.stage(name);
    const upstream = new Map(stage.needs.map((n) => [n, this.done.get(n)?.outs ?? []]));
    const run = new StageExecution(
      engine,
      stage,
      upstream,
      { force: this.forced.has(name), verbose: options.verbose, signal: options.signal, executor: options.executor, remote: options.remote, flights: options.flights },
      (event) => this.emit(event),
    );
    const task = run
      .execute()
      .then((d) => this.settled(name, d))
      .catch((error: unknown) => this.stop(error))
      .finally(() => this.running.delete(name));
    this.running.set(name, task);
  }

  private settled(name: string, d: StageDone): void {
    this.done.set(name, d);
    if (d.result.outcome.kind === 'failed') {
      this.firstFailure ??= name;
      if (!this.options.keepGoing) this.stopLaunching = true;
    }
    this.saveSoon();
    this.finished(name);
  }

  /** An error no stage's outcome can carry: no more launches, and the run ends with it once the running stages ended. */
  private stop(error: unknown): void {
    this.fatal ??= { error };
    this.stopLaunching = true;
  }

  /**
   * Saving rewrites pipeline.lock and the stat cache whole: space the saves by their own cost, so a run of thousands
   * of short stages does not spend its time rewriting them.
   */
  private saveSoon(force = false): void {
    const now = monotonicMs();
    if (force || now - this.lastSave > Math.max(SAVE_INTERVAL_MS, 20 * this.saveCost)) {
      this.engine.save();
      this.lastSave = monotonicMs();
      this.saveCost = this.lastSave - now;
    }
  }

  /** A stage is done: the stages that need it are one need closer to ready. */
  private finished(name: string): void {
    for (const d of this.engine.graph.downstream(name)) {
      const left = this.waiting.get(d);
      if (left === undefined) continue; // not selected
      this.waiting.set(d, left - 1);
      if (left === 1) this.ready.push(d);
    }
  }

  /** Why a stage cannot run because a stage it needs failed or was blocked (the root cause), if it cannot. */
  private blockedBy(name: string): Reason[] | undefined {
    const cause = this.engine.graph
      .upstream(name)
      .map((n) => this.done.get(n)?.result)
      .find((r) => r && (r.outcome.kind === 'failed' || r.outcome.kind === 'blocked'));
    if (!cause) return undefined;
    if (cause.outcome.kind === 'blocked') return cause.reasons;
    return [{ code: 'blocked-by', stage: cause.name, gate: Boolean(cause.gate) }];
  }

  private block(name: string, reasons: Reason[]): void {
    const result: StageResult = { name, outcome: { kind: 'blocked' }, reasons, durationMs: 0 };
    this.done.set(name, { result });
    this.emit({ type: 'stage-finished', result });
    this.finished(name);
  }

  /** Every stage, in run order (those outside the selection `skipped`), and the exit code. */
  private summary(): RunSummary {
    const { graph } = this.engine;
    const stages = graph.order.map((n) => (this.selected.has(n) ? this.done.get(n)!.result : skipped(n)));
    const failed = stages.filter((s) => s.outcome.kind === 'failed');
    let exitCode: number = ExitCode.ok;
    if (this.options.signal.aborted) exitCode = ExitCode.interrupted;
    else if (failed.some((s) => !s.gate)) exitCode = ExitCode.stageFailed;
    else if (failed.length > 0) exitCode = ExitCode.gateFailed;
    return { ok: exitCode === 0, exitCode, stages, startedAt: this.startedAt, durationMs: monotonicMs() - this.started };
  }
}

function skipped(name: string): StageResult {
  return { name, outcome: { kind: 'skipped' }, reasons: [{ code: 'not-selected' }], durationMs: 0 };
}
