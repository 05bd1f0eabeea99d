// Before anything starts: the selection, and the checks that refuse the whole run (exit 2) — a missing dep, an
// out that is a symlink or leads outside the workspace, an unselected stage's out that is gone and not stored.
import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { OutRecord } from '../store/cache.js';
import type { Engine } from '../plan/engine.js';
import { UsageError, formatPosition } from '../core/errors.js';
import { WorkspaceError } from '../store/workspace.js';
import { checkStateDir, checkStore } from '../store/preflight.js';
import { firstMissingDep, missingDep, missingDepError, selectStages, unselectedOuts, type SelectOptions, type StageSelection } from '../plan/selection.js';

export interface Preflight extends StageSelection {
  /** The outs of the stages the selected ones need but that are not selected, as now in the workspace. */
  unselected: Map<string, OutRecord[]>;
}

export async function preflight(engine: Engine, options: SelectOptions): Promise<Preflight> {
  const selection = selectStages(engine, options);
  const { selected } = selection;
  checkDeps(engine, selected);
  checkOuts(engine, selected);
  checkStore(engine.cache, engine.root, [...selected].flatMap((s) => engine.graph.stage(s).outs.map((out) => ({ stage: s, out }))));
  checkStateDir(engine.stateDir, ['logs', 'tmp', 'state', 'running', 'history']);
  // Upstream stages outside the selection: their outs must be in the workspace, or restorable from the cache.
  const unselected = new Map<string, OutRecord[]>();
  for (const name of selected) {
    for (const need of engine.graph.upstream(name)) {
      if (selected.has(need) || unselected.has(need)) continue;
      unselected.set(need, await restoreUnselected(engine, need, name));
    }
  }
  return { ...selection, unselected };
}

/** Every declared dep of the selected stages must exist before anything starts, but those an upstream writes (plan/selection.ts). */
function checkDeps(engine: Engine, selected: Set<string>): void {
  for (const name of selected) {
    const stage = engine.graph.stage(name);
    const missing = firstMissingDep(engine, stage, selected);
    if (missing !== undefined) throw missingDepError(stage, missingDep(engine, stage, missing));
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

async function restoreUnselected(engine: Engine, need: string, forStage: string): Promise<OutRecord[]> {
  const { present, toRestore, unrecorded } = await unselectedOuts(engine, need);
  const notStored = async (): Promise<string | undefined> => {
    if (unrecorded.length > 0) return unrecorded[0];
    if (toRestore.length > 0) engine.code.workspaceChanging();
    for (const rec of toRestore) if (!(await engine.ws.restoreOut(rec))) return rec.path;
    return undefined;
  };
  const out = await notStored();
  if (out !== undefined) {
    throw new UsageError(
      `stage \`${forStage}\` needs \`${out}\` (an out of \`${need}\`, which is not selected), but it is missing and not in the cache`,
      `run \`pipeline run ${need}\` first, or select it too (drop --single)`,
    );
  }
  return [...present, ...toRestore];
}
