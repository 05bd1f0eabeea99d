// Per-stage overhead under Slurm against local execution: a chain of trivial stages (each `true`), forced to run,
// once with `--executor local` and once with `--executor slurm` on the cluster SLURM_CONF names. The difference
// divided by the chain's length is what one stage costs as a batch job: submission, the controller's scheduling
// loop, the job's start on the node, the status file, the polls. Only when a cluster answers; never in --quick.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineCmd, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { repeat } from '../measure.js';
import { allStatus } from './run-json.js';

export const SLURM_CHAIN = 10;

/** Why the Slurm figure cannot be measured here, or undefined when a cluster answers. */
export function slurmUnavailable(): string | undefined {
  if (!process.env.SLURM_CONF) return 'SLURM_CONF is not set (scripts/slurm-cluster.sh start prints it)';
  const r = spawnSync('sinfo', ['-h', '-o', '%a'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `sinfo cannot run: ${r.error.message}`;
  return r.status === 0 ? undefined : `sinfo does not answer: ${r.stderr.trim()}`;
}

export function slurmFigure(ctx: BenchContext): Figure {
  const f = newFigure(`Per-stage overhead under Slurm, a chain of ${SLURM_CHAIN} trivial stages`);
  const dir = path.join(ctx.tmp, 'slurm-chain');
  mkdirSync(dir, { recursive: true });
  const stages = Array.from({ length: SLURM_CHAIN }, (_, i) =>
    [`  s${i}:`, `    cmd: "true > out/s${i}.txt"`, '    shell: true', `    outs: [out/s${i}.txt]`, ...(i ? [`    needs: [s${i - 1}]`] : [])].join('\n'),
  );
  writeFileSync(path.join(dir, 'pipeline.yaml'), `version: 1\nstages:\n${stages.join('\n')}\n`);
  const measure = (executor: string) =>
    repeat(() => ({ ...pipelineCmd(ctx, dir, ['run', '--force', '--json', '--executor', executor]), timeoutMs: 600_000 }), {
      runs: ctx.runs,
      check: (o) => allStatus(o.stdout, 'ran', `${executor} chain`),
    });
  const local = measure('local');
  const slurm = measure('slurm');
  const perStage = (slurm.ms.median - local.ms.median) / SLURM_CHAIN;
  f.rows.push({ label: `--executor local, ${SLURM_CHAIN} stages forced`, unit: 'ms', stats: local.ms });
  f.rows.push({ label: `--executor slurm, ${SLURM_CHAIN} stages forced`, unit: 'ms', stats: slurm.ms });
  f.rows.push({ label: 'local, per stage', unit: 'ms', value: local.ms.median / SLURM_CHAIN });
  f.rows.push({ label: 'slurm, per stage', unit: 'ms', value: slurm.ms.median / SLURM_CHAIN });
  f.rows.push({ label: 'overhead of a Slurm job per stage (slurm − local)', unit: 'ms', value: perStage });
  f.targets.push({ what: 'Slurm overhead per stage', value: perStage, limit: 2000, dir: 'max', unit: 'ms' });
  f.notes.push(
    'A chain, so every stage waits for the one before: the figure is the latency a stage adds as a job (sbatch, the controller placing it, ' +
      'slurmd starting it, the exit-status file read by the runner), not throughput. The one-node cluster of scripts/slurm-cluster.sh runs with ' +
      '`SchedulerParameters=batch_sched_delay=0`; the controller still places pending jobs on its own loop (about once a second).',
  );
  return f;
}
