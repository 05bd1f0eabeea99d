// `pipeline watch`: one run of the selected stages, then every file they read is watched (watch-inputs.ts,
// watcher.ts); when changes settle the config is read again and the plan made again, and a run starts only when a
// stage is not fresh — the engine's hashes decide, so a save that leaves the bytes as they were runs nothing. The
// workspace's lock is held only while a run is under way (`status`, another command work in between). A change to
// what a running stage reads stops that run (its stages stopped, their previous outs restored, as Ctrl-C does) and
// plans again. A config with errors is shown, and the next save awaited. Ctrl-C ends it with exit 130.
import os from 'node:os';
import path from 'node:path';
import { ConfigError, ExitCode, UsageError } from '../core/errors.js';
import type { PipelineConfig } from '../config/types.js';
import type { Engine } from '../plan/engine.js';
import { preview } from '../plan/preview.js';
import type { Notice, RunEvent } from '../exec/events.js';
import type { StageResult } from '../exec/outcome.js';
import type { Session } from './session.js';
import { ignoreOuts } from './gitignore.js';
import { ChangeWatcher, statSignature } from './watcher.js';
import { configFiles, keyOf, stagesReading, watchedInputs, type WatchedInputs } from './watch-inputs.js';

export interface WatchOptions {
  names: string[];
  jobs?: number;
  debounceMs: number;
}

/** Ctrl-C, SIGTERM, SIGHUP between runs (during a run the session's handling stops the stages first). */
export function stopOnSignals(): { signal: AbortSignal; remove: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, stop);
  return { signal: controller.signal, remove: () => ['SIGINT', 'SIGTERM', 'SIGHUP'].forEach((s) => process.off(s, stop)) };
}

/** A config with errors, or another problem of the command line's kind, as the notice that says it. */
export function invalid(err: UsageError): Notice {
  if (err instanceof ConfigError) return { type: 'watch-invalid', diagnostics: err.diagnostics, text: err.format() };
  return { type: 'watch-invalid', diagnostics: [], text: `error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}` };
}

export class WatchLoop {
  private readonly watcher: ChangeWatcher;
  private inputs: WatchedInputs | undefined;
  /** Stages running now, each with the stat of its input files when it started. */
  private readonly running = new Map<string, Map<string, string | undefined>>();
  /** Stage → the changes its last run was stopped for: the same again while it runs is its own writing. */
  private readonly stoppedFor = new Map<string, Set<string>>();
  /** Stages said to write what they read (once each), and those whose last run changed what they read. */
  private readonly writers = new Set<string>();
  private readonly suspects = new Set<string>();
  private cancel: AbortController | undefined;
  /** Tripped by Ctrl-C. */
  private stopped: AbortSignal = new AbortController().signal;

  constructor(
    private readonly session: Session,
    private readonly options: WatchOptions,
  ) {
    this.watcher = new ChangeWatcher(session.config.root, options.debounceMs, () => false);
    session.addListener({ event: (e) => this.track(e) });
  }

  private get emit() {
    return this.session.emit;
  }

  /** Run, then watch until Ctrl-C: 130. (What ends a run with an error outside any stage — pipeline.lock cannot be written — ends the watch too.) */
  async loop(): Promise<number> {
    const stop = stopOnSignals();
    this.stopped = stop.signal;
    try {
      let config: PipelineConfig | undefined = this.session.config;
      let first = true;
      while (!stop.signal.aborted) {
        if (config) await this.cycleOrSay(config, first);
        first = false;
        if (stop.signal.aborted) break;
        this.emit({ type: 'watch-waiting', files: this.watchedCount() });
        await this.watcher.next(stop.signal);
        if (stop.signal.aborted) break;
        this.emit({ type: 'watch-change', paths: this.watcher.take() });
        config = await this.reload();
      }
      return ExitCode.interrupted;
    } finally {
      stop.remove();
      await this.watcher.close();
    }
  }

  /**
   * A cycle; a problem of the command line's kind on the way (a dep that is gone, a stage renamed away) is said, as
   * a config with errors is, and the next change awaited.
   */
  private async cycleOrSay(config: PipelineConfig, first: boolean): Promise<void> {
    try {
      await this.cycle(config, first);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      this.emit(invalid(err));
    }
  }

  private watchedCount(): number {
    return this.inputs?.watch.length ?? 0;
  }

  /** The config as the files say now, or undefined (its diagnostics said) when it has errors. */
  private async reload(): Promise<PipelineConfig | undefined> {
    try {
      return await this.session.reloadConfig();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // Until it is fixed, the config files are watched (and what was watched before); then it is said.
      const files = configFiles(this.session.config);
      const previous = this.inputs?.watch ?? [];
      await this.watcher.set([...previous, ...files, path.resolve(this.session.globals.cwd, err.pos.file)], this.inputs?.ignored ?? (() => false));
      this.emit(invalid(err));
      return undefined;
    }
  }

  /** Plan; run when something is not fresh (the first time, always); then watch what the stages read. */
  private async cycle(config: PipelineConfig, first: boolean): Promise<void> {
    for (;;) {
      const planned = this.session.openEngine(config, true);
      const plan = first ? [] : await preview(planned, { names: this.options.names, mode: 'needs', force: false });
      // After the plan, which read what the run would (the places module imports were looked for among it): the
      // list a run leaves is the same, and the watchers are not made again between the two.
      await this.watch(planned);
      if (this.stopped.aborted || (!first && plan.every((p) => p.action === 'fresh' || p.action === 'skipped'))) return;
      const engine = await this.run(config);
      if (this.stopped.aborted) return;
      await this.watch(engine);
      if (!this.cancel?.signal.aborted) return;
      // Stopped for a change: plan again with the new inputs (the config too may have changed).
      this.cancel = undefined;
      const again = await this.reload();
      if (!again) return;
      config = again;
      first = false;
    }
  }

