// What the Slurm suite needs of the cluster: whether one answers (SLURM_CONF set by `scripts/slurm-cluster.sh
// start`), job states from squeue, an allocation's running steps, a job's fields from `scontrol show job`, a PATH
// whose `sbatch` counts calls, and the stages of a `run --json` by name.
import { execaSync } from 'execa';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Why no cluster can be used here, or undefined when one answers. */
export function noCluster(): string | undefined {
  if (!process.env.SLURM_CONF) return 'SLURM_CONF is not set (start one with `scripts/slurm-cluster.sh start`)';
  const r = execaSync('sinfo', ['-h', '-o', '%a'], { reject: false, timeout: 20_000 });
  return r.exitCode === 0 ? undefined : `sinfo does not answer: ${String(r.stderr || r.shortMessage)}`;
}

/** Skip the suite (said on stderr) when no cluster answers. */
export function skipWithoutCluster(ctx: Mocha.Context, why = noCluster()): void {
  if (!why) return;
  process.stderr.write(`  no Slurm cluster: ${why}\n`);
  ctx.skip();
}

/** A fresh allocation of the node (`salloc --no-shell`, as a batch script or `salloc` gives a run): its job id. */
export function allocate(name: string): string {
  const r = execaSync('salloc', ['-N1', '-c2', '--no-shell', '-J', `${name}-${process.pid}`], { reject: false, timeout: 120_000 });
  const m = /Granted job allocation ([0-9]+)/.exec(String(r.stderr));
  if (!m) throw new Error(`salloc failed: ${String(r.stderr)}`);
  return m[1];
}

/** Give an allocation back (nothing when none was made). */
export function release(alloc: string | undefined): void {
  if (alloc) execaSync('scancel', [alloc], { reject: false });
}

/** A stage of `run --json` as the suite reads it. */
export type StageJson = {
  name: string;
  status: string;
  jobId?: string;
  stepId?: string;
  outcome: { kind: string; cause?: { kind: string; exitCode?: number; message?: string; timeoutMs?: number; at?: string } };
};
export const byName = (json: { stages: StageJson[] }): Record<string, StageJson> => Object.fromEntries(json.stages.map((s) => [s.name, s]));

/** The steps of an allocation that are running now: `J.S NAME`. */
export function stepsOf(alloc: string): string[] {
  const r = execaSync('squeue', ['-h', '-s', '-j', alloc, '-o', '%i %j'], { reject: false });
  return String(r.stdout)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/\.(extern|batch|interactive)\b/.test(l));
}

/** Jobs Slurm knows (any state): id → state, name. */
export function jobs(): { id: string; state: string; name: string }[] {
  const r = execaSync('squeue', ['-h', '-t', 'all', '-o', '%i|%T|%j'], { reject: false });
  return String(r.stdout)
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, state, name] = l.split('|');
      return { id, state, name };
    });
}

/** Jobs still pending or running whose name starts with `prefix`. */
export function activeJobs(prefix: string): string[] {
  return jobs()
    .filter((j) => j.name.startsWith(prefix) && ['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED'].includes(j.state))
    .map((j) => `${j.id} ${j.name} ${j.state}`);
}

/** `scontrol show job ID` as key → value. */
export function showJob(id: string): Record<string, string> {
  const out = String(execaSync('scontrol', ['show', 'job', '-o', id]).stdout);
  const fields: Record<string, string> = {};
  for (const m of out.matchAll(/([A-Za-z:/]+)=(\S*)/g)) fields[m[1]] ??= m[2];
  return fields;
}

/** A folder with an `sbatch` that appends its arguments to `calls.log` there, then runs the real one. */
export function countingSbatch(dir: string): { env: Record<string, string>; calls: () => number } {
  mkdirSync(dir, { recursive: true });
  const real = String(execaSync('sh', ['-c', 'command -v sbatch']).stdout).trim();
  const log = path.join(dir, 'calls.log');
  const script = path.join(dir, 'sbatch');
  writeFileSync(script, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(script, 0o755);
  return {
    env: { PATH: `${dir}:${process.env.PATH ?? ''}` },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0),
  };
}
