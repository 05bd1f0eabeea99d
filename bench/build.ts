// The benchmark times the compiled CLI as `npm run build` leaves it (bin/pipeline.js → the bundle in dist/cli/, else
// dist/runner/): rebuild it when a source is newer, and the bundle when it is older than the compiled files.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export function ensureBuilt(repo: string, log: (s: string) => void): void {
  const cli = path.join(repo, 'dist', 'runner', 'cli', 'main.js');
  const sources = Math.max(newestSource(path.join(repo, 'runner')), newestSource(path.join(repo, 'stages')));
  if (!existsSync(cli) || statSync(cli).mtimeMs < sources) {
    log('building dist/ (tsc -p tsconfig.build.json)…');
    const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repo, encoding: 'utf8' });
    // tsc still emits JavaScript when it reports type errors; only a missing CLI stops the bench.
    if (!existsSync(cli)) throw new Error(`building dist/ failed:\n${r.stdout}${r.stderr}`);
    if (r.status !== 0) log(`tsc reported type errors (the emitted JavaScript is used):\n${r.stdout.split('\n').slice(0, 5).join('\n')}`);
  }
  const bundle = path.join(repo, 'dist', 'cli', 'main.js');
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(cli).mtimeMs) return;
  log('bundling the CLI (scripts/build-cli.mjs)…');
  const b = spawnSync(process.execPath, [path.join(repo, 'scripts', 'build-cli.mjs')], { cwd: repo, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`bundling the CLI failed:\n${b.stdout}${b.stderr}`);
}
