// The executors a run can use, made from their names, and the owner of each kind of record a stage leaves in
// .pipeline/running/ while it runs (the executor that knows how to stop what a killed run left of it).
import type { StageConfig } from '../config/types.js';
import type { Executor, ExecutorName } from './executor.js';
import type { LeftoverOwner, LeftoverOwners } from './leftovers.js';
import { HostPool, hostLeftovers } from './pool.js';
import { executeStage, processLeftovers } from './process.js';
import { killLiveGroups } from './process-group.js';
import type { RunningOwner } from './running.js';

/**
 * Child processes on this machine, each stage its own process group; with `hosts`, module stages in hosts started
 * ahead of need where one fits (pool.ts), and the hosts closed when the run is over.
 */
export function localExecutor(hosts?: HostPool): Executor {
  return {
    name: 'local',
    execute: (req) => (hosts ? hosts.execute(req) : executeStage(req)),
    abandon: () => {
      killLiveGroups();
      hosts?.close();
    },
    close: () => hosts?.close(),
  };
}

/** An executor for one run, with the stage hosts it takes from (local execution). */
export interface OpenedExecutor {
  executor: Executor;
  hosts?: HostPool;
}

/** How the slurm executor runs a stage: one batch job (slurm.ts), or one step of the allocation the run is in (slurm-steps.ts). */
export type SlurmMode = 'jobs' | 'steps';

/** How the slurm executor runs stages, and with `chainsOf` (`--slurm-group-chains`) the stages whose chains it groups. */
export interface SlurmOptions {
  mode: SlurmMode;
  chainsOf?: readonly StageConfig[];
  /** In steps mode: a module stage is likely to execute, so one host is started (as a step) at once. */
  hostAhead?: boolean;
  /** In steps mode: a command stage is likely to execute, so one shell is started (as a step) at once. */
  shellAhead?: boolean;
}

/**
 * The executor called `name` for a run in `root`: `local` with its hosts (`early`, when one was started before the
 * run knew its config, or a new pool), `slurm` once its controller answers or, in steps mode, once the run's
 * allocation is found (a usage error says why not).
 */
export async function openExecutor(name: ExecutorName, root: string, early?: HostPool, slurm: SlurmOptions = { mode: 'jobs' }): Promise<OpenedExecutor> {
  if (name === 'slurm') {
    early?.close();
    if (slurm.mode === 'steps') {
      const executor = await (await import('./slurm-steps.js')).SlurmStepExecutor.open(root, slurm.hostAhead, slurm.shellAhead);
      return { executor, hosts: executor.hosts };
    }
    const [{ SlurmExecutor }, { chainGroups }] = await Promise.all([import('./slurm.js'), import('./slurm-groups.js')]);
    return { executor: await SlurmExecutor.open(slurm.chainsOf ? chainGroups(slurm.chainsOf) : undefined) };
  }
  const hosts = early?.root === root ? early : new HostPool(root);
  if (hosts !== early) early?.close();
  return { executor: localExecutor(hosts), hosts };
}

/** The owner of each kind of record; the Slurm executor is loaded only when a record of a job is found. */
export const leftoverOwners: LeftoverOwners = async (executor: RunningOwner): Promise<LeftoverOwner> => {
  switch (executor) {
    case 'process':
      return processLeftovers;
    case 'host':
      return hostLeftovers;
    case 'slurm':
      return (await import('./slurm.js')).slurmLeftovers;
    default: {
      const never: never = executor;
      throw new Error(`no executor owns records of \`${String(never)}\``);
    }
  }
};
