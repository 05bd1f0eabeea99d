// `npm run bench` → bench/RESULTS.md: pipeline against Snakemake and make, every figure the median of repeated
// runs after a warm-up. `npm run bench -- --quick`: a small version for CI that prints instead of writing and
// exits 1 only when a figure is more than 10× off its target (or a correctness check fails).
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBuilt } from './build.js';
import type { BenchContext } from './context.js';
import { failedFigure, type Figure } from './figure.js';
import { bigOutputFigure } from './figures/big-output.js';
import { cliFigure } from './figures/cli.js';
import { coldFigures } from './figures/cold.js';
import { moduleChainFigure } from './figures/module-chain.js';
import { noopFigure } from './figures/noop.js';
import { olsFigure } from './figures/ols.js';
import { paramFigure } from './figures/param.js';
import { expShowFigure, sweepFigure } from './figures/sweep.js';
import { profileFigure } from './figures/profile.js';
import { remoteFigures, remoteServers } from './figures/remote.js';
import { remoteDeadFigure } from './figures/remote-dead.js';
import { FILES, remoteFilesFigure, remoteWireFigure } from './figures/remote-wire.js';
import { syntheticFigures } from './figures/synthetic.js';
import { slurmFigure, slurmUnavailable } from './figures/slurm.js';
import { slurmJobFigures, slurmStepsFigures } from './figures/slurm-steps.js';
import { watchFigure } from './figures/watch.js';
import { preparePeers } from './peers.js';
import { loadAverage, machine, printFigures, printSummary, renderMarkdown } from './report.js';

interface Section {
  key: string;
  title: string;
  needsData?: boolean;
  /** Why the figure cannot run here (a missing cluster), or undefined. */
  unavailable?(ctx: BenchContext): string | undefined;
  /** Only in the full bench (no target to check with --quick). */
  full?: boolean;
  make(ctx: BenchContext): Figure[];
}

function serversMissing(): string | undefined {
  const servers = remoteServers();
  return typeof servers === 'string' ? servers : undefined;
}

const SECTIONS: Section[] = [
  { key: 'noop', title: 'No-op `pipeline run`, the 7-stage pipeline', needsData: true, make: (c) => [noopFigure(c)] },
  { key: 'cold', title: 'Cold full run of the real pipeline', needsData: true, make: coldFigures },
  { key: 'param', title: 'One param of `quantize-8` changed → run', needsData: true, make: (c) => [paramFigure(c)] },
  { key: 'sweep', title: 'A 12-variant sweep (`pipeline exp run`)', needsData: true, make: (c) => [sweepFigure(c)] },
  { key: 'exp-show', title: '`pipeline exp show` over 1,000 experiments', needsData: true, make: (c) => [expShowFigure(c)] },
  { key: 'chain', title: 'A chain of 20 module stages', make: (c) => [moduleChainFigure(c)] },
  { key: 'synthetic', title: 'Synthetic DAGs', make: syntheticFigures },
  { key: 'big', title: 'A large output', make: (c) => [bigOutputFigure(c)] },
  { key: 'ols', title: 'OLS fit on 2,000,000 × 8 synthetic rows', make: (c) => [olsFigure(c)] },
  { key: 'watch', title: '`pipeline watch`: edit → stage started, idle cost', make: (c) => [watchFigure(c)] },
  { key: 'profile', title: "Where the cold run's time goes", needsData: true, full: true, make: (c) => [profileFigure(c)] },
  { key: 'cli', title: 'Starting the CLI', needsData: true, full: true, make: (c) => [cliFigure(c)] },
  {
    key: 'slurm',
    title: 'Per-stage overhead under Slurm',
    full: true,
    unavailable: () => slurmUnavailable(),
    make: (c) => [slurmFigure(c), ...slurmJobFigures(c)],
  },
  {
    key: 'slurm-steps',
    title: 'Stages as steps of a Slurm allocation',
    full: true,
    unavailable: () => slurmUnavailable(),
    make: (c) => slurmStepsFigures(c),
  },
  { key: 'remote-dead', title: 'A remote that never answers', full: true, make: (c) => [remoteDeadFigure(c)] },
  {
    key: 'remote',
    title: 'The remote cache against the local servers',
    needsData: true,
    full: true,
    unavailable: () => {
      const servers = remoteServers();
      return typeof servers === 'string' ? servers : undefined;
    },
    make: remoteFigures,
  },
  { key: 'remote-wire', title: 'Remote transfers near the wire: a 200 MiB object', full: true, unavailable: serversMissing, make: (c) => [remoteWireFigure(c)] },
  { key: 'remote-files', title: `Remote transfers near the wire: ${FILES} small files`, full: true, unavailable: serversMissing, make: (c) => [remoteFilesFigure(c)] },
];

