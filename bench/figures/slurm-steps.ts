// Slurm without the scheduling loop per stage: `--slurm-mode steps` inside an allocation (a chain of trivial stages
// and the real pipeline's cold run, each against the same thing run locally in the same bench), and how soon job
// mode notices a finished job (slurm-notice-driver.ts). Only when a cluster answers; never in --quick.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineCmd, realSource, realWorkspace, resetPipeline, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { exec, repeat, type Cmd, type Outcome } from '../measure.js';
import { summarize, type Stats } from '../stats.js';
import { allStatus } from './run-json.js';
import { SLURM_CHAIN } from './slurm.js';

/** An allocation of the whole node for the steps figures, released by `release()`. */
function allocate(): { id: string; release(): void } {
  const r = spawnSync('salloc', ['-N1', '-c2', '--no-shell', '-J', `pipeline-bench-${process.pid}`], { encoding: 'utf8', timeout: 120_000 });
  const id = /Granted job allocation ([0-9]+)/.exec(r.stderr ?? '')?.[1];
  if (!id) throw new Error(`salloc did not grant an allocation: ${r.stderr}`);
  return { id, release: () => void spawnSync('scancel', [id]) };
}

/** Job mode's figures that need no allocation: how soon a finished job is noticed, a chain as one group's job. */
export function slurmJobFigures(ctx: BenchContext): Figure[] {
  return [noticeFigure(ctx), groupFigure(ctx)];
}

/** Steps mode against local, both inside one allocation of the whole node. */
export function slurmStepsFigures(ctx: BenchContext): Figure[] {
  const alloc = allocate();
  try {
    return [chainFigure(ctx, alloc.id), ...(ctx.dataFile ? [coldStepsFigure(ctx, alloc.id)] : [])];
  } finally {
    alloc.release();
  }
}

/**
 * Local and steps mode timed in turns (local, steps, local, steps, …, after one warm-up of each), so that the load
 * of a shared machine weighs on both alike: the ratio of two medians taken minutes apart says more about the load.
 */
function inTurns(make: (args: string[]) => Cmd, modes: [string[], string[]], o: { runs: number; before?: () => void; check: (out: Outcome, args: string[]) => void }): [Stats, Stats] {
  const times: [number[], number[]] = [[], []];
  for (let i = -1; i < o.runs; i++)
    for (const m of [0, 1] as const) {
      o.before?.();
      const out = exec(make(modes[m]));
      o.check(out, modes[m]);
      if (i >= 0) times[m].push(out.ms);
    }
  return [summarize(times[0]), summarize(times[1])];
}

/** A folder with a chain of SLURM_CHAIN trivial stages. */
function chainWorkspace(ctx: BenchContext, name: string): string {
  const dir = path.join(ctx.tmp, name);
  mkdirSync(dir, { recursive: true });
  const stages = Array.from({ length: SLURM_CHAIN }, (_, i) =>
    [`  s${i}:`, `    cmd: "true > out/s${i}.txt"`, '    shell: true', `    outs: [out/s${i}.txt]`, ...(i ? [`    needs: [s${i - 1}]`] : [])].join('\n'),
  );
  writeFileSync(path.join(dir, 'pipeline.yaml'), `version: 1\nstages:\n${stages.join('\n')}\n`);
  return dir;
}

/** Job mode with the chain in one group's job (`--slurm-group-chains`) against local. */
function groupFigure(ctx: BenchContext): Figure {
  const f = newFigure(`A chain of ${SLURM_CHAIN} trivial stages as one group's job (--slurm-group-chains)`);
  const dir = chainWorkspace(ctx, 'slurm-group-chain');
  const measure = (args: string[]) =>
    repeat(() => ({ ...pipelineCmd(ctx, dir, ['run', '--force', '--json', ...args]), timeoutMs: 600_000 }), {
      runs: ctx.runs,
      check: (o) => allStatus(o.stdout, 'ran', `chain ${args.join(' ')}`),
    });
  const local = measure(['--executor', 'local']);
  const grouped = measure(['--executor', 'slurm', '--slurm-group-chains']);
  f.rows.push({ label: `--executor local, ${SLURM_CHAIN} stages forced`, unit: 'ms', stats: local.ms });
  f.rows.push({ label: `--executor slurm --slurm-group-chains, ${SLURM_CHAIN} stages forced`, unit: 'ms', stats: grouped.ms });
  f.rows.push({ label: 'overhead per stage in the group (grouped − local) / stages', unit: 'ms', value: (grouped.ms.median - local.ms.median) / SLURM_CHAIN });
  f.notes.push('One batch job for the whole chain (one wait for the scheduling loop); the runner hands it each stage as it decides it.');
  return f;
}

