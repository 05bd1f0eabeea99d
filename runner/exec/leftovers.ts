// What an earlier, killed run left running in the workspace (.pipeline/running/, see running.ts), stopped before a
// command that takes the workspace touches anything: each record goes to the executor that wrote it, which knows
// how to find what is left of it and stop it — a process group (stage processes and stage hosts), a Slurm job —
// and then the scratch copies a killed `exp run` left in the temp folder are removed.
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Emit } from './events.js';
import { forgetRunning, readRunning, scratchAreaOf, type RunningEntry, type RunningOwner } from './running.js';

/** How one executor stops what an earlier run left of its records. */
export interface LeftoverOwner<E extends RunningEntry = RunningEntry> {
  readonly executor: RunningOwner;
  /**
   * Stop what is left of a record and wait until it is gone: what was stopped (processes, or the cancelled job), or
   * undefined when nothing was left. Throws BusyError when something cannot be stopped.
   */
  stop(entry: E, root: string): Promise<{ processes?: number; jobId?: string } | undefined>;
}

/** The owner of each kind of record, loaded when a record of that kind is found. */
export type LeftoverOwners = (executor: RunningOwner) => Promise<LeftoverOwner>;

/**
 * Stop everything an earlier run left running here (called with the workspace's lock held), each through its
 * executor, and say so (a `leftover-stopped` warning per record that still had something running).
 */
export async function stopLeftovers(root: string, owners: LeftoverOwners, emit: Emit): Promise<void> {
  const records = readRunning(root);
  const areas = new Map<string, { file: string; runner: number }>();
  for (const { file, entry } of records) {
    if (entry?.kind !== 'scratch') continue;
    const base = scratchAreaOf(entry, root);
    if (base) areas.set(base, { file, runner: entry.runner });
    else forgetRunning(file); // an area removed already, or not one of this workspace's
  }
  // What ran is stopped before the folders it ran in are removed.
  for (const { file, entry } of records) {
    // A torn record (a crash of the machine): nothing of it runs any more.
    if (entry?.kind === 'scratch') continue;
    const ranIn = entry && startedIn(entry, root, areas.keys());
    if (entry && ranIn !== undefined) {
      const owner = await owners(entry.executor);
      const stopped = await owner.stop(entry, ranIn);
      if (stopped) emit({ type: 'warning', warning: { code: 'leftover-stopped', stage: entry.stage, executor: entry.executor, runner: entry.runner, ...stopped } });
    }
    forgetRunning(file);
  }
  for (const [base, { file, runner }] of areas) {
    rmSync(base, { recursive: true, force: true });
    forgetRunning(file);
    emit({ type: 'warning', warning: { code: 'leftover-scratch', folder: base, runner } });
  }
}

/**
 * The folder a record's processes were started in: the workspace, or a variant's copy inside one of this workspace's
 * scratch areas; undefined when the record names any other folder (an edited record: nothing of it is stopped).
 */
function startedIn(entry: RunningEntry, root: string, areas: Iterable<string>): string | undefined {
  if (entry.kind !== 'group' || entry.root === undefined) return root;
  const folder = path.normalize(String(entry.root));
  for (const base of areas) if (folder.startsWith(base + path.sep)) return folder;
  return undefined;
}
