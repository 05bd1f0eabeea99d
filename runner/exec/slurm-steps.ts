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
import { executeStage } from './process.js';
import { killLiveGroups } from './process-group.js';
import { forgetRunning, recordRunning } from './running.js';
import { slurmTime } from './slurm.js';

/** How long a step that ignores SIGTERM has before it is killed. */
const KILL_AFTER_MS = 3000;
/** srun's line that names the step it launched. */
const LAUNCHING = /^srun: launching StepId=([0-9]+\.[0-9]+)\b/;

/** The allocation a run in steps mode is inside, or a usage error saying why there is none. */
export async function allocationOf(from: Record<string, string | undefined> = process.env): Promise<string> {
  const id = from.SLURM_JOB_ID ?? from.SLURM_JOBID;
  if (id === undefined || id === '')
    throw new UsageError(
      '`--slurm-mode steps` runs each stage as a job step of the Slurm allocation the run is in, but SLURM_JOB_ID is not set: this run is not inside an allocation',
      'start it inside one (`salloc -c4 pipeline run --slurm-mode steps`, or from an sbatch script), or use the default `--slurm-mode jobs` to submit one job per stage',
    );
  if (!/^[0-9]+$/.test(id)) throw new UsageError(`\`--slurm-mode steps\`: SLURM_JOB_ID is \`${id}\`, not a job id`, 'run inside an allocation made by salloc or sbatch');
  const r = await runHelper('squeue', ['-h', '-j', id, '-o', '%T']);
  if (r.error === 'ENOENT') throw new UsageError('`--slurm-mode steps`: the Slurm commands (srun, squeue, scancel) are not on PATH', 'run on a node of the cluster');
  const state = r.code === 0 ? r.stdout.trim() : '';
  if (state !== 'RUNNING')
    throw new UsageError(
      `\`--slurm-mode steps\`: the allocation ${id} (SLURM_JOB_ID) is ${state ? state.toLowerCase() : `not known to Slurm (${lastLine(r.stderr) || r.error || `exit ${r.code}`})`}`,
      'start the run inside a running allocation (`salloc`, or an sbatch script)',
    );
  return id;
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

/** srun's stderr split: the step's own lines go on, srun's (`srun: …`) are kept aside, the step's id taken from them. */
export class SrunStderr {
  private pending = '';
  stepId: string | undefined;
  /** srun's own lines (its errors say why a step could not be made). */
  readonly own: string[] = [];

  filter(data?: Buffer): Buffer {
    const text = this.pending + (data ? data.toString('latin1') : '');
    const lines = text.split('\n');
    this.pending = data ? lines.pop()! : '';
    const kept: string[] = [];
    for (const line of lines) {
      if (!line.startsWith('srun: ')) {
        kept.push(line);
        continue;
      }
      this.stepId ??= LAUNCHING.exec(line)?.[1];
      this.own.push(line);
      if (this.own.length > 50) this.own.shift();
    }
    const out = data ? kept.map((l) => `${l}\n`).join('') : kept.join('\n');
    return Buffer.from(out, 'latin1');
  }
}

export class SlurmStepExecutor implements Executor {
  readonly name = 'slurm';
  /** Steps running now (J.S). */
  private readonly steps = new Set<string>();

  private constructor(readonly jobId: string) {}

  static async open(): Promise<SlurmStepExecutor> {
    return new SlurmStepExecutor(await allocationOf());
  }

  async execute(req: ExecRequest): Promise<ExecResult> {
    const split = new SrunStderr();
    let stopping: Promise<NodeJS.Timeout | undefined> | undefined;
    let record: string | undefined;
    const result = await executeStage(req, undefined, {
      argv: (argv) => ['srun', ...srunFlags(req.stage, this.jobId, req), ...argv],
      supervision: {
        stop: (child) => void (stopping ??= this.stopStep(split, child)),
        stderr: (data) => {
          const out = split.filter(data);
          // Recorded while it runs: a killed runner's step is cancelled by the next run (slurm.ts slurmLeftovers).
          if (split.stepId && !this.steps.has(split.stepId)) {
            this.steps.add(split.stepId);
            record = recordRunning(req.root, { kind: 'job', executor: 'slurm', stage: req.stage.name, jobId: split.stepId, runner: process.pid });
          }
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
    if (this.steps.size > 0) runHelperSync('scancel', [...this.steps], { timeoutMs: 10_000 });
    killLiveGroups();
  }
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1)?.trim() ?? '';
}