function chainFigure(ctx: BenchContext, allocation: string): Figure {
  const f = newFigure(`Per-stage overhead in steps mode, a chain of ${SLURM_CHAIN} trivial stages`);
  const dir = chainWorkspace(ctx, 'slurm-steps-chain');
  const cmd = (args: string[]): Cmd => {
    const c = pipelineCmd(ctx, dir, ['run', '--force', '--json', ...args]);
    return { ...c, env: { ...c.env, SLURM_JOB_ID: allocation }, timeoutMs: 600_000 };
  };
  const [localMs, stepsMs] = inTurns(cmd, [['--executor', 'local'], ['--slurm-mode', 'steps']], { runs: ctx.runs, check: (o, args) => allStatus(o.stdout, 'ran', `chain ${args.join(' ')}`) });
  const local = { ms: localMs };
  const steps = { ms: stepsMs };
  const perStage = (steps.ms.median - local.ms.median) / SLURM_CHAIN;
  f.rows.push({ label: `--executor local, ${SLURM_CHAIN} stages forced`, unit: 'ms', stats: local.ms });
  f.rows.push({ label: `--slurm-mode steps, ${SLURM_CHAIN} stages forced`, unit: 'ms', stats: steps.ms });
  f.rows.push({ label: 'overhead of a step per stage (steps − local)', unit: 'ms', value: perStage });
  f.targets.push({ what: 'steps-mode overhead per stage', value: perStage, limit: 100, dir: 'max', unit: 'ms' });
  f.notes.push(
    `Both inside one allocation of the node (\`salloc -N1 -c2 --no-shell\`, its id as SLURM_JOB_ID). Each stage in steps mode takes a ` +
      '`/bin/sh` waiting as an `srun --jobid=… -n1 -c1 --exact --overlap -v …` step, started while the stage before it ran ' +
      '(slurm-step-shells.ts), and execs its command in it: no trip through the scheduling loop, and srun\'s start off the critical path ' +
      'as far as the stage before lasts. Local and steps runs in turns.',
  );
  return f;
}

function coldStepsFigure(ctx: BenchContext, allocation: string): Figure {
  const f = newFigure('Cold full run of the real pipeline in steps mode against the local cold run');
  const ws = realWorkspace(ctx, 'cold-steps');
  const cmd = (args: string[]): Cmd => {
    const c = pipelineCmd(ctx, ws, ['run', '--json', ...args, ...realSource(ctx)]);
    return { ...c, env: { ...c.env, SLURM_JOB_ID: allocation }, timeoutMs: 600_000 };
  };
  const [localMs, stepsMs] = inTurns(cmd, [['--executor', 'local'], ['--slurm-mode', 'steps']], {
    runs: ctx.runs,
    before: () => resetPipeline(ws, ['build']),
    check: (o, args) => allStatus(o.stdout, 'ran', `cold ${args.join(' ')}`),
  });
  const local = { ms: localMs };
  const steps = { ms: stepsMs };
  const ratio = steps.ms.median / local.ms.median;
  f.rows.push({ label: 'local, 7 stages executed', unit: 'ms', stats: local.ms });
  f.rows.push({ label: '--slurm-mode steps, 7 stages executed', unit: 'ms', stats: steps.ms });
  f.rows.push({ label: 'ratio steps / local', unit: '×', value: ratio });
  f.targets.push({ what: 'cold run in steps mode / local cold run', value: ratio, limit: 1.5, dir: 'max', unit: '×' });
  f.notes.push(
    'Every cache emptied before each run (as in the cold figure); local and steps runs in turns. In steps mode each module stage takes a ' +
      'host started ahead of need as an `--overlap` step of the allocation (slurm-step-hosts.ts), as the local executor starts hosts ahead.',
  );
  return f;
}

const NOTICE_SLEEPS = [0.05, 0.4, 1.1, 2.6, 0.05, 0.4, 1.1, 2.6, 10.5];

function noticeFigure(ctx: BenchContext): Figure {
  const f = newFigure('Job mode: how soon a finished job is noticed');
  const dir = path.join(ctx.tmp, 'slurm-notice');
  mkdirSync(dir, { recursive: true });
  const script = path.join(ctx.repo, 'bench', 'figures', 'slurm-notice-driver.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, JSON.stringify({ dir, sleeps: NOTICE_SLEEPS })], { cwd: ctx.repo, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`slurm-notice-driver failed: ${r.stderr}`);
  const { latenciesMs } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { latenciesMs: number[] };
  const stats = summarize(latenciesMs);
  f.rows.push({ label: `job end → noticed by the runner, ${latenciesMs.length} jobs of ${NOTICE_SLEEPS.join(', ')} s`, unit: 'ms', stats });
  f.targets.push({ what: 'slowest notice of a finished job', value: stats.max, limit: 100, dir: 'max', unit: 'ms' });
  f.notes.push(
    'Each job\'s command writes the time it ends as its last act; the notice is when the executor returns the job\'s result (its ' +
      'status file read, its log read). The status file is read every 50 ms for 10 s after submission, then every 90 ms, so a job ' +
      'past 10 s (the 10.5 s one) is in the sample. `sbatch --wait` would notice at 2 s, 10 s, 42 s.',
  );
  return f;
}
