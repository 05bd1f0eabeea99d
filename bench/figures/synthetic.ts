// Synthetic DAGs of 1,000 and 10,000 trivial stages (fan-out into parallel chains, fan-in, repeated):
// the cold run's overhead per executed stage and the no-op run, next to make and Snakemake.
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { emptyDir, makeCmd, pipelineCmd, resetPipeline, snakemakeCmd, type BenchContext } from '../context.js';
import { synthetic, writeDag, type DagDirs } from '../dags.js';
import { newFigure, type Figure } from '../figure.js';
import { exec, repeat } from '../measure.js';
import { scale, type Stats } from '../stats.js';
import { allStatus } from './run-json.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const perStage = (s: Stats, n: number) => scale(s, (ms) => ms / n);
/** Snakemake runs ≈ 25 ms per job here: a cold 10,000-job run takes minutes, so its cold figure stops at 1,000. */
const SNAKEMAKE_COLD_MAX = 1000;
/** Above this, one cold `pipeline run` takes minutes: a single timed run instead of a median. */
const PIPELINE_COLD_REPEAT_MAX = 1000;
const LONG_TIMEOUT_MS = 20 * 60_000;

export function syntheticFigures(ctx: BenchContext): Figure[] {
  const noopSizes = ctx.quick ? [1000] : [1000, 10_000];
  const coldSizes = ctx.quick ? [200] : [1000, 10_000];
  const runs = ctx.runs;
  // --quick keeps to the figures with targets: the peers are compared on the 7-stage shape only.
  const hasMake = Boolean(ctx.peers.make.version) && !ctx.quick;
  const hasSnakemake = Boolean(ctx.peers.snakemake.version) && !ctx.quick;
  const dirsOf = new Map<number, DagDirs>();
  const dagFor = (n: number): DagDirs => {
    let d = dirsOf.get(n);
    if (!d) {
      d = writeDag(path.join(ctx.tmp, `synthetic-${n}`), synthetic(n));
      dirsOf.set(n, d);
    }
    return d;
  };

  // --- cold: wall time per executed stage (first: it also leaves the workspaces populated for the no-op) ----
  const cold = newFigure('Synthetic DAGs: cold run, wall time per executed stage');
  for (const n of coldSizes) {
    const dirs = dagFor(n);
    ctx.log(`  cold, ${fmt(n)} stages`);
    const long = n > PIPELINE_COLD_REPEAT_MAX;
    const p = repeat(() => ({ ...pipelineCmd(ctx, dirs.pipeline, ['run', '--json', '-q']), timeoutMs: LONG_TIMEOUT_MS }), {
      runs: long ? 1 : runs,
      warmup: long ? 0 : 1,
      before: () => resetPipeline(dirs.pipeline, ['out']),
      check: (o) => allStatus(o.stdout, 'ran', `${n}-stage cold run`),
    });
    cold.rows.push({
      label: `pipeline, ${fmt(n)} stages`,
      unit: 'ms/stage',
      stats: perStage(p.ms, n),
      note: `total ${long ? 'of a single run' : 'median'} ${(p.ms.median / 1000).toFixed(2)} s`,
    });
    if (long) {
      cold.notes.push(
        `pipeline on ${fmt(n)} stages cold is a single timed run, not a median of ${runs}: one run takes ${Math.round(p.ms.median / 1000)} s here, and ${runs + 1} of them did not fit the time of the suite.`,
      );
    }
    if (hasMake) {
      const m = repeat(() => makeCmd(dirs.make), { runs, before: () => emptyDir(path.join(dirs.make, 'out')) });
      cold.rows.push({ label: `make, ${fmt(n)} stages`, unit: 'ms/stage', stats: perStage(m.ms, n), note: `total median ${(m.ms.median / 1000).toFixed(2)} s` });
      cold.rows.push({ label: `pipeline above make, ${fmt(n)} stages`, unit: 'ms/stage', value: (p.ms.median - m.ms.median) / n });
    }
    if (hasSnakemake && n <= SNAKEMAKE_COLD_MAX) {
      const s = repeat(() => snakemakeCmd(dirs.snakemake, []), {
        runs,
        before: () => {
          emptyDir(path.join(dirs.snakemake, 'out'));
          rmSync(path.join(dirs.snakemake, '.snakemake'), { recursive: true, force: true });
        },
      });
      cold.rows.push({ label: `snakemake, ${fmt(n)} stages`, unit: 'ms/stage', stats: perStage(s.ms, n), note: `total median ${(s.ms.median / 1000).toFixed(2)} s` });
      cold.rows.push({ label: `ratio pipeline / snakemake, ${fmt(n)} stages`, unit: '×', value: p.ms.median / s.ms.median });
    } else if (hasSnakemake) {
      cold.notes.push(
        `Snakemake is not run cold on ${fmt(n)} stages: at its ≈ 25 ms per job here one run takes minutes (${runs + 1} of them for a median); its ${fmt(SNAKEMAKE_COLD_MAX)}-stage figure stands for it.`,
      );
    }
  }
  cold.notes.push(
    'Total wall time of a run from nothing (pipeline: no `.pipeline/`, lock or outputs; make and Snakemake: empty `out/`, Snakemake also without `.snakemake/`) divided by the number of stages, ' +
      'all tools with 2 jobs at a time. Each stage also pays for its own `sh -c`, so make\'s figure is close to the bare cost of the command and `pipeline above make` is the runner\'s own overhead ' +
      '(hashing inputs and outputs, storing them in the cache, writing the run record and the log).',
  );

  // --- no-op -----------------------------------------------------------------------------------------------
  const noop = newFigure('Synthetic DAGs: no-op run');
  const medians: Record<string, Record<number, number>> = { pipeline: {}, make: {}, snakemake: {} };
  for (const n of noopSizes) {
    const dirs = dagFor(n);
    ctx.log(`  no-op, ${fmt(n)} stages`);
    exec({ ...pipelineCmd(ctx, dirs.pipeline, ['run', '-q']), timeoutMs: LONG_TIMEOUT_MS });
    const p = repeat(() => pipelineCmd(ctx, dirs.pipeline, ['run', '--json']), {
      runs,
      check: (o) => allStatus(o.stdout, 'cached', `${n}-stage no-op`),
    });
    noop.rows.push({ label: `pipeline, ${fmt(n)} stages`, unit: 'ms', stats: p.ms });
    medians.pipeline[n] = p.ms.median;
    noop.targets.push({ what: `${fmt(n)}-stage no-op`, value: p.ms.median, limit: n <= 1000 ? 500 : 3000, dir: 'max', unit: 'ms' });
    if (hasMake) {
      exec(makeCmd(dirs.make));
      const m = repeat(() => makeCmd(dirs.make), { runs });
      noop.rows.push({ label: `make, ${fmt(n)} stages`, unit: 'ms', stats: m.ms });
      medians.make[n] = m.ms.median;
    }
    if (hasSnakemake) {
      const out = path.join(dirs.snakemake, 'out');
      if (hasMake) {
        // Same outputs as make's run (mtimes kept): Snakemake finds everything present and up to date.
        rmSync(out, { recursive: true, force: true });
        cpSync(path.join(dirs.make, 'out'), out, { recursive: true, preserveTimestamps: true });
      } else {
        exec({ ...snakemakeCmd(dirs.snakemake, []), timeoutMs: LONG_TIMEOUT_MS });
      }
      const s = repeat(() => snakemakeCmd(dirs.snakemake, []), { runs });
      noop.rows.push({ label: `snakemake, ${fmt(n)} stages`, unit: 'ms', stats: s.ms });
      medians.snakemake[n] = s.ms.median;
      noop.rows.push({ label: `ratio pipeline / snakemake, ${fmt(n)} stages`, unit: '×', value: p.ms.median / s.ms.median });
    }
  }
  if (noopSizes.length > 1) {
    const [a, b] = noopSizes;
    for (const tool of Object.keys(medians)) {
      const m = medians[tool];
      if (m[a] !== undefined && m[b] !== undefined) noop.rows.push({ label: `growth ${tool}, ${fmt(b)} / ${fmt(a)} stages`, unit: '×', value: m[b] / m[a] });
    }
    const g = medians.pipeline[b] / medians.pipeline[a];
    noop.targets.push({ what: `linear growth: pipeline no-op ${fmt(b)} / ${fmt(a)} stages (≤ ${b / a}× for ${b / a}× the stages)`, value: g, limit: b / a, dir: 'max', unit: '×' });
  }
  noop.notes.push(
    'Every stage is `echo NAME > out/NAME.txt` through a shell, the same command in pipeline.yaml (`shell: true`), the Makefile and the Snakefile. ' +
      'The shape: a hub stage fans out to √n parallel chains of 4 stages that fan back in to the next hub, repeated ' +
      '(1,000 stages: 32 chains, 8 blocks, 40 levels; 10,000: 100 chains, 25 blocks, 125 levels). ' +
      'The Snakefile for these sizes is one wildcard rule whose inputs come from a table of the edges (the same job graph as one rule per stage, and much faster for Snakemake to parse). ' +
      "Snakemake's no-op runs on a copy of make's outputs (timestamps kept), so it starts from files it finds up to date.",
  );
  for (const peer of [ctx.peers.make, ctx.peers.snakemake]) {
    if (peer.skipped) noop.notes.push(`${peer.name} not measured: ${peer.skipped}`);
    else if (ctx.quick) noop.notes.push(`${peer.name} not measured on synthetic DAGs with --quick`);
  }
  return [cold, noop];
}
