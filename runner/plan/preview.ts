// What a run would do, without doing it: `run --dry-run` and `status`. Stages are walked in order; an upstream
// that is fresh or restorable has known outs, so its downstream is decided exactly; an upstream that must
// execute leaves its downstream undecided until then ("maybe": it runs only if those outs change).
import { checkRecordedOuts, type OutRecord } from '../store/cache.js';
import type { Engine } from './engine.js';
import type { Selection } from '../graph/graph.js';
import { explainChanges } from './decide.js';
import type { StageConfig } from '../config/types.js';
import type { Reason } from './reasons.js';
import { inputsProblemReason, selectStages, unselectedOuts } from './selection.js';
import { producersOf, recordedUnder } from './produced.js';
import { createRequire } from 'node:module';
import { isGlobPattern } from '../core/paths.js';

type Matcher = (glob: string, options?: { dot?: boolean }) => (path: string) => boolean;
const globMatcher = (dep: string): ((key: string) => boolean) =>
  isGlobPattern(dep) ? (createRequire(import.meta.url)('picomatch') as Matcher)(dep, { dot: true }) : () => false;

export type PreviewAction = 'fresh' | 'restore' | 'run' | 'maybe' | 'skipped';

export interface StagePreview {
  name: string;
  action: PreviewAction;
  state: 'fresh' | 'stale';
  reasons: Reason[];
  fingerprint?: string;
}

export interface PreviewOptions {
  names: string[];
  mode: Selection;
  force: boolean;
  /**
   * `status --remote`: the outs the remote cache records for a fingerprint, or undefined. A stage that would run
   * and whose result the remote holds is shown as restorable from it, and its downstream is decided on those outs.
   */
  remoteOuts?: (fingerprint: string) => Promise<OutRecord[] | undefined>;
}

export async function preview(engine: Engine, options: PreviewOptions): Promise<StagePreview[]> {
  const { graph } = engine;
  const { selected, forced } = selectStages(engine, options);
  const known = new Map<string, OutRecord[] | undefined>();
  const byName = new Map<string, StagePreview>();
  const results: StagePreview[] = [];

  const outsOf = async (need: string): Promise<OutRecord[] | undefined> => {
    if (known.has(need)) return known.get(need);
    // Not selected: as it is in the workspace, or as recorded when it can be restored.
    const { present, toRestore, unrecorded } = await unselectedOuts(engine, need);
    return unrecorded.length > 0 ? undefined : [...present, ...toRestore];
  };

  for (const name of graph.order) {
    if (!selected.has(name)) continue;
    const p = await previewOne(engine, graph.stage(name), forced.has(name), outsOf, byName, options.remoteOuts);
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
  remoteOuts?: PreviewOptions['remoteOuts'],
): Promise<StagePreview & { outs?: OutRecord[] }> {
  const { planner } = engine;
  const upstream = new Map<string, OutRecord[]>();
  const undecided: string[] = [];
  for (const need of stage.needs) {
    const outs = await outsOf(need);
    if (outs) upstream.set(need, outs);
    else undecided.push(need);
  }
  // A dep an upstream writes and that is not there yet is read once that upstream ran: "produced by", not missing.
  const read = await planner.inputsOf(stage, upstream, (dep) => producersOf(engine.config, stage, dep).length > 0);
  if (!read.ok) return { name: stage.name, action: 'run', state: 'stale', reasons: [inputsProblemReason(engine, stage, read.problem)] };
  const { inputs } = read;
  const produced = (read.pending ?? []).map((path): Reason => ({ code: 'dep-produced', path, stage: producersOf(engine.config, stage, path)[0] }));
  if (undecided.length > 0 || produced.length > 0) {
    const entry = engine.lock.get(stage.name);
    // Judge the stage's own changes against the lock, taking the undecided upstream outs (and the deps they write) as recorded.
    const deps = { ...recordedUnder(entry?.deps ?? {}, read.pending ?? [], globMatcher), ...inputs.deps };
    const own = explainChanges(stage, { ...inputs, deps, upstream: { ...(entry?.upstream ?? {}), ...inputs.upstream } }, entry);
    const willRun = undecided.filter((u) => byName.has(u));
    const waits: Reason[] = [
      ...(willRun.length > 0 ? [{ code: 'upstream-will-run', stages: willRun } as const] : []),
      ...undecided.filter((u) => !byName.has(u)).map((u): Reason => ({ code: 'upstream-has-no-outs', stage: u })),
    ];
    // Outs missing from the workspace whose recorded bytes are not in the store either: no restore can help.
    const gone: Reason[] =
      entry && stage.cache && (await planner.workspaceOuts(stage)).missing.length > 0 ? planner.notInStore(entry.outs, 'lock') : [];
    const definite = own.length > 0 || force || !stage.cache || gone.length > 0;
    const forcedReason: Reason[] = force ? [{ code: 'forced' }] : [];
    return { name: stage.name, action: definite ? 'run' : 'maybe', state: 'stale', reasons: [...own, ...gone, ...forcedReason, ...waits, ...produced] };
  }
  const d = await planner.decide(stage, inputs, { force });
  if (d.action === 'run' && remoteOuts && stage.cache && !force) {
    const outs = await remoteOuts(d.fingerprint);
    if (outs && checkRecordedOuts(stage.outs, outs, 'the remote') === undefined) {
      const reasons: Reason[] = [...d.reasons, { code: 'restorable-from-remote' }];
      return { name: stage.name, action: 'restore', state: 'stale', reasons, fingerprint: d.fingerprint, outs };
    }
  }
  return {
    name: stage.name,
    action: d.action,
    state: d.action === 'fresh' ? 'fresh' : 'stale',
    reasons: d.reasons,
    fingerprint: d.fingerprint,
    outs: d.source,
  };
}
