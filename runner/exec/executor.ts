// Where a stage's command runs. The runner decides, restores and records; an executor only runs the command a
// stage must run and says how it ended, as the same structured result whatever runs it: `local` starts a child
// process (process.ts), `slurm` submits a batch job (slurm.ts). Outcomes, events and listeners do not change.
import type { ExecRequest, ExecResult } from './process.js';
import { executeStage } from './process.js';
import { killLiveGroups } from './leftovers.js';
import type { HostPool } from './pool.js';

export const EXECUTORS = ['local', 'slurm'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export interface Executor {
  readonly name: ExecutorName;
  /** Run one stage's command; never throws to mean "the stage failed". */
  execute(req: ExecRequest): Promise<ExecResult>;
  /**
   * The runner is about to exit at once (a second Ctrl-C): stop whatever still runs elsewhere, synchronously.
   * Local stages are process groups of their own and cluster jobs run elsewhere: neither ends with the runner by itself.
   */
  abandon?(): void;
}

/** Child processes on this machine, each stage its own process group. */
export const localExecutor: Executor = { name: 'local', execute: executeStage, abandon: killLiveGroups };

/** Child processes on this machine, module stages in hosts started ahead of need where one fits (pool.ts). */
export function localExecutorWith(hosts: HostPool): Executor {
  return {
    name: 'local',
    execute: (req) => executeStage(req, hosts),
    abandon: () => {
      killLiveGroups();
      hosts.close();
    },
  };
}
