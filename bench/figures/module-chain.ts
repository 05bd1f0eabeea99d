// Cold run of a chain of 20 trivial `module:` stages with --jobs 1: wall time per executed module stage, next to a
// bare `node -e 0` (the floor: one Node.js process start per stage).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineCmd, resetPipeline, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { repeat } from '../measure.js';
import { scale } from '../stats.js';
import { allStatus } from './run-json.js';

export const CHAIN = 20;

/** A stage module that writes its one out: nothing to load but node:fs. */
const MODULE = `import { writeFileSync } from 'node:fs';
import type { StageContext } from './context.js';

export default function stage(ctx: StageContext): void {
  for (const file of Object.values(ctx.outs)) writeFileSync(file, \`\${ctx.stage}\\n\`);
}
`;
const CONTEXT = 'export interface StageContext { stage: string; outs: Record<string, string> }\n';

/** `shared`: every stage runs the same module file (one bundle); otherwise each stage has its own module. */
function workspace(ctx: BenchContext, name: string, shared: boolean): string {
  const dir = path.join(ctx.tmp, name);
  mkdirSync(path.join(dir, 'stages'), { recursive: true });
  writeFileSync(path.join(dir, 'stages', 'context.ts'), CONTEXT);
  const lines = ['version: 1', 'stages:'];
  for (let i = 0; i < CHAIN; i++) {
    const mod = shared ? 'stages/stage.ts' : `stages/m${i}.ts`;
    writeFileSync(path.join(dir, mod), MODULE);
    lines.push(`  m${i}:`, `    module: ${mod}`, `    outs: [out/m${i}.txt]`);
    if (i > 0) lines.push(`    needs: [m${i - 1}]`);
  }
  writeFileSync(path.join(dir, 'pipeline.yaml'), `${lines.join('\n')}\n`);
  return dir;
}

export function moduleChainFigure(ctx: BenchContext): Figure {
  const f = newFigure(`Cold run per executed \`module:\` stage: a chain of ${CHAIN} trivial module stages, --jobs 1`);
  const run = (dir: string) =>
    repeat(() => pipelineCmd(ctx, dir, ['run', '--jobs', '1', '--json']), {
      runs: ctx.runs,
      before: () => resetPipeline(dir, ['out']),
      check: (o) => allStatus(o.stdout, 'ran', 'module chain cold run'),
    });
  const node = repeat(() => ({ file: process.execPath, args: ['-e', '0'], cwd: ctx.tmp }), { runs: ctx.runs });
  const own = run(workspace(ctx, 'module-chain', false));
  const perStage = scale(own.ms, (ms) => ms / CHAIN);
  f.rows.push({ label: `pipeline, ${CHAIN} stages, each its own module: wall time / ${CHAIN}`, unit: 'ms/stage', stats: perStage, note: `total median ${Math.round(own.ms.median)} ms` });
  if (!ctx.quick) {
    const shared = run(workspace(ctx, 'module-chain-shared', true));
    f.rows.push({
      label: `pipeline, ${CHAIN} stages, one module shared by all: wall time / ${CHAIN}`,
      unit: 'ms/stage',
      stats: scale(shared.ms, (ms) => ms / CHAIN),
      note: `total median ${Math.round(shared.ms.median)} ms`,
    });
  }
  f.rows.push({ label: 'bare `node -e 0`', unit: 'ms', stats: node.ms });
  const ratio = perStage.median / node.ms.median;
  f.rows.push({ label: 'ratio per module stage / bare node', unit: '×', value: ratio });
  f.targets.push({ what: 'cold run per module stage / bare `node -e 0`', value: ratio, limit: 2, dir: 'max', unit: '×' });
  f.notes.push(
    `Stages m0 → m1 → … → m${CHAIN - 1}, each a TypeScript module whose default export writes its one out (nothing imported but node:fs), ` +
      `run from nothing (no \`.pipeline/\`, lock or outs) with \`--jobs 1\`, so the stages run strictly one after another. ` +
      `The whole command's wall time (the runner's own start, planning, bundling each module with esbuild, ${CHAIN} stage processes, hashing and storing every out) ` +
      `divided by ${CHAIN}, against a bare \`node -e 0\` measured in the same run: the cost of one process start, which every stage pays once.`,
  );
  return f;
}
