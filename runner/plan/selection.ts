// What a run (or a dry run) covers: the selected stages, the ones `--force` applies to, and the outs of the
// stages it needs but did not select. Shared by `run`, `run --dry-run` and `status` so they agree.
import type { OutRecord } from '../store/cache.js';
import type { Engine } from './engine.js';
import type { Selection } from '../graph/graph.js';
import type { StageConfig } from '../config/types.js';
import { formatPosition, UsageError } from '../core/errors.js';
import { similarPath } from '../core/similar-path.js';
import { unreachable, type Reason } from './reasons.js';
import type { InputsProblem } from './decide.js';
import { existsSync } from 'node:fs';
import { isGlobPattern, isUrlDep } from '../core/paths.js';
import { producersOf } from './produced.js';

export interface SelectOptions {
  names: string[];
  mode: Selection;
  force: boolean;
}

export interface StageSelection {
  selected: Set<string>;
  /** The stages `--force` runs: the named ones, or every selected one when none is named. */
  forced: Set<string>;
}

export function selectStages(engine: Engine, options: SelectOptions): StageSelection {
  const selected = engine.graph.select(options.names, options.mode);
  const forced = new Set(options.force ? (options.names.length > 0 ? engine.graph.expand(options.names) : [...selected]) : []);
  return { selected, forced };
}

/**
 * The outs of a stage outside the selection: those in the workspace, and for each missing one its record in
 * pipeline.lock to restore from (`unrecorded` lists the missing ones without a record).
 */
export async function unselectedOuts(engine: Engine, need: string): Promise<{ present: OutRecord[]; toRestore: OutRecord[]; unrecorded: string[] }> {
  const { records, missing } = await engine.planner.outsOrRecorded(engine.graph.stage(need));
  const toRestore: OutRecord[] = [];
  const unrecorded: string[] = [];
  for (const { out, recorded } of missing) {
    // Recorded but not in the store (a fresh clone): as good as unrecorded.
    if (recorded && engine.planner.missingObject([recorded]) === undefined) toRestore.push(recorded);
    else unrecorded.push(out);
  }
  return { present: records, toRestore, unrecorded };
}

/**
 * The first dep of a selected stage that does not exist and that nothing will write before the stage starts: a dep
 * that a selected stage writes, or a stage it needs (whose outs are restored before the run), is checked once that
 * stage ran (globs are checked when read).
 */
export function firstMissingDep(engine: Engine, stage: StageConfig, selected: Set<string>): string | undefined {
  return stage.deps.find(
    (d) =>
      !isGlobPattern(d) &&
      !isUrlDep(d) &&
      !existsSync(engine.ws.depPath(d)) &&
      !producersOf(engine.config, stage, d).some((p) => selected.has(p) || stage.needs.includes(p)),
  );
}

/** A dep that does not exist, located at its entry in `deps` — the one place this reason is made. */
export function missingDep(engine: Engine, stage: StageConfig, dep: string): Extract<Reason, { code: 'dep-missing' }> {
  const i = stage.deps.indexOf(dep);
  const pos = i >= 0 ? engine.config.positionOf(['stages', stage.name, 'deps', i]) : stage.pos;
  const suggestion = similarPath(engine.root, dep, engine.config.stages.flatMap((s) => s.outs));
  return { code: 'dep-missing', path: dep, position: formatPosition(pos), ...(suggestion ? { suggestion } : {}) };
}

/** A problem reading a stage's inputs, as the reason a dry run gives. */
export function inputsProblemReason(engine: Engine, stage: StageConfig, problem: InputsProblem): Reason {
  switch (problem.kind) {
    case 'dep-missing':
      return missingDep(engine, stage, problem.path);
    case 'module-error':
      return { code: 'module-error', message: problem.message };
    case 'dep-refused':
      return { code: 'dep-refused', message: problem.message };
    default:
      return unreachable(problem);
  }
}

/** The error that stops a run before anything starts because of a missing dep (exit 2). */
export function missingDepError(stage: StageConfig, reason: Extract<Reason, { code: 'dep-missing' }>): UsageError {
  const like = reason.suggestion ? ` (did you mean \`${reason.suggestion}\`?)` : '';
  return new UsageError(`${reason.position}: stage \`${stage.name}\`: dep \`${reason.path}\` does not exist${like}`, 'create it, or fix the path in `deps`');
}
