// What an earlier, killed run left running in the workspace (.pipeline/running/, see running.ts), stopped before a
// command that takes the workspace touches anything: each record goes to the executor that wrote it, which knows
// how to find what is left of it and stop it — a process group (stage processes and stage hosts), a Slurm job.
import type { Emit } from './events.js';
import { forgetRunning, readRunning, type RunningEntry, type RunningOwner } from './running.js';

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
  for (const { file, entry } of readRunning(root)) {
    // A torn record (a crash of the machine): nothing of it runs any more.
    if (entry) {
      const owner = await owners(entry.executor);
      const stopped = await owner.stop(entry, root);
      if (stopped) emit({ type: 'warning', warning: { code: 'leftover-stopped', stage: entry.stage, executor: entry.executor, runner: entry.runner, ...stopped } });
    }
    forgetRunning(file);
  }
}
