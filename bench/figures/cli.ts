// How the README's everyday commands are started: `npx pipeline …`, an npm script, and `node bin/pipeline.js …`
// (what an installed `pipeline` on PATH runs: its bin is that file), on the same command in the same workspace.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { realSource, realWorkspace, pipelineCmd, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { exec, repeat, type Cmd } from '../measure.js';

export function cliFigure(ctx: BenchContext): Figure {
  const f = newFigure('Starting the CLI: `npx pipeline` vs an npm script vs `node bin/pipeline.js`');
  const ws = realWorkspace(ctx, 'cli-real');
  cpSync(path.join(ctx.repo, 'bin'), path.join(ws, 'bin'), { recursive: true });
  // dist/ is linked by realWorkspace already. `npx pipeline` finds the command where an installed copy puts it,
  // node_modules/.bin: the workspace gets its own node_modules (links to the repository's packages) with that link.
  const modules = path.join(ws, 'node_modules');
  rmSync(modules);
  mkdirSync(path.join(modules, '.bin'), { recursive: true });
  for (const name of readdirSync(path.join(ctx.repo, 'node_modules'))) {
    if (name !== '.bin') symlinkSync(path.join(ctx.repo, 'node_modules', name), path.join(modules, name));
  }
  symlinkSync(path.join(ws, 'bin', 'pipeline.js'), path.join(modules, '.bin', 'pipeline'));
  symlinkSync(ctx.repo, path.join(modules, 'pipeline-dag'));
  const pkgFile = path.join(ws, 'package.json');
  // A project that installed the package, not the package itself: npx runs a project's own bin by installing the
  // project into its cache first, which is not what a user of `npx pipeline` meets.
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name?: string; bin?: unknown; scripts?: Record<string, string> };
  pkg.name = 'bench-consumer';
  delete pkg.bin;
  pkg.scripts = { pipeline: 'node bin/pipeline.js' };
  writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  exec(pipelineCmd(ctx, ws, ['run', '-q', ...realSource(ctx)]));

  // npm's update check would add a network round trip: off, so only npm's own start is measured.
  const npmEnv = { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  const forms: [string, (args: string[]) => Cmd][] = [
    ['`node bin/pipeline.js …`', (args) => ({ file: process.execPath, args: ['bin/pipeline.js', ...args], cwd: ws })],
    ['`npx pipeline …`', (args) => ({ file: 'npx', args: ['pipeline', ...args], cwd: ws, env: npmEnv })],
    ['`npm run -s pipeline -- …` (an npm script)', (args) => ({ file: 'npm', args: ['run', '-s', 'pipeline', '--', ...args], cwd: ws, env: npmEnv })],
  ];
  const commands: [string, string[]][] = [
    ['status', ['status', ...realSource(ctx)]],
    ['run (no-op)', ['run', '-q', ...realSource(ctx)]],
    ['dag', ['dag']],
  ];
  for (const [what, args] of commands) {
    const base = repeat(() => forms[0][1](args), { runs: ctx.runs });
    f.rows.push({ label: `${what}: ${forms[0][0]}`, unit: 'ms', stats: base.ms });
    for (const [label, make] of forms.slice(1)) {
      const r = repeat(() => make(args), { runs: ctx.runs });
      f.rows.push({ label: `${what}: ${label}`, unit: 'ms', stats: r.ms, note: `+${Math.round(r.ms.median - base.ms.median)} ms, ${(r.ms.median / base.ms.median).toFixed(1)}×` });
    }
  }
  f.notes.push(
    'The same command in the same workspace (the real pipeline after a full run), started three ways. ' +
      '`npx` and `npm run` start npm (its own Node.js process, its config and the package tree) before they start `node bin/pipeline.js`; ' +
      'an installed `pipeline` (`npm install --global`, `npm link`, or a shell alias) runs `bin/pipeline.js` directly, like the first row. ' +
      "npm's update check is off for the measurement (`npm_config_update_notifier=false`); with it on, npm may also wait for the network.",
  );
  return f;
}
