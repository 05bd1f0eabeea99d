// No-op `pipeline run` of the real 7-stage pipeline, next to Snakemake and make on the same DAG shape.
import path from 'node:path';
import { makeCmd, pipelineCmd, realSource, realWorkspace, snakemakeCmd, type BenchContext } from '../context.js';
import { housingShape, writeDag } from '../dags.js';
import { newFigure, type Figure } from '../figure.js';
import { exec, repeat, type Repeated } from '../measure.js';
import { timePeer } from '../floors.js';
import { RACY_NS } from '../../runner/store/stat-cache.js';
import { allCachedLines, allStatus } from './run-json.js';

/** Sleep `ms` (the bench is synchronous). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function noopFigure(ctx: BenchContext): Figure {
  const f = newFigure('No-op `pipeline run`, the 7-stage pipeline');
  const runs = ctx.runs;

  const real = realWorkspace(ctx, 'noop-real');
  const noop = ['run', ...realSource(ctx)];
  exec(pipelineCmd(ctx, real, ['run', '-q', ...realSource(ctx)]));
  // The no-op a user meets seconds after the last change. A no-op is answered by stat from the fresh record
  // (bin/fresh.js) once every file it consults is older than the racy window; the first no-op after the full run
  // refreshes the stat cache, then the window passes, and the warm-up writes the record.
  exec(pipelineCmd(ctx, real, noop));
  pause(Number(RACY_NS / 1_000_000n) + 200);
  const realRun = repeat(() => pipelineCmd(ctx, real, noop), { runs, check: (o) => allCachedLines(o.stdout, 7, 'real no-op') });
  f.rows.push({ label: 'pipeline, real California-housing pipeline', unit: 'ms', stats: realRun.ms });
  f.targets.push({ what: 'real pipeline no-op', value: realRun.ms.median, limit: 150, dir: 'max', strict: true, unit: 'ms' });
  // `--json` is never answered from the record: the whole CLI loads, reads the config and decides every stage.
  let full: Repeated | undefined;
  if (!ctx.quick) {
    full = repeat(() => pipelineCmd(ctx, real, ['run', '--json', ...realSource(ctx)]), { runs, check: (o) => allStatus(o.stdout, 'cached', 'real no-op --json') });
    f.rows.push({ label: 'pipeline, real pipeline, `run --json` (decided in full, not from the fresh record)', unit: 'ms', stats: full.ms });
    const node = repeat(() => ({ file: process.execPath, args: ['-e', '0'], cwd: ctx.tmp }), { runs });
    f.rows.push({ label: 'bare `node -e 0` (the floor of any Node.js command)', unit: 'ms', stats: node.ms });
    const overNode = full.ms.median / node.ms.median;
    f.rows.push({ label: 'ratio pipeline (real, decided in full) / bare node', unit: '×', value: overNode });
    f.targets.push({ what: 'real no-op decided in full / bare `node -e 0`', value: overNode, limit: 2, dir: 'max', unit: '×' });
  }

  const dirs = writeDag(path.join(ctx.tmp, 'noop-shape'), housingShape());
  // The same shape with trivial commands, for pipeline too (not with --quick, which keeps to the targets).
  let shape: Repeated | undefined;
  if (!ctx.quick) {
    exec(pipelineCmd(ctx, dirs.pipeline, ['run', '-q']));
    exec(pipelineCmd(ctx, dirs.pipeline, ['run']));
    pause(Number(RACY_NS / 1_000_000n) + 200);
    shape = repeat(() => pipelineCmd(ctx, dirs.pipeline, ['run']), { runs, check: (o) => allCachedLines(o.stdout, 7, 'shape no-op') });
    f.rows.push({ label: 'pipeline, same shape with trivial commands', unit: 'ms', stats: shape.ms });
  }

  if (ctx.peers.snakemake.version) {
    exec(snakemakeCmd(dirs.snakemake, []));
    const sm = timePeer(f, ctx, 'snakemake', () => repeat(() => snakemakeCmd(dirs.snakemake, []), { runs }));
    f.rows.push({ label: 'snakemake, same shape', unit: 'ms', stats: sm.ms });
    if (sm.sane) {
      const ratio = realRun.ms.median / sm.ms.median;
      f.rows.push({ label: 'ratio pipeline (real) / snakemake', unit: '×', value: ratio });
      if (shape) f.rows.push({ label: 'ratio pipeline (same shape) / snakemake', unit: '×', value: shape.ms.median / sm.ms.median });
      f.targets.push({ what: 'real no-op / snakemake no-op', value: ratio, limit: 0.15, dir: 'max', unit: '×' });
      if (full) {
        const fullRatio = full.ms.median / sm.ms.median;
        f.rows.push({ label: 'ratio pipeline (real, decided in full) / snakemake', unit: '×', value: fullRatio });
        f.targets.push({ what: 'real no-op decided in full (`run --json`) / snakemake no-op', value: fullRatio, limit: 0.12, dir: 'max', unit: '×' });
      }
    }
  } else {
    f.notes.push(`snakemake not measured: ${ctx.peers.snakemake.skipped}`);
  }
  if (ctx.peers.make.version && !ctx.quick) {
    exec(makeCmd(dirs.make));
    const mk = repeat(() => makeCmd(dirs.make), { runs });
    f.rows.push({ label: 'make, same shape', unit: 'ms', stats: mk.ms });
    f.rows.push({ label: 'ratio pipeline (real) / make', unit: '×', value: realRun.ms.median / mk.ms.median });
  }
  f.notes.push(
    'Wall time of the whole command (process start to exit, `node bin/pipeline.js run`) after a full run, every stage fresh (each repetition\'s lines say all 7 stages `cached`), timed once the files are older than the racy window (2 s), as a no-op seconds after the last change is.',
  );
  return f;
}
