// `pipeline exp run`: every variant of a sweep planned and run in one process, each in a scratch copy of the
// workspace's inputs (scratch.ts) with the workspace's store, all sharing one --jobs budget and one execution per
// fingerprint (exec/flights.ts): a stage that is the same in several variants runs once, the others restore its
// outs. The workspace's outs and pipeline.lock are not touched; each variant becomes an experiment record.
import { ExitCode } from '../../core/errors.js';
import type { PipelineConfig } from '../../config/types.js';
import { openEngine, type Engine } from '../../plan/engine.js';
import type { Emit, RunSummary } from '../../exec/events.js';
import type { Executor } from '../../exec/executor.js';
import { Flights } from '../../exec/flights.js';
import { formatCause } from '../../exec/outcome.js';
import { runStages } from '../../exec/scheduler.js';
import { openLease } from '../../store/uses.js';
import { EXPERIMENT_SCHEMA_VERSION, type ExperimentRecord } from '../../store/experiments.js';
import { readMetrics } from '../../report/metrics.js';
import type { SweepListener } from '../../report/sweep-progress.js';
import { ScratchArea, scratchInputs } from './scratch.js';
import type { Variant } from './variants.js';

/** Executions of all variants together bounded by --jobs. */
export function sharedBudget(executor: Executor, jobs: number): Executor {
  let running = 0;
  const queue: (() => void)[] = [];
  return {
    ...executor,
    name: executor.name,
    async execute(req) {
      if (running >= jobs) await new Promise<void>((resolve) => queue.push(resolve));
      else running++;
      try {
        return await executor.execute(req);
      } finally {
        const next = queue.shift();
        if (next) next();
        else running--;
      }
    },
  };
}

/** A config moved to another root (the variant's scratch copy); the positions in pipeline.yaml kept. */
function rerooted(config: PipelineConfig, root: string): PipelineConfig {
  const next = { ...config, root, file: config.file.replace(config.root, root) } as PipelineConfig;
  Object.defineProperty(next, 'positionOf', { value: (p: (string | number)[]) => config.positionOf(p), enumerable: false });
  if (config.rangeOf) Object.defineProperty(next, 'rangeOf', { value: config.rangeOf.bind(config), enumerable: false });
  return next;
}

export interface SweepContext {
  workspace: Engine;
  jobs: number;
  signal: AbortSignal;
  executor: Executor;
  commit: string | null;
  /** What happens to each variant (report/sweep-progress.ts). */
  progress: SweepListener;
  /** Each variant's record, as soon as it has one. */
  recorded: (record: ExperimentRecord) => void;
}

/** How bad an exit is: interrupted, then a stage failed, then a gate. */
const SEVERITY: Record<number, number> = { [ExitCode.ok]: 0, [ExitCode.gateFailed]: 1, [ExitCode.stageFailed]: 2, [ExitCode.interrupted]: 3 };

export interface SweepResult {
  records: ExperimentRecord[];
  exitCode: number;
  /** Stage executions (a fingerprint shared by several variants counted once) and stage results in all. */
  executions: number;
  stageRuns: number;
}

export async function runSweep(ctx: SweepContext, variants: Variant[]): Promise<SweepResult> {
  const area = new ScratchArea(ctx.workspace.root, await scratchInputs(ctx.workspace, variants.map((v) => v.config)));
  const flights = new Flights();
  const lease = openLease(ctx.workspace.cache, ctx.workspace.root);
  try {
    const records = await Promise.all(
      variants.map(async (variant, i) => {
        ctx.progress.started(variant.name, describeChanged(variant.changed));
        const record = await runVariant(ctx, area, variant, i, flights);
        ctx.recorded(record);
        ctx.progress.finished(variant.name, record.status === 'ok' ? { ok: true } : { ok: false, reason: record.reason ?? `exit ${record.exitCode}` });
        return record;
      }),
    );
    const exitCode = records.reduce((worst, r) => ((SEVERITY[r.exitCode] ?? 2) > (SEVERITY[worst] ?? 2) ? r.exitCode : worst), ExitCode.ok as number);
    return { records, exitCode, executions: flights.count, stageRuns: records.reduce((n, r) => n + r.stages.length, 0) };
  } finally {
    lease.release();
    await area.dispose();
  }
}

function describeChanged(changed: Record<string, unknown>): string {
  const parts = Object.entries(changed).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return parts.length > 0 ? parts.join(' ') : 'the workspace params';
}

async function runVariant(ctx: SweepContext, area: ScratchArea, variant: Variant, i: number, flights: Flights): Promise<ExperimentRecord> {
  const started = performance.now();
  const createdAt = new Date().toISOString();
  const root = area.make(`v${i + 1}`);
  const engine = openEngine(rerooted(variant.config, root), { workspaceRoot: ctx.workspace.root, code: ctx.workspace.code });
  try {
    return await recordVariant(ctx, variant, engine, flights, createdAt, started);
  } finally {
    // Its copy is removed while the other variants run (the record has all it needs of it).
    area.release(root);
  }
}

async function recordVariant(ctx: SweepContext, variant: Variant, engine: Engine, flights: Flights, createdAt: string, started: number): Promise<ExperimentRecord> {
  const emit: Emit = (event) => ctx.progress.event(variant.name, event);
  let summary: RunSummary;
  try {
    summary = await runStages(engine, { names: [], mode: 'needs', force: false, jobs: ctx.jobs, keepGoing: false, verbose: false, signal: ctx.signal, executor: ctx.executor, flights }, emit);
  } catch (err) {
    const reason = (err as Error).message;
    return base(variant, ctx.commit, createdAt, started, { status: 'failed', reason, exitCode: ExitCode.stageFailed, metrics: {}, stages: [] });
  }
  const failed = summary.stages.find((s) => s.outcome.kind === 'failed');
  const reason = failed && failed.outcome.kind === 'failed' ? `stage \`${failed.name}\`${failed.gate ? ' (gate)' : ''}: ${formatCause(failed.outcome.cause)}` : summary.exitCode === ExitCode.interrupted ? 'interrupted' : undefined;
  const stages = summary.stages.map((s) => ({ name: s.name, outcome: s.outcome.kind, ...(s.fingerprint ? { fingerprint: s.fingerprint } : {}), outs: engine.lock.get(s.name)?.fingerprint === s.fingerprint ? (engine.lock.get(s.name)?.outs ?? []) : [] }));
  return base(variant, ctx.commit, createdAt, started, {
    status: summary.ok ? 'ok' : 'failed',
    ...(reason ? { reason } : {}),
    exitCode: summary.exitCode,
    metrics: readMetrics(engine).snapshot,
    stages,
  });
}

function base(variant: Variant, commit: string | null, createdAt: string, started: number, rest: Pick<ExperimentRecord, 'status' | 'reason' | 'exitCode' | 'metrics' | 'stages'>): ExperimentRecord {
  return {
    schemaVersion: EXPERIMENT_SCHEMA_VERSION,
    name: variant.name,
    ...rest,
    commit,
    params: variant.params,
    changed: variant.changed,
    createdAt,
    durationMs: Math.round(performance.now() - started),
  };
}
