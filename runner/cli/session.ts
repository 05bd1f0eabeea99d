// A session: what commands that work on a workspace need, built once — the config, the listeners that show and
// record what happens (the terminal, `--json`), the workspace's lock with what taking it entails, the executor
// and its stage hosts, the handling of Ctrl-C — and runs of the plan over it. `run` and `pull` use it, so does
// `gc`; it serves a command that runs several plans in one process (a plan over param variants in scratch
// folders: one `openEngine` per variant) or one run after another (`acquireWorkspace` and `release` around each,
// the lock held only while a run is under way).
import path from 'node:path';
import type { GlobalOptions } from './options.js';
import { configFor } from './commands/common.js';
import type { PipelineConfig } from '../config/types.js';
import { configReads } from '../config/find.js';
import { openEngine, type Engine } from '../plan/engine.js';
import { scopeParams } from '../plan/params.js';
import type { Emit, RunEvent, RunListener, RunSummary } from '../exec/events.js';
import type { ExecutorName } from '../exec/executor.js';
import { leftoverOwners, openExecutor, type OpenedExecutor, type SlurmMode } from '../exec/executors.js';
import { stopLeftovers } from '../exec/leftovers.js';
import { dropFreshRecord } from '../exec/fresh-record.js';
import { startRunLock, type LockAttempt, type RunLock } from '../exec/run-lock.js';
import { hostsForRun, type HostPool } from '../exec/pool.js';
import { killLiveGroups } from '../exec/process-group.js';
import { Interrupts } from './interrupts.js';
import { JsonLinesListener, JsonListener } from '../report/listeners.js';
import { LineReporter, reporterFor } from '../report/progress.js';
import { runOnce, type RunRequest } from './session-run.js';

export interface SessionOptions {
  /** The command holding the workspace, told to one that waits for it (`pipeline run train`). */
  command: string;
  /** Wait while another command holds the workspace (otherwise exit 4, busy). */
  wait: boolean;
  /** `--set` overrides. */
  sets?: string[];
  /**
   * Runs stages: every param checked against its stage's schema (while the lock's first attempt is under way), the
   * terminal shows progress, and — with `earlyHosts`, this run's key — a module stage's host may be started before
   * the config is loaded (pool.ts `hostsForRun`).
   */
  runs?: { json?: boolean; quiet?: boolean; executor?: ExecutorName; slurmMode?: SlurmMode; groupChains?: boolean; earlyHosts?: string; jsonLines?: boolean };
}

export class Session {
  /** What shows and records everything the session says: the terminal, and `--json`'s document. */
  private readonly listeners: RunListener[] = [];
  private readonly interrupts: Interrupts;
  private lock: RunLock | undefined;
  /** The executor of the run under way (what a second Ctrl-C stops). */
  private current: OpenedExecutor | undefined;

  private constructor(
    readonly globals: GlobalOptions,
    readonly options: SessionOptions,
    public config: PipelineConfig,
    private attempt: LockAttempt | undefined,
    private early: HostPool | undefined,
  ) {
    this.interrupts = new Interrupts(
      this.emit,
      () => (!options.runs ? 'work' : this.executorName() === 'slurm' ? 'slurm-jobs' : 'stages'),
      () => (this.current ? this.current.executor.abandon?.() : killLiveGroups()),
    );
  }

  /** Load the config and start taking the workspace's lock (its first attempt runs while the params are checked). */
  static async open(globals: GlobalOptions, options: SessionOptions): Promise<Session> {
    const { runs } = options;
    // A module stage's host starts while the config loads and the run plans, when a stage is likely to execute.
    const early = runs?.earlyHosts !== undefined && !globals.config && runs.executor !== 'slurm' && !runs.slurmMode ? hostsForRun(path.resolve(globals.cwd), runs.earlyHosts) : undefined;
    let attempt: LockAttempt | undefined;
    try {
      const loaded = await configFor(globals, options.sets);
      attempt = startRunLock(loaded.root, options.command);
      const config = runs ? await scopeParams(loaded) : loaded;
      const session = new Session(globals, options, config, attempt, early);
      await session.listen();
      return session;
    } catch (err) {
      await attempt?.abandon();
      early?.close();
      throw err;
    }
  }

  /** Where progress goes: stdout, or stderr when stdout carries `--json`'s document. */
  get out(): NodeJS.WriteStream {
    return this.options.runs?.json ? process.stderr : process.stdout;
  }

  /** Tripped by Ctrl-C (or SIGTERM, SIGHUP) while the workspace is held. */
  get signal(): AbortSignal {
    return this.interrupts.signal;
  }

  private async listen(): Promise<void> {
    const { runs } = this.options;
    if (!runs) {
      this.listeners.push(new LineReporter(process.stderr, [], { showOutput: false }));
      return;
    }
    this.listeners.push(await reporterFor(this.out, this.config.stages.map((s) => s.name), { showOutput: !runs.quiet }));
    // `--json`: one document per run, or (pipeline watch) one line per event.
    if (runs.json) this.listeners.push(runs.jsonLines ? new JsonLinesListener(process.stdout) : new JsonListener(process.stdout));
  }