  /** Watch what the engine says the selected stages read (pipeline.lock as the last run left it). */
  private async watch(engine: Engine): Promise<void> {
    this.inputs = watchedInputs(engine, this.options.names);
    await this.watcher.set(this.inputs.watch, this.inputs.ignored);
  }

  /** One run, with the workspace held only while it is under way; the engine it ran on. */
  private async run(config: PipelineConfig): Promise<Engine> {
    const { session } = this;
    await session.acquireWorkspace();
    this.cancel = new AbortController();
    this.watcher.onSettle = () => this.onChangeDuringRun();
    try {
      const engine = session.openEngine(config);
      const request = { names: this.options.names, mode: 'needs' as const, force: false, jobs: this.options.jobs ?? os.availableParallelism(), keepGoing: false, verbose: false };
      const { summary } = await session.run(engine, request, this.cancel.signal);
      ignoreOuts(engine.config, summary);
      this.selfWrites(summary?.stages ?? []);
      this.watcher.remember(path.join(engine.root, 'pipeline.lock'));
      return engine;
    } finally {
      this.watcher.onSettle = undefined;
      this.running.clear();
      session.release();
    }
  }

  /** Changes settled while a run is under way: stop it when a running stage reads one (not its own writing). */
  private onChangeDuringRun(): void {
    if (!this.inputs || !this.cancel || this.cancel.signal.aborted) return;
    const keys = this.watcher.peek();
    const hit = stagesReading(this.inputs, keys, this.running.keys());
    const stopping: string[] = [];
    const root = this.session.config.root;
    for (const [stage, all] of hit) {
      // A file as it was when the stage started (it planned with those bytes) is no reason to stop it.
      const atStart = this.running.get(stage);
      const read = all.filter((k) => !atStart?.has(k) || atStart.get(k) !== statSignature(path.resolve(root, k)));
      if (read.length === 0) continue;
      const before = this.stoppedFor.get(stage);
      if (this.writers.has(stage) || read.some((k) => before?.has(k))) {
        this.writesWhatItReads(stage, read);
        continue;
      }
      this.stoppedFor.set(stage, new Set(read));
      stopping.push(stage);
    }
    if (stopping.length === 0) return;
    this.emit({ type: 'watch-change', paths: this.watcher.take(), cancelled: stopping });
    this.cancel.abort();
  }

  /**
   * Stages the engine failed because an input changed while they ran, when no change stopped them first (a short
   * stage can end before the change settles): the change plans again even if no event reported it; twice in a row
   * for one stage and file, it is the stage's own doing.
   */
  private selfWrites(stages: readonly StageResult[]): void {
    const root = this.session.config.root;
    for (const s of stages) {
      if (s.outcome.kind !== 'failed' || s.outcome.cause.kind !== 'inputs-changed') continue;
      const key = keyOf(root, path.resolve(root, s.outcome.cause.path));
      if (this.writers.has(s.name) || this.stoppedFor.get(s.name)?.has(key)) this.writesWhatItReads(s.name, [key]);
      else {
        this.stoppedFor.set(s.name, new Set([key]));
        this.watcher.note(path.resolve(root, key));
      }
    }
  }

  /** A stage changed files it reads: said once, its writes dropped and remembered so they start nothing. */
  private writesWhatItReads(stage: string, keys: string[]): void {
    this.watcher.drop(keys);
    const root = this.session.config.root;
    for (const k of keys) this.watcher.remember(path.resolve(root, k));
    if (this.writers.has(stage)) return;
    this.writers.add(stage);
    this.emit({ type: 'warning', warning: { code: 'watch-writes-deps', stage, paths: keys } });
  }

  /**
   * Which stages run, and whether one changed its own input files (by their stat at its start): the engine fails it
   * (`inputs-changed`), the change plans again; when its next run does the same, it is the stage's own writing.
   */
  private track(event: RunEvent): void {
    if (event.type === 'stage-started') {
      const files = this.inputFiles(event.name);
      this.running.set(event.name, new Map(files.map((k) => [k, statSignature(path.resolve(this.session.config.root, k))])));
    } else if (event.type === 'stage-finished') {
      const { name, outcome } = event.result;
      const before = this.running.get(name);
      this.running.delete(name);
      if (!before) return;
      if (outcome.kind === 'ran') this.stoppedFor.delete(name);
      const root = this.session.config.root;
      const changed = [...before].filter(([k, sig]) => statSignature(path.resolve(root, k)) !== sig).map(([k]) => k);
      const own = outcome.kind === 'ran' || (outcome.kind === 'failed' && outcome.cause.kind === 'inputs-changed');
      if (changed.length === 0 || !own) {
        this.suspects.delete(name);
      } else if (this.writers.has(name) || this.suspects.has(name)) {
        this.writesWhatItReads(name, changed);
      } else {
        this.suspects.add(name);
      }
    }
  }

  /** The files (not folders, not globs) a stage reads, as keys. */
  private inputFiles(stage: string): string[] {
    const root = this.session.config.root;
    return (this.inputs?.stages.get(stage) ?? []).map((i) => i.path).filter((k) => keyOf(root, path.resolve(root, k)) === k && !this.inputs?.ignored(k));
  }
}
