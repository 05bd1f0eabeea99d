// Where the cold run's time goes, per stage, measured on the real pipeline:
// 1. a cold run with a preload (NODE_OPTIONS=--import) that records, in every Node.js process of the run (the
//    runner and each stage host), when it started, when its first line of code ran and when it exited, and keeps
//    each stage's context; that gives the timeline: the runner's start and planning before the first stage, and
//    each stage's process start and life;
// 2. each module stage replayed alone in a fresh process with its recorded context: Node.js start, each package
//    its bundle imports (timed one by one, in the bundle's order), the bundle's own code, the stage function split
//    into time inside file writes (mkdir, writeFile, rename) and the rest (reading inputs and the arithmetic);
// 3. bundling: every distinct stage module built by one esbuild call as the runner does on a cold start (packages
//    inside), in a fresh process, including esbuild's own start; and the same call with packages kept as imports.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pipelineCmd, realSource, realWorkspace, resetPipeline, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { exec } from '../measure.js';
import { summarize } from '../stats.js';
import { allStatus } from './run-json.js';

/**
 * Preload for every Node.js process of the run: its timeline, and the context of a module stage. A host started
 * ahead of need gets its stage later, as a job on stdin (exec/pool.ts): the first read of stdin that returns
 * bytes marks when its stage was sent, and the context is read from the environment the job gave it.
 */
const CAPTURE = `import fs, { writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const dir = process.env.PIPELINE_PROFILE_DIR;
const first = performance.now();
const started = process.env.PIPELINE_CONTEXT;
let job;
const readSync = fs.readSync;
fs.readSync = (fd, ...rest) => {
  const n = readSync(fd, ...rest);
  if (fd === 0 && n > 0 && job === undefined) job = performance.now();
  return n;
};
syncBuiltinESMExports();
process.on('exit', () => {
  const ctx = process.env.PIPELINE_CONTEXT;
  const who = ctx ? JSON.parse(ctx).stage : /params-probe/.test(process.argv[1] ?? '') ? 'probe' : started === undefined && process.env.PIPELINE_WORKSPACE ? 'idle host' : 'runner';
  if (ctx) writeFileSync(dir + '/' + who + '.context.json', ctx);
  writeFileSync(dir + '/' + who + '.' + process.pid + '.time.json', JSON.stringify({ who, origin: performance.timeOrigin, first, job, exit: performance.now() }));
});
`;

/** One stage alone, from its recorded context; prints one JSON line of timings (ms). */
const REPLAY = `import fs, { readFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { isBuiltin, syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';
const boot = performance.now();
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const text = readFileSync(input.bundle, 'utf8');
const specs = [...new Set([...text.matchAll(/^import\\s+(?:[^;]*?\\s+from\\s+)?"([^"]+)";?$/gm)].map((m) => m[1]))].filter((s) => !isBuiltin(s));
const packages = {};
for (const s of specs) { const t = performance.now(); await import(s); packages[s] = performance.now() - t; }
let writes = 0;
const timed = (obj, names, isAsync) => { for (const k of names) { const orig = obj[k]; obj[k] = isAsync
  ? async function (...a) { const t = performance.now(); try { return await orig.apply(this, a); } finally { writes += performance.now() - t; } }
  : function (...a) { const t = performance.now(); try { return orig.apply(this, a); } finally { writes += performance.now() - t; } }; } };
timed(fsp, ['writeFile', 'rename', 'mkdir', 'rm'], true);
timed(fs, ['writeFileSync', 'renameSync', 'mkdirSync'], false);
syncBuiltinESMExports();
let t = performance.now();
const mod = await import(pathToFileURL(input.bundle).href);
const bundle = performance.now() - t;
const ctx = { ...input, signal: new AbortController().signal, log: { info() {}, warn() {}, error() {} } };
t = performance.now();
await mod.default(ctx);
const call = performance.now() - t;
process.stdout.write(JSON.stringify({ boot, packages, bundle, writes, work: call - writes, total: performance.now() }) + '\\n');
`;

/**
 * esbuild as the runner calls it on a cold start (runner/plan/code.ts): every module in one call, the packages they
 * import statically inside (a package imported with import() stays an import); then, for comparison, the same call
 * with every package kept as an import, in one fresh process.
 */
