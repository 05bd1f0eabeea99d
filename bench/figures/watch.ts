// `pipeline watch`: how soon an edit of a dep starts its stage (the watcher's latency, the debounce, reading the
// config, planning, taking the workspace and starting the stage included), and what watching 1,000 files costs
// while nothing changes. Measured by watch-driver.ts in a child process (the CLI's `--json` lines are its clock).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { exec } from '../measure.js';
import { summarize } from '../stats.js';

function driver(ctx: BenchContext, mode: 'latency' | 'idle', spec: Record<string, unknown>): unknown {
  const dir = path.join(ctx.tmp, `watch-${mode}`);
  mkdirSync(dir, { recursive: true });
  const script = path.join(ctx.repo, 'bench', 'figures', 'watch-driver.ts');
  const cli = path.join(ctx.repo, 'bin', 'pipeline.js');
  const out = exec({ file: process.execPath, args: ['--import', 'tsx', script, mode, JSON.stringify({ dir, cli, ...spec })], cwd: ctx.repo });
  return JSON.parse(out.stdout.trim().split('\n').pop()!);
}

export function watchFigure(ctx: BenchContext): Figure {
  const f = newFigure('`pipeline watch`: an edit of a dep → its stage started; 1,000 files watched while idle');
  const edits = ctx.quick ? 8 : 20;
  const { toEvent, toProcess } = driver(ctx, 'latency', { edits }) as { toEvent: number[]; toProcess: number[] };
  const event = summarize(toEvent);
  f.rows.push({ label: `write of the dep → \`stage-started\` on stdout (${edits} edits)`, unit: 'ms', stats: event });
  f.rows.push({ label: '  write of the dep → the stage\'s own process running (Node.js start included)', unit: 'ms', stats: summarize(toProcess) });
  f.targets.push({ what: 'edit of a dep → its stage started (median)', value: event.median, limit: 150, dir: 'max', unit: 'ms' });
  const seconds = ctx.quick ? 3 : 10;
  const idle = driver(ctx, 'idle', { files: 1000, seconds }) as { watched: number; cpuSeconds: number; seconds: number; percent: number; hz: number };
  f.rows.push({ label: `CPU of the watching process, idle for ${seconds} s with ${idle.watched} files watched`, unit: '%', value: idle.percent });
  f.targets.push({ what: '1,000 idle-watched files: CPU', value: idle.percent, limit: 1, dir: 'max', strict: true, unit: '%' });
  f.checks.push({ what: 'the idle workspace watches at least 1,000 files', ok: idle.watched >= 1000, detail: `${idle.watched} watched` });
  f.notes.push(
    'A scratch workspace with one stage (`node stage.js`, reading `data/dep.txt`) under `pipeline watch --json`; each edit writes new bytes ' +
      '200 ms after the previous cycle printed `watch-waiting`, and the time is taken from just before `writeFileSync` to the arrival of the ' +
      '`stage-started` line on the driver\'s end of the pipe: chokidar\'s event, the 30 ms debounce, reading the config, the plan, taking the ' +
      'workspace\'s lock, the run\'s own plan and the stage\'s start. The second row ends when the stage\'s process notes the time, its first statement. ' +
      `The idle row: one stage reading 1,000 files named one by one (plus pipeline.yaml, pipeline.local.yaml, pipeline.lock); once the first run is over, ` +
      `utime + stime of the watching process from /proc/PID/stat (clock ticks of 1/${idle.hz} s) over ${seconds} s of wall time.`,
  );
  return f;
}
