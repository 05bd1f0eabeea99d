// Cold full run of the real pipeline on the real data (empty cache, no outputs), and its peak memory.
import { pipelineCmd, realSource, realWorkspace, resetPipeline, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { canMeasureRss, repeat } from '../measure.js';
import { summarize } from '../stats.js';
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
  f.targets.push({ what: 'cold full run', value: r.ms.median, limit: 600, dir: 'max', strict: true, unit: 'ms' });
  f.notes.push(
    'Before every run the scratch copy loses `.pipeline/` (cache, run-cache, stat cache, module bundles), `pipeline.lock` and `build/`; ' +
      '`run --json` confirms all 7 stages `ran`. The stage rows are each stage\'s own wall time (child process spawn to exit); ' +
      'stages run 2 at a time (`--jobs` defaults to the CPU count).',
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