const BUNDLE = `const t0 = performance.now();
const esbuild = await import('esbuild');
const load = performance.now() - t0;
const lazy = { name: 'lazy', setup(b) { b.onResolve({ filter: /^[^./]/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, external: true } : undefined)); } };
const mods = process.argv.slice(2);
const build = async (inside) => {
  const t = performance.now();
  await esbuild.build({ absWorkingDir: process.cwd(), entryPoints: mods.map((m, i) => ({ in: m, out: 'module-' + i })), bundle: true, platform: 'node',
    format: 'esm', target: 'node20', ...(inside ? { plugins: [lazy] } : { packages: 'external' }), external: ['pipeline-dag', 'pipeline-dag/*'],
    metafile: true, write: false, logLevel: 'silent', outdir: '.pipeline/build', outExtension: { '.js': '.mjs' } });
  return performance.now() - t;
};
const inside = await build(true);
const outside = await build(false);
process.stdout.write(JSON.stringify({ load, inside, outside }) + '\\n');
`;

interface Replay {
  boot: number;
  packages: Record<string, number>;
  bundle: number;
  writes: number;
  work: number;
  total: number;
}

const median = (xs: number[]) => summarize(xs);

export function profileFigure(ctx: BenchContext): Figure {
  const f = newFigure("Where the cold run's time goes, per stage");
  const ws = realWorkspace(ctx, 'profile-real');
  const prof = path.join(ctx.tmp, 'profile');
  mkdirSync(prof, { recursive: true });
  const capture = path.join(prof, 'capture.mjs');
  writeFileSync(capture, CAPTURE);

  // 1. Timeline of a cold run (the last of `runs`, each from nothing).
  let stagesJson: { name: string; durationMs: number }[] = [];
  const runner: number[] = [];
  const firstStage: number[] = [];
  const hostStart = new Map<string, number[]>();
  const hostLife = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  for (let i = 0; i < ctx.runs; i++) {
    const dir = path.join(prof, `run-${i}`);
    mkdirSync(dir);
    resetPipeline(ws, ['build']);
    const cmd = pipelineCmd(ctx, ws, ['run', '--json', ...realSource(ctx)]);
    // Stage hosts get the base environment only: the preload and its folder are added to it for this run.
    const o = exec({ ...cmd, env: { ...cmd.env, NODE_OPTIONS: `--import=${pathToFileURL(capture).href}`, PIPELINE_PROFILE_DIR: dir, PIPELINE_BASE_ENV: 'NODE_OPTIONS PIPELINE_PROFILE_DIR' } });
    stagesJson = allStatus(o.stdout, 'ran', 'profiled cold run');
    const times = readdirSync(dir)
      .filter((n) => n.endsWith('.time.json'))
      .map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as { who: string; origin: number; first: number; job?: number; exit: number })
      .filter((t) => t.who !== 'idle host' && t.who !== 'probe');
    const main = times.find((t) => t.who === 'runner');
    if (!main) throw new Error('profile: the runner left no timeline');
    runner.push(main.first);
    const hosts = times.filter((t) => t.who !== 'runner');
    // A stage starts when its host is started for it, or when a host started ahead is sent its job.
    firstStage.push(Math.min(...hosts.map((h) => h.origin + (h.job ?? 0))) - main.origin);
    for (const h of hosts) {
      push(hostStart, h.who, h.job === undefined ? h.first : 0);
      push(hostLife, h.who, h.exit);
    }
    if (i === ctx.runs - 1) for (const n of readdirSync(dir).filter((x) => x.endsWith('.context.json'))) writeFileSync(path.join(prof, n), readFileSync(path.join(dir, n)));
  }
  f.rows.push({ label: 'runner: Node.js start and loading the CLI, to its first line of code', unit: 'ms', stats: median(runner) });
  f.rows.push({ label: 'runner: from its start to the first stage starting (config, plan, bundling every module, hashing)', unit: 'ms', stats: median(firstStage) });

  // 2. Each stage alone.
  const replay = path.join(ws, '.pipeline', 'build', 'replay.mjs');
  writeFileSync(replay, REPLAY);
  const durations = new Map(stagesJson.map((s) => [s.name, s.durationMs]));
  for (const s of stagesJson) {
    const file = path.join(prof, `${s.name}.context.json`);
    const runs: Replay[] = [];
    for (let i = 0; i < ctx.runs; i++) runs.push(JSON.parse(exec({ file: process.execPath, args: [replay, file], cwd: ws }).stdout.trim().split('\n').pop()!) as Replay);
    const pkgs = Object.keys(runs[0].packages);
    const imports = median(runs.map((r) => Object.values(r.packages).reduce((a, b) => a + b, 0)));
    const each = pkgs.map((p) => `${p} ${Math.round(median(runs.map((r) => r.packages[p])).median)} ms`).join(', ');
    f.rows.push({ label: `\`${s.name}\`: in the run (spawn to exit, from run --json, last run)`, unit: 'ms', value: durations.get(s.name) ?? NaN });
    f.rows.push({ label: `  process start in the run: Node.js up to the host's first line (0 for a host started ahead)`, unit: 'ms', stats: median(hostStart.get(s.name) ?? [NaN]) });
    f.rows.push({ label: '  alone: Node.js start', unit: 'ms', stats: median(runs.map((r) => r.boot)) });
    f.rows.push({ label: '  alone: loading packages', unit: 'ms', stats: imports, note: pkgs.length ? each : 'none' });
    f.rows.push({ label: "  alone: the bundle's own code", unit: 'ms', stats: median(runs.map((r) => r.bundle)) });
    f.rows.push({ label: '  alone: the work (reading inputs, arithmetic)', unit: 'ms', stats: median(runs.map((r) => r.work)) });
    f.rows.push({ label: '  alone: writing outputs (mkdir, writeFile, rename)', unit: 'ms', stats: median(runs.map((r) => r.writes)) });
    f.rows.push({ label: '  alone: process total', unit: 'ms', stats: median(runs.map((r) => r.total)) });
  }

  // 3. Bundling.
  const yaml = readFileSync(path.join(ws, 'pipeline.yaml'), 'utf8');
  const mods = [...new Set([...yaml.matchAll(/^\s+module:\s*(\S+)/gm)].map((m) => m[1]))];
  const bundler = path.join(ws, 'bundle-probe.mjs');
  writeFileSync(bundler, BUNDLE);
  const b: { load: number; inside: number; outside: number }[] = [];
  for (let i = 0; i < ctx.runs; i++) b.push(JSON.parse(exec({ file: process.execPath, args: [bundler, ...mods], cwd: ws }).stdout.trim()) as (typeof b)[number]);
  f.rows.push({ label: 'bundling: loading esbuild', unit: 'ms', stats: median(b.map((x) => x.load)) });
  f.rows.push({ label: `bundling: all ${mods.length} stage modules in one call, packages inside (starts esbuild's service)`, unit: 'ms', stats: median(b.map((x) => x.inside)) });
  f.rows.push({ label: `bundling: the same ${mods.length} modules, every package kept as an import (for comparison)`, unit: 'ms', stats: median(b.map((x) => x.outside)) });

  f.notes.push(
    `Measured by bench/figures/profile.ts (\`npm run bench -- --only profile\`), ${ctx.runs} runs each, medians. ` +
      'The timeline comes from cold runs of the real pipeline with a preload in `NODE_OPTIONS` that notes, in every Node.js process, ' +
      '`performance.timeOrigin`, the time of its first line of code and of its exit. ' +
      '"Alone" rows replay each stage by itself in a fresh process with the context it got in the run (its bundle, params, inputs, outs): ' +
      'the packages its bundle imports, one by one in the bundle\'s order; then the bundle (its local code); then its function, ' +
      'of which the time spent inside mkdir/writeFile/rename calls is "writing outputs" and the rest "the work". ' +
      'Bundling is esbuild called as the runner calls it on a cold start, every distinct module in one call, in a fresh process. ' +
      'The stages run 2 at a time in the run, so their rows overlap; the machine is shared, so compare rows of one run.',
  );
  return f;
}
