// A stage with a 1 GiB output: how fast the engine hashes it the first time, and what it adds to a no-op.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RACY_NS } from '../../runner/store/stat-cache.js';
import { pipelineCmd, resetPipeline, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { exec, repeat } from '../measure.js';
import { summarize } from '../stats.js';
import { allStatus, runJson } from './run-json.js';

function workspace(ctx: BenchContext, name: string, bytes: number): string {
  const dir = path.join(ctx.tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'pipeline.yaml'),
    `version: 1\nstages:\n  big:\n    cmd: "head -c ${bytes} /dev/zero > big.bin"\n    shell: true\n    outs: [big.bin]\n`,
  );
  return dir;
}

const GiB = 1024 ** 3;

export function bigOutputFigure(ctx: BenchContext): Figure {
  const bytes = ctx.quick ? 256 * 1024 ** 2 : GiB;
  const size = bytes >= GiB ? `${bytes / GiB} GiB` : `${bytes / 1024 ** 2} MiB`;
  const f = newFigure(`A ${size} output: first hash throughput, later no-op`);
  const runs = ctx.runs;
  const big = workspace(ctx, 'big-output', bytes);
  const small = workspace(ctx, 'small-output', 1024);

  if (ctx.quick) {
    exec(pipelineCmd(ctx, big, ['run', '-q']));
  } else {
    firstRun(ctx, f, big, size);
  }

  // Hashing alone, through the CLI: `status` must hash the out to know it is unmodified. Without the stat cache it
  // reads every byte; with it, it does not. The difference is the hashing time. The stat cache trusts an entry only
  // for a file changed more than RACY_NS before the entry was made (store/stat-cache.ts), so the out must be that old
  // before the runs with the cache present are timed: otherwise they hash it again until it is.
  waitUntilOlderThan(path.join(big, 'big.bin'), Number(RACY_NS / 1_000_000n) + 200);
  const statCache = path.join(big, '.pipeline', 'state', 'stat-cache.json');
  const cold = repeat(() => pipelineCmd(ctx, big, ['status', '--json']), { runs, before: () => rmSync(statCache, { force: true }) });
  const warm = repeat(() => pipelineCmd(ctx, big, ['status', '--json']), { runs });
  f.rows.push({ label: '`status`, stat cache removed (hashes the out)', unit: 'ms', stats: cold.ms });
  f.rows.push({ label: '`status`, stat cache present', unit: 'ms', stats: warm.ms });
  const hashMs = cold.ms.median - warm.ms.median;
  const throughput = bytes / GiB / (hashMs / 1000);
  f.rows.push({ label: 'first hash throughput = size / (status without − with stat cache)', unit: 'GiB/s', value: throughput });
  f.targets.push({ what: 'first hash throughput', value: throughput, limit: 1, dir: 'min', unit: 'GiB/s' });

  // Later no-op, against the same one-stage pipeline whose out is 1 KiB.
  exec(pipelineCmd(ctx, big, ['run', '-q']));
  exec(pipelineCmd(ctx, small, ['run', '-q']));
  const noopBig = repeat(() => pipelineCmd(ctx, big, ['run', '--json']), { runs, check: (o) => allStatus(o.stdout, 'cached', 'big no-op') });
  const noopSmall = repeat(() => pipelineCmd(ctx, small, ['run', '--json']), { runs, check: (o) => allStatus(o.stdout, 'cached', 'small no-op') });
  f.rows.push({ label: `no-op \`run\`, ${size} out`, unit: 'ms', stats: noopBig.ms });
  f.rows.push({ label: 'no-op `run`, same stage with a 1 KiB out', unit: 'ms', stats: noopSmall.ms });
  const ratio = noopBig.ms.median / noopSmall.ms.median;
  f.rows.push({ label: 'ratio', unit: '×', value: ratio });
  f.targets.push({ what: `no-op with the ${size} out / without`, value: ratio, limit: 1.5, dir: 'max', unit: '×' });
  runJson(noopBig.last.stdout);

  f.notes.push(
    `The stage is \`head -c ${bytes} /dev/zero > big.bin\` (sha256 runs at the same speed on any bytes). ` +
      'Throughput target method: `pipeline status` has to hash the out to tell whether it was modified; with `.pipeline/state/stat-cache.json` ' +
      'removed it reads and hashes every byte, with it present it trusts (size, mtime, inode). The difference of the medians is the time to hash the file, ' +
      'with the file in the page cache (this machine has the RAM for it), so it measures the hashing, not the disk. ' +
      'The first-run row is the other method: the whole `run` minus the stage\'s own duration, which also includes copying the file into the cache.',
  );
  rmSync(big, { recursive: true, force: true });
  return f;
}

/** First run: the whole `run` minus the stage's own time (writing the file) = hashing + storing a copy in the cache. */
function firstRun(ctx: BenchContext, f: Figure, big: string, size: string): void {
  const bytes = Number(/head -c (\d+)/.exec(readFileSync(path.join(big, 'pipeline.yaml'), 'utf8'))?.[1]);
  const overheads: number[] = [];
  const first = repeat(() => pipelineCmd(ctx, big, ['run', '--json']), {
    runs: ctx.runs,
    before: () => resetPipeline(big, ['big.bin']),
    check: (o, i) => {
      const [stage] = allStatus(o.stdout, 'ran', 'first run');
      if (i >= 0) overheads.push(o.ms - stage.durationMs);
    },
  });
  f.rows.push({ label: `first \`run\` (stage writes ${size}, engine hashes it and stores a copy in the cache)`, unit: 'ms', stats: first.ms });
  const overhead = summarize(overheads);
  f.rows.push({ label: "  of which outside the stage (run minus the stage's own duration)", unit: 'ms', stats: overhead });
  f.rows.push({ label: '  → hash + store throughput', unit: 'GiB/s', value: bytes / GiB / (overhead.median / 1000) });
}

/** Blocks until the file's mtime and ctime are more than `ms` in the past. */
function waitUntilOlderThan(file: string, ms: number): void {
  const st = statSync(file);
  const left = Math.max(st.mtimeMs, st.ctimeMs) + ms - Date.now();
  if (left > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, left);
}
