// The `slurm` executor in steps mode (`--slurm-mode steps`, `slurm: {mode: steps}`): the run is inside a Slurm
// allocation (`salloc`, or a batch script), and each stage that must run is one job step of it,
// `srun --jobid=$SLURM_JOB_ID -n1 -c<cpus> --exact …`, started as the local executor starts a process
// (process.ts): srun is the stage's process, with the stage's environment (environment.ts: the filtered base set,
// which srun exports to the step), its output captured and masked into the stage's log as it arrives. A step
// starts in some 35 ms where a batch job waits about a second for the controller's scheduling loop.
//
// srun runs verbose: its own lines (`srun: …`, on its stderr) are kept out of the log and out of the failure's
// reason, and one of them names the step (`launching StepId=J.S`), which `--json` reports and a cancel signals:
// `scancel -s TERM J.S`, then `scancel J.S` (SIGKILL) 3 s later; srun returns once the step is over. The step's
// output goes through srun to the runner, never to files on the node (`-o` into a missing folder would leave the
// step holding its CPUs).
//
// Never chosen by itself: a run inside an allocation still submits one batch job per stage unless told otherwise,
// since a small driver allocation cannot hold the stages' resources.
import { UsageError } from '../core/errors.js';
import type { StageConfig } from '../config/types.js';
import type { ExecRequest, ExecResult, Executor } from './executor.js';
import { runHelper, runHelperSync, type Launched } from './launch.js';
import { executeStage, processArgv, type TakenHost } from './process.js';
import { killLiveGroups } from './process-group.js';
import { forgetRunning, recordRunning } from './running.js';
import { slurmTime } from './slurm.js';
import { StepHostPool } from './slurm-step-hosts.js';
import { ShellStepPool } from './slurm-step-shells.js';
import { SrunStderr } from './srun-stderr.js';

export { SrunStderr } from './srun-stderr.js';

/** How long a step that ignores SIGTERM has before it is killed. */
const KILL_AFTER_MS = 3000;

/** The allocation a run in steps mode is inside, or a usage error saying why there is none. */
export async function allocationOf(from: Record<string, string | undefined> = process.env): Promise<Allocation> {
  const id = from.SLURM_JOB_ID ?? from.SLURM_JOBID;
  if (id === undefined || id === '')
    throw new UsageError(
      '`--slurm-mode steps` runs each stage as a job step of the Slurm allocation the run is in, but SLURM_JOB_ID is not set: this run is not inside an allocation',
      'start it inside one (`salloc -c4 pipeline run --slurm-mode steps`, or from an sbatch script), or use the default `--slurm-mode jobs` to submit one job per stage',
    );
  if (!/^[0-9]+$/.test(id)) throw new UsageError(`\`--slurm-mode steps\`: SLURM_JOB_ID is \`${id}\`, not a job id`, 'run inside an allocation made by salloc or sbatch');
  const r = await runHelper('squeue', ['-h', '-j', id, '-o', '%T %C']);
  if (r.error === 'ENOENT') throw new UsageError('`--slurm-mode steps`: the Slurm commands (srun, squeue, scancel) are not on PATH', 'run on a node of the cluster');
  const [state = '', cpus] = r.code === 0 ? r.stdout.trim().split(' ') : [];
  if (state !== 'RUNNING')
    throw new UsageError(
      `\`--slurm-mode steps\`: the allocation ${id} (SLURM_JOB_ID) is ${state ? state.toLowerCase() : `not known to Slurm (${lastLine(r.stderr) || r.error || `exit ${r.code}`})`}`,
      'start the run inside a running allocation (`salloc`, or an sbatch script)',
    );
  return { id, cpus: Number(cpus) || 1 };
}

/** The allocation a run in steps mode is inside: its job id and how many CPUs it holds. */
export interface Allocation {
  id: string;
  cpus: number;
}

/**
 * Whether a stage may run in a step started ahead: one that asks nothing of `resources:` (so one CPU, no memory, no
 * time limit of Slurm's: the shape of a waiting step; its `timeout` is the runner's to enforce either way). A module
 * stage in a Node.js host (slurm-step-hosts.ts), a command stage in a shell (slurm-step-shells.ts).
 */
export function fitsHostStep(stage: StageConfig): boolean {
  const r = stage.resources;
  return r?.cpus === undefined && r?.memory === undefined && r?.timeMs === undefined;
}

/** srun's options for a stage's step (resources per step from `resources:`; `partition` and `sbatch` are the allocation's). */
export function srunFlags(stage: StageConfig, jobId: string, req: Pick<ExecRequest, 'root' | 'attempt'>): string[] {
  const r = stage.resources;
  const flags = ['--jobid', jobId, '-n1', '-N1', `-c${r?.cpus ?? 1}`, '--exact', '-v', `--job-name=pipeline-${stage.name}`, `--chdir=${req.root}`, '--export=ALL', '--input=none'];
  if (r?.memory !== undefined) flags.push(`--mem=${r.memory[Math.min(req.attempt, r.memory.length) - 1]}`);
  const limit = r?.timeMs ?? stage.timeoutMs;
  if (limit !== undefined) flags.push(`--time=${slurmTime(limit)}`);
  return flags;
}

/**
 * The CPUs of the allocation the run's stages hold: a stage waits until it fits. One that asks for more than the
 * allocation has is not held back (srun then says why it cannot have them).
 */
export class CpuLedger {
  private inUse = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly cpus: number) {}

  /** Once `cpus` fit (what to release), or undefined when the signal stopped the wait. */
  async acquire(cpus: number, signal: AbortSignal): Promise<number | undefined> {
    const counted = cpus <= this.cpus ? cpus : 0;
    while (!signal.aborted && this.inUse + counted > this.cpus) await this.freed(signal);
    if (signal.aborted) return undefined;
    this.inUse += counted;
    return counted;
  }

  release(held: number): void {
    this.inUse -= held;
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** Until CPUs are released, or the signal stops the wait. */
  private freed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.waiting.push(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }
}

