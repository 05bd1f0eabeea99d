// The `slurm` executor: each stage that must run becomes one Slurm batch job, submitted when the stage is ready
// (the runner keeps the DAG: no Slurm dependencies, one `sbatch --parsable` per stage, as Snakemake does). The job
// runs the command the local executor would run, in the workspace, with the same environment (sbatch is started
// with the stage's environment, environment.ts, and exports it), so the workspace must be on a filesystem the nodes share.
//
// How a job ends is read from a file the job script writes (Slurm forgets finished jobs when accounting is off);
// the runner polls for it with backoff, and asks `squeue` (one call for every job in flight) to notice a job that
// ended without writing it: cancelled, past its time limit, lost with its node. stdout and stderr go, interleaved,
// to the stage's log, through the masking filter on the node when the stage has `passEnv` values (jobScript); the
// last line of the log (or the verdict file) is the reason a failure shows.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import type { StageConfig } from '../config/types.js';
import { baseEnvironment, passedValues } from './environment.js';
import { GroupJobs, memberPrelude, type Submitted } from './slurm-groups.js';
import { MIN_MASKED } from './mask.js';
import { maskFilterCommand, stageCommand, tooBig, type ExecRequest, type ExecResult, type Executor, type ProcessFailure } from './executor.js';
import { runHelper, runHelperSync, type HelperResult } from './launch.js';
import type { LeftoverOwner } from './leftovers.js';
import { forgetRunning, recordRunning, type RunningEntry } from './running.js';
import { monotonicMs } from '../core/clock.js';

/** Job states in which the job may still run or write (squeue's long names). */
const ACTIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED']);
/** Final states in which Slurm, not the command, ended the job. */
const SLURM_ENDED = new Set(['CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE']);
/** How often squeue is asked at most, and the backoff of the status-file polls. */
const STATE_INTERVAL_MS = 1000;
const FIRST_POLL_MS = 25;
/**
 * A job's end is noticed within 0.1 s (not at sbatch --wait's 2 s, 10 s, 42 s): its status file is read every
 * 50 ms for the first 10 s, then every 90 ms — one failed open per job in flight, about 11 a second for a long job.
 */
const EARLY_POLL_MS = 50;
const EARLY_MS = 10_000;
const MAX_POLL_MS = 90;
/** How long a cancelled job may take to stop before the stage's outs are put back anyway. */
const STOP_WAIT_MS = 60_000;

interface JobState {
  state: string;
  reason: string;
}

/** A Slurm command, run to completion through the launcher. */
const run = (file: string, args: string[]): Promise<HelperResult> => runHelper(file, args);

/**
 * What sbatch is started with: the stage's environment (environment.ts), which `--export=ALL` hands to the job,
 * and the runner's SBATCH_* variables, sbatch's own settings (a default account, partition, QOS).
 */
