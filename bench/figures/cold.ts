// Cold full run of the real pipeline on the real data (empty cache, no outputs), next to the original project's
// three Python scripts (bench/peers/python: train, quantize, predict with scikit-learn) on the same file; and its
// peak memory.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipelineCmd, realSource, realWorkspace, resetPipeline, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { canMeasureRss, repeat, type Repeated } from '../measure.js';
import { summarize } from '../stats.js';
import { pythonEnv, timePeer } from '../floors.js';
import { allStatus } from './run-json.js';

export function coldFigures(ctx: BenchContext): Figure[] {
  const f = newFigure('Cold full run of the real pipeline on the real data (empty cache)');
  const mem = newFigure('Peak memory (RSS) of the real cold run');
  const ws = realWorkspace(ctx, 'cold-real');
  const perStage = new Map<string, number[]>();
  const r = repeat(() => pipelineCmd(ctx, ws, ['run', '--json', ...realSource(ctx)]), {
    runs: ctx.runs,
    rss: true,
    before: () => resetPipeline(ws, ['build']),
    check: (o, i) => {
      const stages = allStatus(o.stdout, 'ran', 'cold run');
      if (i >= 0) for (const s of stages) perStage.set(s.name, [...(perStage.get(s.name) ?? []), s.durationMs]);
    },
  });
  f.rows.push({ label: 'pipeline, 7 stages executed', unit: 'ms', stats: r.ms });
  for (const [name, ms] of perStage) f.rows.push({ label: `  stage \`${name}\` (its own duration, from run --json)`, unit: 'ms', stats: summarize(ms) });
  if (ctx.peers.python.version && ctx.dataFile) {
    const py = timePeer(f, ctx, 'python', () => pythonPeer(ctx));
    f.rows.push({ label: 'Python scripts: train.py, quantize.py, predict.py (scikit-learn), one after another', unit: 'ms', stats: py.ms });
    if (py.sane) {
      const ratio = r.ms.median / py.ms.median;
      f.rows.push({ label: 'ratio pipeline / Python scripts', unit: '×', value: ratio });
      f.targets.push({ what: 'cold full run / the Python scripts', value: ratio, limit: 0.25, dir: 'max', unit: '×' });
    }
  } else {
    f.notes.push(`Python peer not measured: ${ctx.peers.python.skipped ?? 'the real data set is missing'}`);
  }
  f.notes.push(
    'Before every run the scratch copy loses `.pipeline/` (cache, run-cache, stat cache, module bundles), `pipeline.lock` and `build/`; ' +
      '`run --json` confirms all 7 stages `ran`. The stage rows are each stage\'s own wall time (child process spawn to exit); ' +
      'stages run 2 at a time (`--jobs` defaults to the CPU count). ' +
      'The Python peer is `sh bench/peers/python/run.sh DATA OUT`: the original project\'s three scripts in three `/usr/bin/python3` processes ' +
      '(Debian\'s python3-sklearn), reading the same cal_housing.data, splitting like `train_test_split(test_size=0.2, random_state=42)`, ' +
      'fitting `LinearRegression`, quantizing the coefficients to 8 and 16 bits (min-max) and predicting the test set with all three models, ' +
      'each writing its outputs (joblib, npz, CSV, JSON); its output folder is emptied before every run. It runs as its users run it: ' +
      'with Debian\'s bytecode of numpy, scipy and scikit-learn and no PYTHON* variable that redirects or disables the bytecode cache, ' +
      'and it is held to its floor (three interpreters importing the same packages) before any ratio is reported.',
  );

  if (r.rssKiB) {
    mem.rows.push({ label: 'pipeline run, cold, real data', unit: 'MiB', stats: summarize(r.rssKiB.samples.map((k) => k / 1024)) });
    mem.notes.push(
      '`/usr/bin/time -f %M` around `node bin/pipeline.js run`: the peak resident set of the largest single process in the tree ' +
        '(the runner or one stage child, whichever peaks higher; kernel `ru_maxrss` of the waited-for tree), not the sum of concurrent processes.',
    );
  } else {
    mem.notes.push(canMeasureRss ? 'no RSS figure was reported' : '/usr/bin/time is not installed: RSS not measured');
  }
  return [f, mem];
}

/** The original project's three Python scripts on the same data, output folder emptied before every run, as a user runs them. */
function pythonPeer(ctx: BenchContext): Repeated {
  const dir = path.join(ctx.tmp, 'python-peer');
  const out = path.join(dir, 'out');
  mkdirSync(dir, { recursive: true });
  return repeat(
    () => ({
      file: 'sh',
      args: [path.join(ctx.repo, 'bench', 'peers', 'python', 'run.sh'), ctx.dataFile!, out],
      cwd: dir,
      env: pythonEnv(),
    }),
    { runs: ctx.runs, before: () => rmSync(out, { recursive: true, force: true }) },
  );
}