export class SlurmStepExecutor implements Executor {
  readonly name = 'slurm';
  /** Steps running now (J.S). */
  private readonly steps = new Set<string>();
  /** CPUs of the allocation held by the stages this run runs now (counted by the runner: see slurm-step-hosts.ts). */
  private readonly ledger: CpuLedger;
  /** Module stages' hosts started ahead, as steps of the allocation. */
  readonly hosts: StepHostPool;
  /** Command stages' shells started ahead, as steps of the allocation (one waits once a command stage ran). */
  readonly shells: ShellStepPool;

  private constructor(
    readonly jobId: string,
    cpus: number,
    root: string,
  ) {
    this.hosts = new StepHostPool(root, jobId);
    this.shells = new ShellStepPool(root, jobId);
    this.shells.want(() => 1);
    this.ledger = new CpuLedger(cpus);
  }

  /** In the allocation the run is in; `early`: a module stage is likely to run (one host is started at once), `shellEarly`: a command stage. */
  static async open(root: string, early = false, shellEarly = false): Promise<SlurmStepExecutor> {
    const { id, cpus } = await allocationOf();
    const executor = new SlurmStepExecutor(id, cpus, root);
    if (early) executor.hosts.prestart();
    if (shellEarly) executor.shells.prestart();
    return executor;
  }

  async execute(req: ExecRequest): Promise<ExecResult> {
    // A stage waits here until this run's stages leave it enough CPUs of the allocation: Slurm does not count those
    // in hosts started ahead (--overlap). One asking for more than the allocation has goes on: srun says why it cannot.
    const held = await this.ledger.acquire(req.stage.resources?.cpus ?? 1, req.signal);
    if (held === undefined) return { ok: false, cause: { kind: 'interrupted' }, durationMs: 0, log: '', jobId: this.jobId };
    try {
      return await this.run(req, this.take(req));
    } finally {
      this.ledger.release(held);
    }
  }

  /** A step started ahead that gives the stage what a step started for it would, or undefined: one is started for it. */
  private take(req: ExecRequest): { taken: TakenHost; split: SrunStderr } | undefined {
    if (!fitsHostStep(req.stage)) return undefined;
    const pool = req.stage.kind === 'module' ? this.hosts : this.shells;
    const { argv, env } = processArgv(req);
    const taken = pool.take(argv, req.root, env);
    return taken && { taken, split: pool.stepOf(taken.process) };
  }

  private async run(req: ExecRequest, host: { taken: TakenHost; split: SrunStderr } | undefined): Promise<ExecResult> {
    const split = host?.split ?? new SrunStderr();
    let stopping: Promise<NodeJS.Timeout | undefined> | undefined;
    let record: string | undefined;
    // Recorded while it runs: a killed runner's step is cancelled by the next run (slurm.ts slurmLeftovers).
    const noteStep = () => {
      if (!split.stepId || this.steps.has(split.stepId)) return;
      this.steps.add(split.stepId);
      record = recordRunning(req.recordsIn, { kind: 'job', executor: 'slurm', stage: req.stage.name, jobId: split.stepId, runner: process.pid });
    };
    noteStep();
    const result = await executeStage(req, host?.taken, {
      argv: (argv) => ['srun', ...srunFlags(req.stage, this.jobId, req), ...argv],
      supervision: {
        stop: (child) => void (stopping ??= this.stopStep(split, child)),
        stderr: (data) => {
          const out = split.filter(data);
          noteStep();
          return out;
        },
      },
    });
    clearTimeout(await stopping);
    if (split.stepId) this.steps.delete(split.stepId);
    forgetRunning(record);
    const ids = { jobId: this.jobId, ...(split.stepId ? { stepId: split.stepId } : {}) };
    if (result.ok) return { ...result, ...ids };
    let { cause } = result;
    if (stopping && req.signal.aborted && cause.kind !== 'timeout') cause = { kind: 'interrupted' };
    else if (!split.stepId && cause.kind === 'exit') {
      // No step was made: srun's own error says why (the allocation ended, resources it can never have, …).
      const why = split.own.filter((l) => /^srun: error: /.test(l)).at(-1)?.replace(/^srun: error: /, '');
      cause = { kind: 'spawn', message: `srun could not start a step in allocation ${this.jobId}: ${why ?? cause.message ?? `exit ${cause.exitCode}`}` };
    }
    return { ...result, cause, ...ids };
  }

  /** SIGTERM to the step, SIGKILL 3 s later; a step not made yet is given up by stopping srun. */
  private async stopStep(split: SrunStderr, srun: Launched): Promise<NodeJS.Timeout | undefined> {
    const step = split.stepId;
    if (step === undefined) {
      // srun still waits for its step to be made: SIGTERM makes it give up (nothing of the stage ran yet).
      srun.stop();
      return undefined;
    }
    await runHelper('scancel', ['--signal=TERM', step]);
    return setTimeout(() => void runHelper('scancel', [step]), KILL_AFTER_MS).unref();
  }

  abandon(): void {
    this.hosts.abandon();
    this.shells.abandon();
    if (this.steps.size > 0) runHelperSync('scancel', [...this.steps], { timeoutMs: 10_000 });
    killLiveGroups();
  }

  /** The run is over: the waiting hosts end, and their steps with them, before the run returns. */
  async close(): Promise<void> {
    await Promise.all([this.hosts.ended(), this.shells.ended()]);
  }
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1)?.trim() ?? '';
}
