// Groups under the `slurm` executor in job mode: the stages with the same `group:` run in one batch job instead of
// one job each, so a chain of small stages waits for the controller's scheduling loop once, not once per stage.
//
// The group's job is submitted when its first stage must run and serves the group from then on: it runs, one after
// another in the order the runner hands them over, the stages of the group the runner decides to run, each exactly
// as its own job would run it (the same job script, slurm.ts) with its own environment, log and exit status. The
// runner keeps deciding every stage when it becomes ready, as for any other stage: a stage of the group whose
// inputs did not change is not run (early cutoff is kept), and each stage's outcome is recorded on its own.
//
// The hand-over is a folder on the shared filesystem: the runner writes a stage's script there (mode 0600: it holds
// the stage's environment, `passEnv` values included; the job removes it once it ran, and it is never on a command
// line), the job runs the scripts it finds, in name order, and it ends when the runner writes `end` there (the run
// is over, or no stage of the group ran for IDLE_MS), or when it is cancelled (Ctrl-C, a stage's timeout: then the
// group's next stage gets a new job).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StageConfig } from '../config/types.js';
import type { ExecRequest } from './executor.js';

/** How long a group's job waits for the group's next stage after the last one ended before it is told to end. */
const IDLE_MS = 3000;
/** How often the job looks for the next stage's script. */
const JOB_POLL_S = 0.02;

interface GroupJob {
  jobId: string;
  dir: string;
  /** Stages handed over and not yet over. */
  active: number;
  seq: number;
  idle?: NodeJS.Timeout;
}

/** A submitted job, or why it could not be submitted. */
export type Submitted = { jobId: string } | { refused: string };

/** What the job of a group runs: every `*.req` script of its folder, in name order, until `end` appears. */
export function groupJobScript(group: string, dir: string): string {
  const d = quote(dir);
  return [
    '#!/bin/sh',
    `# group ${group}: written by \`pipeline run --executor slurm\`; runs the group's stages the runner hands over`,
    `d=${d}`,
    'while :; do',
    '  for f in "$d"/*.req; do',
    '    [ -e "$f" ] || continue',
    '    mv -f "$f" "$f.run" && /bin/sh "$f.run"',
    '    rm -f "$f.run"',
    '  done',
    '  [ -e "$d/end" ] && { rm -rf "$d"; exit 0; }',
    `  sleep ${JOB_POLL_S}`,
    'done',
    '',
  ].join('\n');
}

/**
 * The lines a stage's script in a group starts with: the group job's environment dropped but for the job's own
 * SLURM_* variables, the stage's whole environment set (names a shell cannot set are left out; SLURM_* are the
 * job's), its output to its log.
 */
export function memberPrelude(env: Record<string, string>, logFile: string): string[] {
  const clear = `for v in $(env | sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p'); do case "$v" in SLURM_*) ;; *) unset "$v" 2>/dev/null || :;; esac; done`;
  const lines = Object.entries(env)
    .filter(([name]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !name.startsWith('SLURM_'))
    .map(([name, value]) => `export ${name}=${quote(value)}`);
  return [clear, ...lines, `exec >${quote(logFile)} 2>&1 </dev/null`];
}

export class GroupJobs {
  private readonly jobs = new Map<string, GroupJob>();

  /** `submit` submits a group's job script with the flags of its first stage; it answers the job's id. */
  constructor(private readonly submit: (group: string, script: string, req: ExecRequest) => Promise<Submitted>) {}

  /** Hand a stage's script to its group's job (submitting one when the group has none); the job's id. */
  async hand(group: string, req: ExecRequest, script: string): Promise<{ jobId: string; picked: string } | { refused: string }> {
    let job = this.jobs.get(group);
    if (!job) {
      const dir = path.join(path.dirname(req.verdictFile), `group-${group}.${process.pid}.${Date.now()}`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const scriptFile = path.join(dir, 'group.job.sh');
      writeFileSync(scriptFile, groupJobScript(group, dir), { mode: 0o755 });
      const sub = await this.submit(group, scriptFile, req);
      if ('refused' in sub) {
        rmSync(dir, { recursive: true, force: true });
        return sub;
      }
      job = { jobId: sub.jobId, dir, active: 0, seq: 0 };
      this.jobs.set(group, job);
    }
    clearTimeout(job.idle);
    job.active++;
    const file = path.join(job.dir, `${String(++job.seq).padStart(6, '0')}.req`);
    writeFileSync(`${file}.tmp`, script, { mode: 0o600, flag: 'wx' });
    renameSync(`${file}.tmp`, file);
    return { jobId: job.jobId, picked: file };
  }

  /** A stage of the group is over; `lost`: its job was cancelled or ended, the next stage gets a new one. */
  done(group: string, jobId: string, lost: boolean): void {
    const job = this.jobs.get(group);
    if (!job || job.jobId !== jobId) return;
    job.active--;
    if (lost) return this.end(group);
    if (job.active === 0) job.idle = setTimeout(() => this.jobs.get(group) === job && job.active === 0 && this.end(group), IDLE_MS).unref();
  }

  /** Tell a group's job to end (it finishes what it runs first). */
  private end(group: string): void {
    const job = this.jobs.get(group);
    if (!job) return;
    clearTimeout(job.idle);
    this.jobs.delete(group);
    try {
      writeFileSync(path.join(job.dir, 'end'), '');
    } catch {
      // its folder is gone: so is the job's work
    }
  }

  /** The run is over: every group's job is told to end. */
  close(): void {
    for (const group of [...this.jobs.keys()]) this.end(group);
  }
}

/**
 * `--slurm-group-chains`: every chain of two or more stages (each needing only the one before it, which nothing
 * else needs) becomes a group named `chain-<its first stage>`; a stage with its own `group:` keeps it.
 */
export function chainGroups(stages: readonly Pick<StageConfig, 'name' | 'needs' | 'group'>[]): Map<string, string> {
  const dependents = new Map<string, number>();
  for (const s of stages) for (const n of s.needs) dependents.set(n, (dependents.get(n) ?? 0) + 1);
  const byName = new Map(stages.map((s) => [s.name, s]));
  const linked = (s: Pick<StageConfig, 'needs' | 'group'>) => s.group === undefined && s.needs.length === 1 && dependents.get(s.needs[0]) === 1 && byName.get(s.needs[0])?.group === undefined;
  const groups = new Map<string, string>();
  for (const s of stages) {
    if (s.group !== undefined || groups.has(s.name)) continue;
    let head = s;
    while (linked(head)) head = byName.get(head.needs[0])!;
    const chain = [head.name];
    for (let next = head; ; ) {
      const child = stages.find((c) => c.needs.length === 1 && c.needs[0] === next.name && linked(c));
      if (!child) break;
      chain.push(child.name);
      next = child;
    }
    if (chain.length > 1) for (const name of chain) groups.set(name, `chain-${head.name}`);
  }
  return groups;
}

export function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