  /** One more listener on everything the session says from now on. */
  addListener(listener: RunListener): void {
    this.listeners.push(listener);
  }

  /** Everything the session and its runs say goes to every listener, in order. */
  readonly emit: Emit = (event: RunEvent) => {
    for (const l of this.listeners) l.event(event);
  };

  /** The executor runs use: `--executor` (`--slurm-mode` means slurm), else `executor:` in pipeline.yaml, else local processes. */
  executorName(): ExecutorName {
    const runs = this.options.runs;
    return runs?.executor ?? (runs?.slurmMode ? 'slurm' : undefined) ?? this.config.executor ?? 'local';
  }

  /** How the slurm executor runs stages: `--slurm-mode`, else `slurm: {mode}` in pipeline.yaml, else one job each. */
  slurmMode(): SlurmMode {
    return this.options.runs?.slurmMode ?? this.config.slurm?.mode ?? 'jobs';
  }

  /**
   * Take the workspace, as every command that changes it does: its lock (waiting behind another command if asked,
   * and saying so), then what an earlier, killed run left running there is stopped through the executor that
   * started it, then the fresh record is dropped (whoever holds the lock may change what a no-op would find).
   * Ctrl-C is handled from then on, until `release`.
   */
  async acquireWorkspace(): Promise<void> {
    if (this.lock) return;
    const attempt = this.attempt ?? startRunLock(this.config.root, this.options.command);
    this.attempt = undefined;
    const lock = await attempt.acquire({
      wait: this.options.wait,
      onWait: (h) => this.emit({ type: 'lock-wait', pid: h.pid, started: h.started, command: h.command }),
    });
    try {
      await stopLeftovers(this.config.root, leftoverOwners, this.emit);
      dropFreshRecord(this.config.root);
    } catch (err) {
      lock.release();
      throw err;
    }
    this.lock = lock;
    this.early?.remember();
    this.interrupts.install();
  }

  /** Let the workspace go (the lock, the Ctrl-C handling): another command may take it until the next acquire. */
  release(): void {
    this.interrupts.remove();
    this.lock?.release();
    this.lock = undefined;
  }

  /** The config again, as the files say now (between runs of one session). */
  async reloadConfig(): Promise<PipelineConfig> {
    const loaded = await configFor(this.globals, this.options.sets);
    this.config = this.options.runs ? await scopeParams(loaded) : loaded;
    return this.config;
  }

  /** The engine over a config (by default the session's), its pipeline.lock's warnings said. */
  /** `quiet`: an engine that only plans (`watch` before it runs): the lock's notices are said by the one that runs. */
  openEngine(config: PipelineConfig = this.config, quiet = false): Engine {
    const engine = openEngine(config);
    // What loading the config read is part of what the engine's decisions rest on (the fresh record's list).
    for (const { kind, file } of configReads(this.globals.cwd, this.globals.config, config.file)) engine.reads.add(kind, file);
    for (const file of Object.values(config.commands)) engine.reads.add('file', path.resolve(config.root, file));
    if (quiet) return engine;
    for (const { stage, problem } of engine.lock.ignored) {
      this.emit({ type: 'warning', warning: { code: 'lock-entry-ignored', file: engine.lock.file, stage, problem } });
    }
    return engine;
  }

  /**
   * Run the plan over `engine` with the session's executor (local hosts started for it, closed after) and
   * listeners, plus the workspace's records (last-run.json, the history). The workspace must be held. `cancel`
   * stops the run as Ctrl-C does (its running stages stopped, their previous outs restored), without ending the session.
   */
  async run(engine: Engine, request: RunRequest, cancel?: AbortSignal): Promise<{ exitCode: number; summary?: RunSummary }> {
    if (!this.lock) throw new Error('a run needs the workspace: acquireWorkspace() first');
    // The host started before the config was known serves this run only if it has module stages.
    const early = this.early;
    this.early = undefined;
    const hosts = engine.config.stages.some((s) => s.kind === 'module') ? early : undefined;
    if (hosts !== early) early?.close();
    const chainsOf = this.options.runs?.groupChains ? engine.config.stages : undefined;
    // In steps mode, a host (a shell) step is started at once when a module (command) stage is likely to execute (never run here, or forced).
    const likely = (kind: string) => engine.config.stages.some((s) => s.kind === kind && (request.force || engine.lock.get(s.name) === undefined));
    const slurm = { mode: this.slurmMode(), chainsOf, hostAhead: likely('module'), shellAhead: likely('cmd') };
    this.current = await openExecutor(this.executorName(), engine.root, hosts, slurm);
    try {
      const signal = cancel ? AbortSignal.any([this.signal, cancel]) : this.signal;
      const context = { signal, out: this.out, listeners: this.listeners, quiet: Boolean(this.options.runs?.quiet), fresh: this.globals.fresh };
      return await runOnce(context, engine, this.current, request);
    } finally {
      await this.current.executor.close?.();
      this.current = undefined;
    }
  }

  /** The session is over: the workspace released, hosts started ahead closed, the terminal's live area let go. */
  close(): void {
    this.release();
    void this.attempt?.abandon();
    this.early?.close();
    for (const l of this.listeners) l.close?.();
  }
}
