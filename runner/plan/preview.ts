// What a run would do, without doing it: `run --dry-run` and `status`. Stages are walked in order; an upstream
// that is fresh or restorable has known outs, so its downstream is decided exactly; an upstream that must
// execute leaves its downstream undecided until then ("maybe": it runs only if those outs change).
import type { OutRecord } from '../store/cache.js';
import type { Engine } from './engine.js';
import { UsageError } from '../core/errors.js';
import type { Selection } from '../graph/graph.js';
import { explainChanges } from './decide.js';
import type { StageConfig } from '../config/types.js';

export type PreviewAction = 'fresh' | 'restore' | 'run' | 'maybe' | 'skipped';

export interface StagePreview {
  name: string;
  action: PreviewAction;
  state: 'fresh' | 'stale';
  reasons: string[];
  fingerprint?: string;
}

export interface PreviewOptions {
  names: string[];
  mode: Selection;
  force: boolean;
}

export async function preview(engine: Engine, options: PreviewOptions): Promise<StagePreview[]> {
  const { graph, planner } = engine;
  const selected = graph.select(options.names, options.mode);
  const forced = new Set(options.force ? (options.names.length > 0 ? options.names : [...selected]) : []);
  const known = new Map<string, OutRecord[] | undefined>();
  const byName = new Map<string, StagePreview>();
  const results: StagePreview[] = [];

  const outsOf = async (need: string): Promise<OutRecord[] | undefined> => {
    if (known.has(need)) return known.get(need);
    // Not selected: as it is in the workspace, or as recorded when it can be restored.
    const { records, missing } = await planner.outsOrRecorded(graph.stage(need));
    for (const { recorded } of missing) {
      if (!recorded) return undefined;
      records.push(recorded);
    }
    return records;
  };

  for (const name of graph.order) {
    const stage = graph.stage(name);
    if (!selected.has(name)) {
      continue;
    }
    const p = await previewOne(engine, stage, forced.has(name), outsOf, byName);
    byName.set(name, p);
    known.set(name, p.action === 'fresh' || p.action === 'restore' ? p.outs : undefined);
    results.push({ name: p.name, action: p.action, state: p.state, reasons: p.reasons, fingerprint: p.fingerprint });
  }
  return results;
}

async function previewOne(
  engine: Engine,
  stage: StageConfig,
  force: boolean,
  outsOf: (need: string) => Promise<OutRecord[] | undefined>,
  byName: Map<string, StagePreview>,
): Promise<StagePreview & { outs?: OutRecord[] }> {
  const { planner } = engine;
  const upstream = new Map<string, OutRecord[]>();
  const undecided: string[] = [];
  for (const need of stage.needs) {
    const outs = await outsOf(need);
    if (outs) upstream.set(need, outs);
    else undecided.push(need);
  }
  let inputs;
  try {
    inputs = await planner.inputsOf(stage, upstream);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return { name: stage.name, action: 'run', state: 'stale', reasons: [err.message] };
  }
  if (undecided.length > 0) {
    const entry = engine.lock.get(stage.name);
    // Judge the stage's own changes against the lock, taking the undecided upstream outs as recorded.
    const own = explainChanges(stage, { ...inputs, upstream: { ...(entry?.upstream ?? {}), ...inputs.upstream } }, entry);
    const list = (names: string[]) => names.map((u) => `\`${u}\``).join(', ');
    const willRun = undecided.filter((u) => byName.has(u));
    const absent = undecided.filter((u) => !byName.has(u));
    const waits = [
      ...(willRun.length === 1 ? [`upstream ${list(willRun)} will run; runs if its outs change`] : []),
      ...(willRun.length > 1 ? [`upstreams ${list(willRun)} will run; runs if their outs change`] : []),
      ...absent.map((u) => `upstream \`${u}\` has no outs yet`),
    ];
    const definite = own.length > 0 || force || !stage.cache;
    return { name: stage.name, action: definite ? 'run' : 'maybe', state: 'stale', reasons: [...own, ...(force ? ['forced (--force)'] : []), ...waits] };
  }
  const d = await planner.decide(stage, inputs, { force });
  return {
    name: stage.name,
    action: d.action,
    state: d.action === 'fresh' ? 'fresh' : 'stale',
    reasons: d.reasons,
    fingerprint: d.fingerprint,
    outs: d.source,
  };
}
