// Stage hosts started ahead of need in steps mode (slurm-steps.ts): as locally (pool.ts), a module stage's Node.js
// start is paid while the stage before it runs, not on the critical path; here each waiting host is a job step of
// the allocation, `srun --overlap -n1 -c1 … host.js`, blocked reading its one job from stdin, which srun forwards.
//
// The trade-off: a step holds its CPUs from the moment it exists, so a waiting host made without `--overlap` would
// keep a CPU from the stages that need one (and with every CPU held by idle hosts, a stage they depend on would
// wait for ever). With `--overlap`, a waiting host holds nothing, and neither does the stage it then runs: Slurm
// does not count it against the other steps. So the runner counts instead (slurm-steps.ts): a stage runs in a host
// started ahead only while the CPUs of the stages it runs in the allocation, this one included, fit the
// allocation's; and only a stage that asks nothing of `resources:` (one CPU, no memory, no time limit: the shape of
// a waiting host's step). A stage with `resources:` gets a step started for it, sized and counted by Slurm.
//
// A taken host is its stage's step: the job carries the stage's whole environment, and the host keeps what Slurm set
// or changed for the step (host.ts `startedWith`), as a step started for the stage would have it. srun's
// own lines (one names the step) are read from the start (slurm-steps.ts SrunStderr), so a taken host's step id is
// known at once. When the run ends, each waiting host's stdin is closed: it exits running nothing, so does its step,
// and the run waits for its srun to return (a killed srun leaves its step to slurmd for seconds); a host still there
// after STOP_WAIT_MS is cancelled.
import { launch, runHelper, runHelperSync, type Launched } from './launch.js';
import { HostPool, type Host } from './pool.js';
import { SrunStderr } from './srun-stderr.js';

/** How long the run waits for its waiting hosts' steps to end after their stdin closed. */
const STOP_WAIT_MS = 5000;

/** srun's options for a waiting host's step: one CPU shared with the other steps (`--overlap`), stdin forwarded. */
export function hostStepFlags(jobId: string, root: string, name = 'pipeline-host'): string[] {
  return ['--jobid', jobId, '-n1', '-N1', '-c1', '--exact', '--overlap', '-v', `--job-name=${name}`, `--chdir=${root}`, '--export=ALL'];
}

export interface StepHost {
  split: SrunStderr;
  /** The environment srun was started with (what srun exports to the step, before Slurm adds its own). */
  env: Record<string, string>;
  /** Stops reading srun's stderr for the pool (the stage's supervision reads it from then on). */
  detach(): void;
}

export class StepHostPool extends HostPool {
  protected readonly steps = new WeakMap<Launched, StepHost>();
  /** The waiting steps' name (`squeue -s`, SLURM_JOB_NAME). */
  protected readonly stepName: string = 'pipeline-host';
  private readonly all = new Set<Launched>();
  private closing: Promise<void> | undefined;

  constructor(
    root: string,
    protected readonly jobId: string,
  ) {
    super(root);
  }

  protected override spawn(env: Record<string, string>): Launched {
    const srun = launch(['srun', ...hostStepFlags(this.jobId, this.root, this.stepName), ...this.argv], { cwd: this.root, env, stdin: 'pipe', group: true });
    const split = new SrunStderr();
    const read = (data: Buffer) => void split.filter(data);
    srun.stderr?.on('data', read);
    this.steps.set(srun, { split, env, detach: () => srun.stderr?.off('data', read) });
    this.all.add(srun);
    void srun.ended.then(() => this.all.delete(srun));
    return srun;
  }

  protected override job(host: Host, cwd: string, env: Record<string, string>): object {
    return { cwd, env, startedWith: this.steps.get(host.process)?.env ?? {} };
  }

  /** A taken host's srun stderr split (its step id, once srun named it), read by the stage from now on. */
  stepOf(srun: Launched): SrunStderr {
    const host = this.steps.get(srun);
    if (!host) throw new Error('not a host step of this pool');
    host.detach();
    return host.split;
  }

  /** The steps of the hosts still waiting (J.S, those srun named already). */
  waitingSteps(): string[] {
    return this.idle.flatMap((h: Host) => this.steps.get(h.process)?.split.stepId ?? []);
  }

  /** No more hosts; the waiting ones are told to end (their stdin closed). `ended()` waits until they did. */
  override close(): void {
    if (this.closed) return;
    this.closed = true;
    const waiting = this.idle.splice(0);
    for (const host of waiting) host.process.stdin?.end();
    this.closing = this.reap(waiting.map((h) => h.process));
  }

  /** Once every waiting host's srun returned (those still there after STOP_WAIT_MS cancelled). */
  async ended(): Promise<void> {
    this.close();
    await this.closing;
  }

  private async reap(hosts: Launched[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_WAIT_MS)));
    const ended = await Promise.race([Promise.all(hosts.map((h) => h.ended)).then(() => 'ended' as const), late]);
    clearTimeout(timer);
    if (ended === 'ended') return;
    const left = hosts.filter((h) => !h.exited());
    const ids = left.flatMap((h) => this.steps.get(h)?.split.stepId ?? []);
    if (ids.length > 0) await runHelper('scancel', ids);
    for (const h of left) h.stop();
  }

  /** The runner exits at once: the waiting hosts' steps are cancelled, synchronously. */
  abandon(): void {
    const ids = [...this.all].flatMap((h) => (h.exited() ? [] : (this.steps.get(h)?.split.stepId ?? [])));
    this.closed = true;
    this.idle.splice(0);
    if (ids.length > 0) runHelperSync('scancel', ids, { timeoutMs: 10_000 });
  }
}