function main(): number {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench [-- --quick] [--only noop,cold,param,sweep,exp-show,chain,synthetic,big,ols,watch,profile,cli,slurm,slurm-steps,remote-dead,remote,remote-wire,remote-files] [--runs N]\n' +
        '  full: every figure, peers installed when missing, writes bench/RESULTS.md\n' +
        '  --quick: smaller sizes and fewer runs, prints only; exit 1 when a figure is > 10× off its target\n' +
        '  --out FILE: write the Markdown there (also for a partial run) instead of bench/RESULTS.md\n',
    );
    return 0;
  }
  const quick = Boolean(values.quick);
  const runs = values.runs ? Number(values.runs) : quick ? 3 : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: expected a positive whole number`);
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((k) => !SECTIONS.some((s) => s.key === k));
  if (unknown?.length) throw new Error(`--only: unknown figure ${unknown.join(', ')} (choose from ${SECTIONS.map((s) => s.key).join(', ')})`);
  const partial = Boolean(only) || values.runs !== undefined;

  const log = (s: string) => process.stdout.write(`${s}\n`);
  const started = Date.now();
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  ensureBuilt(repo, log);
  const peers = preparePeers(!quick, log, quick);
  const m = machine(peers);
  const dataFile = path.resolve(repo, '../shared/data/cal_housing.data');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pipeline-bench-'));
  const ctx: BenchContext = { repo, tmp, quick, runs, peers, dataFile: existsSync(dataFile) ? dataFile : undefined, log };
  log(`pipeline bench${quick ? ' --quick' : ''}: ${runs} runs per figure after a warm-up; ${m.nproc} CPUs, node ${m.node}, load ${m.loadStart}`);

  const figures: Figure[] = [];
  const skipped: string[] = [];
  try {
    for (const s of SECTIONS) {
      if (only && !only.includes(s.key)) continue;
      if (s.full && quick) continue;
      if (s.needsData && !ctx.dataFile) {
        skipped.push(`${s.title}: the real data set is not at ${dataFile}`);
        log(`skipping ${s.title}: the real data set is not at ${dataFile}`);
        continue;
      }
      const why = s.unavailable?.(ctx);
      if (why) {
        skipped.push(`${s.title}: ${why}`);
        log(`skipping ${s.title}: ${why}`);
        continue;
      }
      const t0 = Date.now();
      log(`${s.title}…`);
      try {
        figures.push(...s.make(ctx));
      } catch (err) {
        log(`  failed: ${(err as Error).message}`);
        figures.push(failedFigure(s.title, err));
      }
      log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  m.loadEnd = loadAverage();

  if (quick || partial) printFigures(figures, log);
  const { missed, wild } = printSummary(figures, log);
  for (const s of skipped) log(`  skipped  ${s}`);
  log(`${((Date.now() - started) / 1000).toFixed(1)} s in all; load average at the end ${m.loadEnd}`);

  if (quick) {
    if (wild.length) {
      log(`\nbench --quick: ${wild.length} figure(s) more than 10× off target or failed:\n  ${wild.join('\n  ')}`);
      return 1;
    }
    log(`bench --quick: no figure is more than 10× off its target (${missed} target(s) missed by less)`);
    return 0;
  }
  if (partial && !values.out) {
    log('(--only/--runs: a partial run, bench/RESULTS.md left as it was)');
  } else {
    const file = values.out ? path.resolve(values.out) : path.join(repo, 'bench', 'RESULTS.md');
    const tmpFile = `${file}.${process.pid}.tmp`;
    writeFileSync(tmpFile, renderMarkdown(figures, m, runs, partial ? `npm run bench -- ${process.argv.slice(2).join(' ')}` : 'npm run bench'));
    renameSync(tmpFile, file);
    log(`wrote ${path.relative(process.cwd(), file) || file}`);
  }
  const failedChecks = figures.flatMap((f) => f.checks).filter((c) => !c.ok);
  return failedChecks.length ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 2;
}
