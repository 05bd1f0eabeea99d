// Executing a plan: stages start as soon as everything they need is done, up to `jobs` at a time. Each stage
// is decided when it becomes ready — on the actual bytes its upstream wrote — so an upstream that re-runs and
// writes the same outputs leaves it fresh. A stage's outputs are recorded (objects, then run record, then
// pipeline.lock, each written atomically) only after it succeeded on inputs that did not change while it ran;
// a stage that fails gets its previous outputs back.
import { existsSync, lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { RUN_RECORD_VERSION, type OutRecord } from '../store/cache.js';
import type { Engine } from '../plan/engine.js';
import { UsageError, ExitCode, formatPosition } from '../core/errors.js';
import { executeStage } from './process.js';
import { definitionOf } from '../plan/fingerprint.js';
import { canonicalJson } from '../store/hash.js';
import type { Selection } from '../graph/graph.js';
import type { Decision } from '../plan/decide.js';
import type { Reporter, StageResult } from '../report/progress.js';
import type { StageConfig } from '../config/types.js';
import { WorkspaceError } from '../store/workspace.js';
import { checkStore } from '../store/preflight.js';
import { IoError } from '../store/io-error.js';

export interface RunOptions {
  names: string[];
  mode: Selection;
  force: boolean;
  jobs: number;
  keepGoing: boolean;
  /** Replay the logs of cached stages. */
  verbose: boolean;
  signal: AbortSignal;
}

export interface RunSummary {
  ok: boolean;
  exitCode: number;
  stages: StageResult[];
  durationMs: number;
}

interface Done {
  result: StageResult;
  /** The stage's outs as they now are in the workspace (undefined when it failed or was blocked). */
  outs?: OutRecord[];
}

const SAVE_INTERVAL_MS = 250;

export async function runPipeline(engine: Engine, options: RunOptions, reporter: Reporter): Promise<RunSummary> {
  const started = performance.now();
  const { graph } = engine;
  engine.ws.signal = options.signal;
  const selected = graph.select(options.names, options.mode);
  await checkDeps(engine, selected);
  checkOuts(engine, selected);
  checkStore(engine.cache, engine.root, [...selected].flatMap((s) => engine.graph.stage(s).outs.map((out) => ({ stage: s, out }))));
  const forced = new Set(options.force ? (options.names.length > 0 ? options.names : [...selected]) : []);
  const done = new Map<string, Done>();

  // Upstream stages outside the selection: their outs must be in the workspace, or restorable from the cache.
  for (const name of selected) {
    for (const need of graph.upstream(name)) {
      if (selected.has(need) || done.has(need)) continue;
      done.set(need, { result: skipped(need), outs: await outsOfUnselected(engine, need, name) });
    }
  }

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
  const blockedBy = (name: string): string | undefined => {
    const cause = graph
      .upstream(name)
      .map((n) => done.get(n)?.result)
      .find((r) => r && (r.status === 'failed' || r.status === 'blocked'));
    if (!cause) return undefined;
    if (cause.status === 'blocked') return cause.reason;
    return cause.gate ? `gate \`${cause.name}\` failed` : `upstream \`${cause.name}\` failed`;
  };
  const block = (name: string, reason: string) => {
    const result: StageResult = { name, status: 'blocked', reason, durationMs: 0 };
    done.set(name, { result });
    reporter.finish(result);
  };
  const running = new Map<string, Promise<void>>();
  let stopLaunching = false;
  let firstFailure: string | undefined;

  const launch = (name: string) => {
    const task = runOne(engine, graph.stage(name), done, forced.has(name), options, reporter)
      .then((d) => {
        done.set(name, d);
        if (d.result.status === 'failed') {
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
    const reason =
      blockedBy(name) ??
      (options.signal.aborted
        ? 'not started: the run was interrupted'
        : `not started: \`${firstFailure}\` failed (--keep-going runs independent stages)`);
    block(name, reason);
  }
  saveSoon(true);

  // Every stage, in run order; those outside the selection are reported as `skipped`.
  const stages = graph.order.map((n) => (selected.has(n) ? done.get(n)!.result : skipped(n)));
  const failed = stages.filter((s) => s.status === 'failed');
  let exitCode: number = ExitCode.ok;
  if (options.signal.aborted) exitCode = ExitCode.interrupted;
  else if (failed.some((s) => !s.gate)) exitCode = ExitCode.stageFailed;
  else if (failed.length > 0) exitCode = ExitCode.gateFailed;
  return { ok: exitCode === 0, exitCode, stages, durationMs: performance.now() - started };
}

/** Every declared dep of the selected stages must exist before anything starts (exit 2 otherwise). */
async function checkDeps(engine: Engine, selected: Set<string>): Promise<void> {
  for (const name of selected) {
    const stage = engine.graph.stage(name);
    const missing = stage.deps.filter((d) => !/[*?[\]{}]/.test(d) && !existsSync(engine.ws.abs(d)));
    if (missing.length > 0) {
      const i = stage.deps.indexOf(missing[0]);
      const pos = engine.config.positionOf(['stages', name, 'deps', i]);
      throw new UsageError(
        `${pos.file}:${pos.line}:${pos.col}: stage \`${name}\`: dep \`${missing[0]}\` does not exist`,
        'create it, or fix the path in `deps`',
      );
    }
  }
}

/**
 * Every out of the selected stages must be a plain path inside the workspace before anything starts: a symlink,
 * or a path whose folder leads outside, is refused with exit 2 (a stage writing there would write outside).
 */
function checkOuts(engine: Engine, selected: Set<string>): void {
  // An out that is not a symlink is inside when its folder is: resolve each folder once (10,000 outs, few folders).
  const insideDirs = new Set<string>();
  for (const name of selected) {
    const stage = engine.graph.stage(name);
    stage.outs.forEach((out, i) => {
      try {
        const abs = engine.ws.abs(out);
        if (lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink()) {
          throw new WorkspaceError(`out \`${out}\` is a symlink (to ${readlinkSync(abs)})`, 'outs must be regular files or folders inside the workspace: remove the symlink');
        }
        const dir = path.posix.dirname(out);
        if (!insideDirs.has(dir)) {
          engine.ws.assertInside(out, 'out');
          insideDirs.add(dir);
        }
      } catch (err) {
        if (!(err instanceof WorkspaceError)) throw err;
        const pos = engine.config.positionOf(['stages', name, 'outs', i]);
        throw new WorkspaceError(`${formatPosition(pos)}: stage \`${name}\`: ${err.message}`, err.hint);
      }
    });
  }
}

function skipped(name: string): StageResult {
  return { name, status: 'skipped', reason: 'not selected', durationMs: 0 };
}

async function outsOfUnselected(engine: Engine, need: string, forStage: string): Promise<OutRecord[]> {
  const { records, missing } = await engine.planner.outsOrRecorded(engine.graph.stage(need));
  for (const { out, recorded } of missing) {
    if (!recorded || !(await engine.ws.restoreOut(recorded))) {
      throw new UsageError(
        `stage \`${forStage}\` needs \`${out}\` (an out of \`${need}\`, which is not selected), but it is missing and not in the cache`,
        `run \`pipeline run ${need}\` first, or select it too (drop --single)`,
      );
    }
    records.push(recorded);
  }
  return records;
}

function upstreamOutsOf(stage: StageConfig, done: Map<string, Done>): Map<string, OutRecord[]> {
  return new Map(stage.needs.map((n) => [n, done.get(n)?.outs ?? []]));
}

function contextPaths(engine: Engine, stage: StageConfig, deps: Record<string, string>) {
  const inputs: Record<string, Record<string, string>> = {};
  for (const need of stage.needs) {
    inputs[need] = Object.fromEntries(engine.graph.stage(need).outs.map((o) => [o, engine.ws.abs(o)]));
  }
  return {
    inputs,
    deps: Object.fromEntries(Object.keys(deps).map((d) => [d, engine.ws.abs(d)])),
    outs: Object.fromEntries(stage.outs.map((o) => [o, engine.ws.abs(o)])),
  };
}

async function runOne(
  engine: Engine,
  stage: StageConfig,
  done: Map<string, Done>,
  force: boolean,
  options: RunOptions,
  reporter: Reporter,
): Promise<Done> {
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  const fail = (reason: string, fingerprint?: string): Done => {
    const result: StageResult = { name: stage.name, status: 'failed', reason, durationMs: elapsed(), fingerprint, gate: stage.gate };
    reporter.finish(result);
    return { result };
  };
  const upstream = upstreamOutsOf(stage, done);
  let decision: Decision;
  try {
    decision = await engine.planner.decide(stage, await engine.planner.inputsOf(stage, upstream), { force });
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message);
    throw err;
  }
  const { fingerprint } = decision;

  if (decision.action === 'fresh' || decision.action === 'restore') {
    let restored = true;
    if (decision.action === 'restore') {
      engine.cache.touchRun(fingerprint);
      for (const rec of decision.source!) {
        const have = await engine.ws.hashOut(rec.path).catch(() => undefined);
        if (have?.hash === rec.hash) continue;
        try {
          restored = await engine.ws.restoreOut(rec);
        } catch (err) {
          if (options.signal.aborted) return fail('interrupted while restoring its outputs (the outs are as they were)', fingerprint);
          if (!(err instanceof UsageError)) throw err;
          decision.reasons.push(err.message);
          restored = false;
        }
        if (!restored) break;
      }
    }
    if (restored) {
      const entry = engine.lock.get(stage.name);
      const lockCurrent = entry?.fingerprint === fingerprint && canonicalJson(entry.outs) === canonicalJson(decision.source);
      const hasRecord = !stage.cache || engine.cache.hasRun(fingerprint);
      // Fresh by pipeline.lock alone (a clone with an empty store): keep the outputs so they can be restored later.
      if (!hasRecord) for (const rec of decision.source!) await engine.ws.captureOut(rec.path);
      if (!lockCurrent || !hasRecord) recordSuccess(engine, stage, decision, decision.source!, undefined, 0);
      const log = options.verbose ? replayLog(engine, fingerprint) : undefined;
      const result: StageResult = {
        name: stage.name,
        status: 'cached',
        reason: decision.action === 'fresh' ? decision.reasons.join('; ') : `restored: ${decision.reasons.join('; ')}`,
        durationMs: elapsed(),
        fingerprint,
        gate: stage.gate,
      };
      reporter.finish(result, log);
      return { result, outs: decision.source };
    }
    decision.reasons.push('a cached object was missing or corrupt and was discarded');
  }

  // Run it. Keep the current outs (in the store) so a failure can put them back, then clear them.
  reporter.start(stage.name, decision.reasons);
  const previous: OutRecord[] = [];
  try {
    for (const out of stage.outs) {
      const rec = await engine.ws.captureOut(out, { optional: true });
      if (rec) previous.push(rec);
    }
    for (const out of stage.outs) engine.ws.removeOut(out);
  } catch (err) {
    if (options.signal.aborted) return fail('interrupted before it started', fingerprint);
    if (err instanceof UsageError) return fail(err.message, fingerprint);
    throw err;
  }
  const paths = contextPaths(engine, stage, decision.inputs.deps);
  for (const abs of Object.values(paths.outs)) mkdirSync(path.dirname(abs), { recursive: true });
  const bundle = stage.kind === 'module' ? await engine.code.bundlePath(stage.module!, decision.inputs.code) : undefined;
  const tmp = path.join(engine.stateDir, 'tmp');
  const exec = await executeStage({
    stage,
    root: engine.root,
    ...paths,
    bundle,
    logFile: path.join(engine.stateDir, 'logs', `${stage.name}.log`),
    verdictFile: path.join(tmp, `${stage.name}.${process.pid}.verdict`),
    signal: options.signal,
  });

  let failure: string | undefined;
  const outs: OutRecord[] = [];
  if (!exec.ok) {
    failure = exec.message ?? 'failed';
  } else {
    try {
      // Never record a result whose inputs changed while it ran.
      const after = await engine.planner.inputsOf(stage, upstream);
      if (canonicalJson(after) !== canonicalJson(decision.inputs)) {
        failure = `${changedInput(decision.inputs, after)} changed while the stage ran; its outputs were not recorded — run again`;
      } else {
        for (const out of stage.outs) outs.push(await engine.ws.captureOut(out));
      }
    } catch (err) {
      if (options.signal.aborted) failure = 'interrupted while its outputs were stored';
      else if (!(err instanceof UsageError)) throw err;
      else failure = err instanceof IoError ? `${err.message} (${err.hint})` : err.message;
    }
  }
  if (failure === undefined) {
    try {
      recordSuccess(engine, stage, decision, outs, engine.cache.storeBytes(exec.log), exec.durationMs);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      failure = `${err.message} (${err.hint ?? 'nothing was recorded'})`;
    }
  }
  if (failure !== undefined) {
    await rollBack(engine, stage, previous);
    const result: StageResult = {
      name: stage.name,
      status: 'failed',
      reason: failure,
      durationMs: exec.durationMs,
      fingerprint,
      gate: stage.gate,
    };
    reporter.finish(result, exec.log);
    return { result };
  }
  const result: StageResult = {
    name: stage.name,
    status: 'ran',
    reason: decision.reasons.join('; '),
    durationMs: exec.durationMs,
    fingerprint,
    gate: stage.gate,
  };
  reporter.finish(result, exec.log);
  return { result, outs };
}

function changedInput(before: Decision['inputs'], after: Decision['inputs']): string {
  for (const part of ['deps', 'code', 'upstream'] as const) {
    for (const k of new Set([...Object.keys(before[part]), ...Object.keys(after[part])])) {
      if (before[part][k] !== after[part][k]) return part === 'upstream' ? `input \`${k.slice(k.indexOf(':') + 1)}\`` : `${part === 'code' ? 'code' : 'input'} \`${k}\``;
    }
  }
  return 'an input';
}

async function rollBack(engine: Engine, stage: StageConfig, previous: OutRecord[]): Promise<void> {
  for (const out of stage.outs) {
    const prev = previous.find((p) => p.path === out);
    try {
      if (prev && (await engine.ws.restoreOut(prev))) continue;
      engine.ws.removeOut(out);
    } catch (err) {
      if (!(err instanceof UsageError) && !engine.ws.signal?.aborted) throw err;
      // Interrupted, or an I/O error: the stage failed already; what it left stays, and is never recorded.
    }
  }
}

function recordSuccess(engine: Engine, stage: StageConfig, decision: Decision, outs: OutRecord[], log: string | undefined, durationMs: number): void {
  const existing = engine.cache.readRun(decision.fingerprint);
  if (stage.cache && (!existing || log !== undefined)) {
    engine.cache.writeRun({
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

function replayLog(engine: Engine, fingerprint: string): string | undefined {
  const record = engine.cache.readRun(fingerprint);
  return record?.log ? engine.cache.readObjectText(record.log) : undefined;
}