export function sbatchEnvironment(stageEnv: Record<string, string>, from: Record<string, string | undefined> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from)) if (name.startsWith('SBATCH_') && value !== undefined) env[name] = value;
  return Object.assign(env, stageEnv);
}

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  /** Jobs submitted and not yet over, with how many stages wait on each (a group's job serves several). */
  private readonly inFlight = new Map<string, number>();
  private readonly groups = new GroupJobs((group, script, req) => this.submitGroup(group, script, req));
  private states: { at: number; query: Promise<Map<string, JobState> | undefined> } | undefined;
  private seq = 0;

  /** `chains`: the group of each stage `--slurm-group-chains` puts in one (slurm-groups.ts chainGroups). */
  private constructor(private readonly chains = new Map<string, string>()) {}

  /** A cluster the runner can submit to, or a usage error saying why not. */
  static async open(chains?: Map<string, string>): Promise<SlurmExecutor> {
    const r = await run('sinfo', ['-h', '-o', '%P']);
    if (r.error === 'ENOENT')
      throw new UsageError('executor `slurm`: the Slurm commands (sinfo, sbatch, squeue, scancel) are not on PATH', 'run on a Slurm login node, or use `--executor local`');
    if (r.code !== 0)
      throw new UsageError(
        `executor \`slurm\`: the Slurm controller does not answer (sinfo: ${lastLine(r.stderr).replace(/^sinfo: /, '') || r.error || `exit ${r.code}`})`,
        'check SLURM_CONF and that slurmctld runs (`scontrol ping`), or use `--executor local`',
      );
    return new SlurmExecutor(chains);
  }

  async execute(req: ExecRequest): Promise<ExecResult> {
    const { stage } = req;
    const base = `${req.verdictFile.replace(/\.verdict$/, '')}.${++this.seq}`;
    const statusFile = `${base}.status`;
    const scriptFile = `${base}.job.sh`;
    for (const f of [req.logFile, req.verdictFile]) mkdirSync(path.dirname(f), { recursive: true });
    for (const f of [req.logFile, req.verdictFile, statusFile]) rmSync(f, { force: true });
    const { argv, env } = stageCommand(req);
    const secrets = passedValues(stage).some((v) => v.length >= MIN_MASKED);
    const mask = secrets ? maskFilterCommand(stage.passEnv ?? []) : undefined;
    const group = stage.group ?? this.chains.get(stage.name);
    if (group === undefined) {
      writeFileAtomic(scriptFile, jobScript(stage, argv, statusFile, mask));
      chmodSync(scriptFile, 0o755);
    }
    const started = monotonicMs();
    const finish = (result: { ok: true } | { ok: false; cause: ProcessFailure }, jobId?: string): ExecResult => {
      const log = existsSync(req.logFile) ? readFileSync(req.logFile, 'utf8') : '';
      for (const f of [scriptFile, statusFile]) rmSync(f, { force: true });
      const durationMs = monotonicMs() - started;
      if (result.ok) return { ok: true, durationMs, log, jobId };
      let { cause } = result;
      if (cause.kind === 'exit' || cause.kind === 'gate') {
        const verdict = existsSync(req.verdictFile) ? readFileSync(req.verdictFile, 'utf8').trim() : '';
        cause = { ...cause, message: verdict || lastLine(log) || undefined };
      }
      rmSync(req.verdictFile, { force: true });
      return { ok: false, cause, durationMs, log, ...(jobId ? { jobId } : {}) };
    };

    if (req.signal.aborted) return finish({ ok: false, cause: { kind: 'interrupted' } });
    const sub = group === undefined ? await this.submitJob(req, scriptFile, env) : await this.groups.hand(group, req, jobScript(stage, argv, statusFile, mask, memberPrelude(env, req.logFile)));
    if ('refused' in sub) return finish({ ok: false, cause: { kind: 'spawn', message: sub.refused } });
    const { jobId } = sub;
    this.inFlight.set(jobId, (this.inFlight.get(jobId) ?? 0) + 1);
    // Recorded while it runs: if this runner is killed, the next run in the workspace cancels it first.
    const record = recordRunning(req.recordsIn, { kind: 'job', executor: 'slurm', stage: stage.name, jobId, runner: process.pid });
    let lost = true;
    try {
      // A stage of a group runs once the group's job took its script (the stages before it may still run).
      const picked = (sub as { picked?: string }).picked;
      const result = await this.wait(jobId, stage, statusFile, req.signal, picked === undefined ? undefined : () => !existsSync(picked));
      lost = !result.ok && ['job-ended', 'timeout', 'interrupted'].includes(result.cause.kind);
      return finish(result, jobId);
    } finally {
      const left = (this.inFlight.get(jobId) ?? 1) - 1;
      if (left > 0) this.inFlight.set(jobId, left);
      else this.inFlight.delete(jobId);
      if (group !== undefined) this.groups.done(group, jobId, lost);
      forgetRunning(record);
    }
  }

  /** One stage's own batch job. */
  private async submitJob(req: ExecRequest, scriptFile: string, env: Record<string, string>): Promise<Submitted> {
    const sub = await runHelper('sbatch', ['--parsable', ...sbatchFlags(req.stage, req), scriptFile], { env: sbatchEnvironment(env), exactEnv: true });
    if (sub.error === 'E2BIG') return { refused: tooBig(env) };
    if (sub.code !== 0 || !/^[0-9]+/.test(sub.stdout.trim())) return { refused: `sbatch refused the job: ${lastLine(sub.stderr) || sub.error || `exit ${sub.code}`}` };
    return { jobId: sub.stdout.trim().split(';')[0] };
  }

  /**
   * A group's job (slurm-groups.ts): the resources of the stage that starts it, no time limit of its own (the runner
   * enforces each stage's), the base environment only (each stage's script sets its own).
   */
  private async submitGroup(group: string, scriptFile: string, req: ExecRequest): Promise<Submitted> {
    const flags = sbatchFlags(req.stage, req)
      .filter((f) => !/^--(job-name|output|time)=/.test(f))
      .concat([`--job-name=pipeline-group-${group}`, `--output=${path.join(path.dirname(scriptFile), 'group.log')}`]);
    const sub = await runHelper('sbatch', ['--parsable', ...flags, scriptFile], { env: sbatchEnvironment(baseEnvironment()), exactEnv: true });
    if (sub.code !== 0 || !/^[0-9]+/.test(sub.stdout.trim())) return { refused: `sbatch refused the job of group \`${group}\`: ${lastLine(sub.stderr) || sub.error || `exit ${sub.code}`}` };
    return { jobId: sub.stdout.trim().split(';')[0] };
  }

  /** Until the job wrote its status, or ended without (then why), or the run stopped it. */
  private async wait(jobId: string, stage: StageConfig, statusFile: string, signal: AbortSignal, started?: () => boolean): Promise<{ ok: true } | { ok: false; cause: ProcessFailure }> {
    let delay = FIRST_POLL_MS;
    const submitted = monotonicMs();
    let lastAsked = submitted;
    let runningSince: number | undefined;
    let stopping: ProcessFailure | undefined;
    let stopAsked = 0;
    let endedOnce = false;
    for (;;) {
      const code = readStatus(statusFile);
      if (code !== undefined && !stopping) {
        if (code === 0) return { ok: true };
        // Killed by a signal (128 + n): Slurm may have sent it (scancel, time limit) before the script could stop.
        const ended = code > 128 ? await this.endedBySlurm(jobId) : undefined;
        if (ended) return { ok: false, cause: { kind: 'job-ended', jobId, state: ended.state, reason: ended.reason } };
        return { ok: false, cause: { kind: stage.gate ? 'gate' : 'exit', exitCode: code } };
      }
      const timedOut = stage.timeoutMs !== undefined && runningSince !== undefined && monotonicMs() - runningSince > stage.timeoutMs;
      if (!stopping && (signal.aborted || timedOut)) {
        stopping = signal.aborted ? { kind: 'interrupted' } : { kind: 'timeout', timeoutMs: stage.timeoutMs! };
        stopAsked = monotonicMs();
        await run('scancel', [jobId]);
      }
      if (stopping || monotonicMs() - lastAsked >= STATE_INTERVAL_MS) {
        lastAsked = monotonicMs();
        const state = await this.stateOf(jobId);
        if (state?.state === 'RUNNING' && (started?.() ?? true)) runningSince ??= monotonicMs();
        const over = state !== undefined && !ACTIVE.has(state.state);
        if (stopping && (over || monotonicMs() - stopAsked > STOP_WAIT_MS)) return { ok: false, cause: stopping };
        if (over && !stopping) {
          // Its status file may reach this machine a moment after the job ended: look once more first.
          if (endedOnce) return { ok: false, cause: { kind: 'job-ended', jobId, state: state.state, reason: state.reason } };
          endedOnce = true;
          delay = FIRST_POLL_MS;
        }
      }
      await new Promise((r) => setTimeout(r, stopping ? Math.min(delay, 200) : delay));
      delay = Math.min(monotonicMs() - submitted < EARLY_MS ? EARLY_POLL_MS : MAX_POLL_MS, delay * 1.5);
    }
  }

  /** When a job's command died of a signal: the job's final state if Slurm ended it (cancelled, time limit, …). */
  private async endedBySlurm(jobId: string): Promise<JobState | undefined> {
    const until = monotonicMs() + 10_000;
    for (;;) {
      const state = await this.stateOf(jobId);
      if (state && !ACTIVE.has(state.state)) return SLURM_ENDED.has(state.state) ? state : undefined;
      if (monotonicMs() > until) return undefined;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The state of a job in flight: one squeue call for all of them, at most once a STATE_INTERVAL_MS. */
  private async stateOf(jobId: string): Promise<JobState | undefined> {
    const now = monotonicMs();
    if (!this.states || now - this.states.at >= STATE_INTERVAL_MS / 2) this.states = { at: now, query: this.queryStates([...this.inFlight.keys()]) };
    const states = await this.states.query;
    if (states === undefined) return undefined; // squeue did not answer: ask again later
    return states.get(jobId) ?? { state: 'gone', reason: 'None' };
  }

  private async queryStates(ids: string[]): Promise<Map<string, JobState> | undefined> {
    const r = await run('squeue', ['-h', '-t', 'all', '-j', ids.join(','), '-o', '%i|%T|%r']);
    const states = new Map<string, JobState>();
    if (r.code !== 0) return /invalid job id/i.test(r.stderr) ? states : undefined;
    for (const line of r.stdout.split('\n')) {
      const [id, state, reason] = line.trim().split('|');
      if (id && state) states.set(id, { state, reason: reason ?? 'None' });
    }
    return states;
  }

  abandon(): void {
    if (this.inFlight.size === 0) return;
    // Synchronous on purpose: the process exits right after.
    runHelperSync('scancel', [...this.inFlight.keys()], { timeoutMs: 10_000 });
  }

  close(): void {
    this.groups.close();
  }
}

/** Jobs an earlier, killed run left queued or running: cancelled, and waited for (30 s at most) until Slurm says they ended. */
export const slurmLeftovers: LeftoverOwner = {
  executor: 'slurm',
  async stop(entry: RunningEntry) {
    if (entry.kind !== 'job') return undefined;
    const active = 'PENDING,CONFIGURING,RUNNING,SUSPENDED,COMPLETING';
    // A step (`J.S`, steps mode) is listed by `squeue -s` among its allocation's steps while it runs.
    const [job, step] = entry.jobId.split('.');
    const queued = async () => {
      const r = await run('squeue', step === undefined ? ['-h', '-j', job, '-t', active, '-o', '%T'] : ['-h', '-s', '-j', job, '-o', '%i']);
      const out = r.error === undefined && r.code === 0 ? r.stdout.trim() : '';
      return step === undefined ? out !== '' : out.split('\n').some((l) => l.trim() === entry.jobId);
    };
    if (!(await queued())) return undefined;
    await run('scancel', [entry.jobId]);
    for (const until = Date.now() + 30_000; Date.now() < until && (await queued()); ) await new Promise((r) => setTimeout(r, 200));
    return { jobId: entry.jobId };
  },
};

/** resources and timeout → sbatch flags; the job's output, name and folder. `--mem` is the attempt's (the last value repeats). */
export function sbatchFlags(stage: StageConfig, req: Pick<ExecRequest, 'root' | 'logFile'> & { attempt?: number }): string[] {
  const r = stage.resources;
  const flags = [`--job-name=pipeline-${stage.name}`, `--output=${req.logFile}`, '--open-mode=truncate', `--chdir=${req.root}`, '--export=ALL'];
  if (r?.cpus !== undefined) flags.push(`--cpus-per-task=${r.cpus}`);
  if (r?.memory !== undefined) flags.push(`--mem=${r.memory[Math.min(req.attempt ?? 1, r.memory.length) - 1]}`);
  const limit = r?.timeMs ?? stage.timeoutMs;
  if (limit !== undefined) flags.push(`--time=${slurmTime(limit)}`);
  if (r?.partition !== undefined) flags.push(`--partition=${r.partition}`);
  flags.push(...(r?.sbatch ?? []));
  return flags;
}

/** Milliseconds → Slurm's `minutes:seconds` (rounded up to a second; Slurm itself counts whole minutes). */
export function slurmTime(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * The batch script: run the command, then write its exit status (atomically) where the runner looks for it. With
 * `mask` (the masking filter's argv, for a stage with `passEnv` values), the command's output goes through it on
 * the node before Slurm writes it to the stage's log: the log never holds a raw value.
 */
export function jobScript(stage: StageConfig, argv: string[], statusFile: string, mask?: string[], prelude: string[] = []): string {
  const command = stage.kind === 'cmd' && stage.shell ? `/bin/sh -c ${quote(argv[0])}` : argv.map(quote).join(' ');
  const codeFile = quote(`${statusFile}.code`);
  const run = mask
    ? [`{ ${command} </dev/null; printf '%s\\n' "$?" > ${codeFile}; } 2>&1 | ${mask.map(quote).join(' ')}`, `code=$(cat ${codeFile} 2>/dev/null)`, `rm -f ${codeFile}`, '[ -n "$code" ] || code=1']
    : [`${command} </dev/null`, 'code=$?'];
  return [
    '#!/bin/sh',
    `# stage ${stage.name}: written by \`pipeline run --executor slurm\`, removed when the stage ends`,
    ...prelude,
    ...run,
    `printf '%s\\n' "$code" > ${quote(`${statusFile}.tmp`)} && mv -f ${quote(`${statusFile}.tmp`)} ${quote(statusFile)}`,
    'exit "$code"',
    '',
  ].join('\n');
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function readStatus(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return /^[0-9]+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1)?.trim() ?? '';
}
