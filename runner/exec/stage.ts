// One stage of a run, one method per decision (fresh, restore, run) and one for rolling a failed run back. Each
// returns the stage's result; nothing here throws to mean "the stage failed": each step returns a Result, and what
// a step throws becomes the stage's failure in one place (failure.ts). A stage's outputs are recorded (objects,
// then run record, then pipeline.lock, each written atomically) only after it succeeded on inputs that did not
// change while it ran; a stage that fails gets its previous outputs back.
import { appendFileSync, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import path from 'node:path';
import { RUN_RECORD_VERSION, type OutRecord } from '../store/cache.js';
import type { Engine } from '../plan/engine.js';
import type { ExecResult, Executor } from './executor.js';
import { readThrown, thrownFileOf } from './thrown.js';
import { definitionOf, type StageInputs } from '../plan/fingerprint.js';
import { canonicalJson } from '../store/hash.js';
import type { Decision, InputsProblem } from '../plan/decide.js';
import type { Reason } from '../plan/reasons.js';
import { unreachable } from '../plan/reasons.js';
import { missingDep } from '../plan/selection.js';
import type { StageConfig } from '../config/types.js';
import { printable } from '../core/printable.js';
import { passedValues } from './environment.js';
import { maskText } from './mask.js';
import type { Emit } from './events.js';
import { attempt, failed, ok, stageFailure, type Result } from './failure.js';
import type { FailureCause, StageResult } from './outcome.js';
import type { RemotePuller } from '../store/remote/run-sync.js';
import type { Flights } from './flights.js';
import { appendAttempt, attemptHeader, mayRetry, takeLoadError } from './retry.js';
import { monotonicMs } from '../core/clock.js';

export interface StageRunOptions {
  force: boolean;
  /** Replay the logs of cached stages. */
  verbose: boolean;
  signal: AbortSignal;
  /** `run --pull`: asked for the result of a stage that would run, or whose stored objects are missing. */
  remote?: RemotePuller;
  /** Where the stage's command runs. */
  executor: Executor;
  /** One execution per fingerprint across the plans of a sweep. */
  flights?: Flights;
}

export interface StageDone {
  result: StageResult;
  /** The stage's outs as they now are in the workspace (undefined when it failed or was blocked). */
  outs?: OutRecord[];
}

export class StageExecution {
  private readonly t0 = monotonicMs();

  constructor(
    private readonly engine: Engine,
    private readonly stage: StageConfig,
    /** The outs of each stage it needs, as they now are in the workspace. */
    private readonly upstream: Map<string, OutRecord[]>,
    private readonly options: StageRunOptions,
    private readonly emit: Emit,
  ) {}

  /** Decide, then carry the decision out. Interrupted while reading its inputs (hashing thousands of files), it fails as `interrupted`. */
  async execute(): Promise<StageDone> {
    // An operating-system error (a permission, a full disk) anywhere in this stage's work fails this stage.
    const done = await attempt(this.options.signal, () => this.decideAndAct());
    return done.ok ? done.value : this.failed(done.error, [], this.elapsed());
  }

  private async decideAndAct(): Promise<StageDone> {
    const { planner } = this.engine;
    const read = await planner.inputsOf(this.stage, this.upstream);
    if (!read.ok) return this.failed(this.inputsProblem(read.problem), [], this.elapsed());
    const decide = () => planner.decide(this.stage, read.inputs, { force: this.options.force });
    let decision = await decide();
    if (this.wantsRemote(decision)) decision = await this.fromRemote(decision, read.inputs);
    const { flights } = this.options;
    return flights ? flights.carry(decision, decide, (d) => this.carryOut(d)) : this.carryOut(decision);
  }

  private carryOut(decision: Decision): Promise<StageDone> {
    switch (decision.action) {
      case 'fresh':
        return this.fresh(decision);
      case 'restore':
        return this.restore(decision);
      case 'run':
        return this.run(decision);
      default:
        return unreachable(decision.action);
    }
  }

  /**
   * Whether `run --pull` should ask the remote: the stage would run (the plan never promises a restore whose objects
   * are not in the local store, so a run is the only case).
   */
  private wantsRemote(decision: Decision): boolean {
    return Boolean(this.options.remote) && this.stage.cache && !this.options.force && decision.action === 'run';
  }

  /** Bring the remote's result for this fingerprint into the local store and decide again; never fails the stage. */
  private async fromRemote(decision: Decision, inputs: StageInputs): Promise<Decision> {
    const answer = await this.options.remote!.pull(decision.fingerprint, this.stage.name);
    if (answer.kind === 'absent') return decision;
    if (answer.kind === 'unusable') return { ...decision, reasons: [...decision.reasons, { code: 'remote-unusable', detail: answer.detail }] };
    const again = await this.engine.planner.decide(this.stage, inputs, { force: false });
    const changes = decision.reasons.filter((r) => r.code !== 'restorable');
    return again.action === 'run' ? again : { ...again, reasons: [...changes, { code: 'restorable-from-remote' }] };
  }

  private inputsProblem(problem: InputsProblem): FailureCause {
    switch (problem.kind) {
      case 'dep-missing': {
        const { code: _, ...missing } = missingDep(this.engine, this.stage, problem.path);
        return { kind: 'dep-missing', ...missing };
      }
      case 'module-error':
        return problem;
      case 'dep-refused':
        return { kind: 'workspace', message: problem.message };
      default:
        return unreachable(problem);
    }
  }

  private elapsed(): number {
    return monotonicMs() - this.t0;
  }

  private finish(done: StageDone, log?: string): StageDone {
    this.emit({ type: 'stage-finished', result: done.result, log });
    return done;
  }

  private failed(cause: FailureCause, reasons: Reason[], durationMs: number, fingerprint?: string, log?: string, extra: { jobId?: string; stepId?: string; attempts?: number } = {}): StageDone {
    const result: StageResult = { name: this.stage.name, outcome: { kind: 'failed', cause }, reasons, durationMs, fingerprint, gate: this.stage.gate, ...extra };
    return this.finish({ result }, log);
  }

  /** The outputs are in place: record them where they are not yet (a clone with an empty store, a new lock). */
  private async fresh(decision: Decision, kind: 'fresh' | 'restored' = 'fresh'): Promise<StageDone> {
    const { engine, stage } = this;
    const source = decision.source!;
    const entry = engine.lock.get(stage.name);
    const lockCurrent = entry?.fingerprint === decision.fingerprint && canonicalJson(entry.outs) === canonicalJson(source);
    const hasRecord = !stage.cache || engine.cache.hasRun(decision.fingerprint);
    // Fresh by pipeline.lock alone (a clone with an empty store): keep the outputs so they can be restored later.
    if (!hasRecord) for (const rec of source) await engine.ws.captureOut(rec.path);
    if (!lockCurrent || !hasRecord) await this.record(decision, source, undefined, 0);
    const log = this.options.verbose ? this.replayLog(decision.fingerprint) : undefined;
    const result: StageResult = {
      name: stage.name,
      outcome: { kind },
      reasons: decision.reasons,
      durationMs: this.elapsed(),
      fingerprint: decision.fingerprint,
      gate: stage.gate,
    };
    return this.finish({ result, outs: source }, log);
  }

  /** Put the recorded outputs back; when a stored object is missing or corrupt, run the stage instead. */
  private async restore(decision: Decision): Promise<StageDone> {
    const { ws, cache } = this.engine;
    cache.touchRun(decision.fingerprint);
    for (const rec of decision.source!) {
      const have = await ws.hashOut(rec.path).catch(() => undefined);
      if (have?.hash === rec.hash) continue;
      const stored = this.objectsPresent(rec);
      const restored = await attempt(this.options.signal, () => ws.restoreOut(rec));
      if (restored.ok && restored.value) continue;
      let lost: Reason = stored ? { code: 'object-corrupt', path: rec.path } : { code: 'not-in-store', path: rec.path };
      if (!restored.ok) {
        const { error } = restored;
        if (error.kind === 'interrupted') return this.failed(error, decision.reasons, this.elapsed(), decision.fingerprint);
        // A stored manifest that would write outside the out, or an I/O error: refused, the stage runs instead.
        lost = { code: 'restore-refused', path: rec.path, message: error.message };
      }
      return this.run({ ...decision, reasons: [...decision.reasons, lost] });
    }
    return this.fresh(decision, 'restored');
  }

  /** Whether every stored object an out record needs is in the store (before verifying their bytes). */
  private objectsPresent(rec: OutRecord): boolean {
    const { cache } = this.engine;
    if (!cache.hasObject(rec.hash)) return false;
    if (rec.type === 'file') return true;
    const text = cache.readObjectText(rec.hash);
    if (text === undefined) return true; // present but corrupt
    const manifest = JSON.parse(text) as { entries: { hash: string }[] };
    return manifest.entries.every((e) => cache.hasObject(e.hash));
  }

  /**
   * Run it. Keep the current outs (in the store) so a failure can put them back, then clear them. A failed attempt
   * that may pass next time (retry.ts) is followed by another, with the same inputs, once what it left of the outs is
   * removed; the log keeps every attempt. Only a success is recorded, and a final failure puts the old outs back.
   */
  private async run(decision: Decision): Promise<StageDone> {
    const { stage } = this;
    const { fingerprint, reasons } = decision;
    this.emit({ type: 'stage-started', name: stage.name, reasons });
    const previous = await this.clearOuts();
    if (!previous.ok) return this.failed(previous.error, reasons, this.elapsed(), fingerprint, undefined, { attempts: 0 });
    const attempts = 1 + (stage.retries ?? 0);
    let log = '';
    let header = '';
    let durationMs = 0;
    for (let attempt = 1; ; attempt++) {
      const tried = await this.attemptOnce(decision, attempt);
      durationMs += tried.durationMs;
      log = attempt === 1 ? tried.log : appendAttempt(log, header, tried.log);
      const extra = { attempts: attempt, ...(tried.jobId !== undefined ? { jobId: tried.jobId } : {}), ...(tried.stepId !== undefined ? { stepId: tried.stepId } : {}) };
      const recorded = tried.outs.ok ? await this.recordRan(decision, tried.outs.value, log, durationMs) : tried.outs;
      if (recorded.ok) {
        if (attempt > 1) this.keepLog(log);
        const result: StageResult = { name: stage.name, outcome: { kind: 'ran' }, reasons, durationMs, fingerprint, gate: stage.gate, ...extra };
        return this.finish({ result, outs: recorded.value }, log);
      }
      const cleared = mayRetry(stage, recorded.error, attempt, this.options.signal) ? await this.removePartial() : undefined;
      if (!cleared?.ok) {
        if (attempt > 1) this.keepLog(log);
        await this.rollBack(previous.value);
        return this.failed(cleared?.error ?? recorded.error, reasons, durationMs, fingerprint, log, extra);
      }
      header = attemptHeader(attempt + 1, attempts, recorded.error);
      this.emit({ type: 'stage-retry', name: stage.name, attempt: attempt + 1, cause: recorded.error });
    }
  }

  /** One execution of the stage's command, and its outs captured when it succeeded on inputs that did not change. */
  private async attemptOnce(decision: Decision, attempt: number) {
    const { engine, stage } = this;
    const paths = this.contextPaths(decision.inputs.deps);
    for (const abs of Object.values(paths.outs)) mkdirSync(path.dirname(abs), { recursive: true });
    const bundle = stage.kind === 'module' ? await engine.code.bundlePath(stage.module!, decision.inputs.code) : undefined;
    const logFile = path.join(engine.stateDir, 'logs', `${stage.name}.log`);
    const verdictFile = path.join(engine.stateDir, 'tmp', `${stage.name}.${process.pid}.verdict`);
    const loadErrorFile = `${verdictFile}.load-error`;
    rmSync(loadErrorFile, { force: true });
    const executed = await this.options.executor.execute({ stage, root: engine.root, recordsIn: engine.workspaceRoot, ...paths, bundle, logFile, verdictFile, loadErrorFile, attempt, signal: this.options.signal });
    const exec = bundle ? await this.withThrown(executed, bundle, thrownFileOf(verdictFile), logFile) : executed;
    const secrets = passedValues(stage);
    if (secrets.length > 0) {
      // The local executor masked the log as it wrote it; a cluster job's log or a mapped stack may not be.
      exec.log = maskText(exec.log, secrets);
      writeFileAtomic(logFile, maskText(readFileSync(logFile, 'utf8'), secrets));
    }
    const notLoaded = takeLoadError(loadErrorFile);
    const said: FailureCause | undefined = notLoaded !== undefined ? { kind: 'module-error', message: notLoaded } : exec.ok ? undefined : exec.cause;
    // Its message and stack are what the stage wrote (its reason, a retry's cause): masked as its log is.
    const cause = said && secrets.length > 0 ? maskCause(said, secrets) : said;
    const outs = cause ? failed(cause) : await this.capture(decision.inputs);
    return { outs, log: exec.log, durationMs: exec.durationMs, jobId: exec.jobId, stepId: exec.stepId };
  }

  /** Before another attempt: what the failed one left of the outs is removed (the old outs are in the store). */
  private removePartial(): Promise<Result<void>> {
    return attempt(this.options.signal, () => {
      for (const out of this.stage.outs) this.engine.ws.removeOut(out);
    });
  }

  /** The log of every attempt, where the stage's log is read (each attempt's executor wrote only its own). */
  private keepLog(log: string): void {
    writeFileAtomic(path.join(this.engine.stateDir, 'logs', `${this.stage.name}.log`), log);
  }

  /**
   * A module stage that threw: where in its source (on the stage's line) and its stack mapped to the source, kept in
   * its log file always and shown with the output under --verbose.
   */
  private async withThrown(exec: ExecResult, bundle: string, thrownFile: string, logFile: string): Promise<ExecResult> {
    if (exec.ok) return exec;
    const thrown = await readThrown(thrownFile, bundle, this.engine.root);
    const { cause } = exec;
    if (!thrown || (cause.kind !== 'exit' && cause.kind !== 'gate')) return exec;
    const secrets = passedValues(this.stage);
    const stack = maskText(thrown.stack, secrets);
    const at = thrown.at === undefined ? {} : { at: maskText(thrown.at, secrets) };
    await attempt(this.options.signal, () => appendFileSync(logFile, stack));
    return { ...exec, cause: { ...cause, ...at, stack }, log: this.options.verbose ? `${exec.log}${stack}` : exec.log };
  }

  /** Keep the current outs (in the store) so a failure can put them back, then clear them; what was kept. */
  private async clearOuts(): Promise<Result<OutRecord[]>> {
    const { ws } = this.engine;
    const { signal } = this.options;
    const records: OutRecord[] = [];
    const kept = await attempt(signal, async () => {
      for (const out of this.stage.outs) {
        const rec = await ws.captureOut(out, { optional: true });
        if (rec) records.push(rec);
      }
    });
    if (!kept.ok) return kept;
    try {
      for (const out of this.stage.outs) ws.removeOut(out);
    } catch (err) {
      // Some outs may be gone already: put back what was there before failing.
      await this.rollBack(records);
      return failed(stageFailure(err, signal));
    }
    return ok(records);
  }

  /** Store the log and record the result; an I/O error fails the stage with nothing half-recorded. */
  private recordRan(decision: Decision, outs: OutRecord[], log: string, durationMs: number): Promise<Result<OutRecord[]>> {
    return attempt(this.options.signal, async () => {
      await this.record(decision, outs, await this.engine.cache.storeBytesAsync(log), durationMs);
      return outs;
    });
  }

  /** After a successful run: never record a result whose inputs changed while it ran; store the outs. */
  private async capture(before: StageInputs): Promise<Result<OutRecord[]>> {
    const { engine, stage } = this;
    const after = await engine.planner.inputsOf(stage, this.upstream);
    if (!after.ok) {
      const { problem } = after;
      return failed(problem.kind === 'dep-missing' ? { kind: 'inputs-changed', path: problem.path, what: 'input' } : this.inputsProblem(problem));
    }
    if (canonicalJson(after.inputs) !== canonicalJson(before)) return failed(changedInput(before, after.inputs));
    const missing = stage.outs.filter((out) => lstatSync(engine.ws.abs(out), { throwIfNoEntry: false }) === undefined);
    if (missing.length > 0) return failed({ kind: 'outs-missing', paths: missing });
    return attempt(this.options.signal, async () => {
      const outs: OutRecord[] = [];
      for (const out of stage.outs) outs.push(await engine.ws.captureOut(out));
      return outs;
    });
  }

  /** A failed run: put each out back as it was before, or remove what the stage left. */
  private async rollBack(previous: OutRecord[]): Promise<void> {
    const { ws } = this.engine;
    for (const out of this.stage.outs) {
      const prev = previous.find((p) => p.path === out);
      // Interrupted, or an I/O error: the stage failed already; what it left stays, and is never recorded.
      await attempt(this.options.signal, async () => {
        if (!(prev && (await ws.restoreOut(prev)))) ws.removeOut(out);
      });
    }
  }

  private async record(decision: Decision, outs: OutRecord[], log: string | undefined, durationMs: number): Promise<void> {
    const { engine, stage } = this;
    const existing = engine.cache.readRun(decision.fingerprint);
    if (stage.cache && (!existing || log !== undefined)) {
      await engine.cache.writeRunAsync({
        version: RUN_RECORD_VERSION,
        fingerprint: decision.fingerprint,
        stage: stage.name,
        outs,
        log: log ?? existing?.log,
        durationMs: Math.round(durationMs),
        createdAt: new Date().toISOString(),
      });
    }
    engine.lock.set(stage.name, { fingerprint: decision.fingerprint, definition: definitionOf(stage), ...decision.inputs, outs });
  }

  private replayLog(fingerprint: string): string | undefined {
    const record = this.engine.cache.readRun(fingerprint);
    // The log comes from the store (from a remote, possibly): replayed with control characters neutralised.
    const text = record?.log ? this.engine.cache.readObjectText(record.log) : undefined;
    return text === undefined ? undefined : printable(text, 'log');
  }

  private contextPaths(deps: Record<string, string>) {
    const { engine, stage } = this;
    const inputs: Record<string, Record<string, string>> = {};
    for (const need of stage.needs) {
      inputs[need] = Object.fromEntries(engine.graph.stage(need).outs.map((o) => [o, engine.ws.abs(o)]));
    }
    return {
      inputs,
      deps: Object.fromEntries(Object.keys(deps).map((d) => [d, engine.ws.depPath(d)])),
      outs: Object.fromEntries(stage.outs.map((o) => [o, engine.ws.abs(o)])),
    };
  }
}

function changedInput(before: StageInputs, after: StageInputs): FailureCause {
  for (const part of ['deps', 'code', 'upstream'] as const) {
    for (const k of new Set([...Object.keys(before[part]), ...Object.keys(after[part])])) {
      if (before[part][k] === after[part][k]) continue;
      if (part === 'upstream') return { kind: 'inputs-changed', path: k.slice(k.indexOf(':') + 1), what: 'input' };
      return { kind: 'inputs-changed', path: k, what: part === 'code' ? 'code' : 'input' };
    }
  }
  return { kind: 'inputs-changed', path: '', what: 'input' };
}

/** A failure's message and stack with the stage's `passEnv` values masked. */
function maskCause(cause: FailureCause, secrets: readonly string[]): FailureCause {
  if (!('message' in cause) || cause.message === undefined) return cause;
  const stack = 'stack' in cause && typeof cause.stack === 'string' ? { stack: maskText(cause.stack, secrets) } : {};
  return { ...cause, message: maskText(cause.message, secrets), ...stack };
}
