// bin/pipeline.js started from a copy of the package that has no build (no dist/): a checkout before `npm ci`, one
// whose dist/ was deleted, an installed copy whose `prepare` never ran. Each says what it is and the command that
// fixes it, exit 2, nothing on stdout and no stack trace. And the npx trap: `npx pipeline` in a checkout before
// `npm ci` links the checkout into npx's cache and runs its `prepare`; that must leave the cache entry whole, so the
// same command works once the checkout is built (a failing `prepare` left it half-written, and every later
// `npx pipeline` there failed with ENOENT until the entry was deleted by hand), and npx never rebuilds a checkout.
import { expect } from 'chai';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../helpers/workspace.js';

const env = {
  NO_COLOR: '1',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

/** A copy of bin/ and package.json in `dir`, plus the named extra folders or files of the repository. */
function copyPackage(dir: string, extra: string[] = []): void {
  mkdirSync(dir, { recursive: true });
  for (const entry of ['bin', 'package.json', ...extra]) cpSync(path.join(repoRoot, entry), path.join(dir, entry), { recursive: true });
}

const checkoutMessage = (root: string) =>
  `error: this checkout of pipeline-dag is not built: ${root}/dist is missing\n` +
  `hint: run \`npm ci\` in ${root}: it installs the dependencies and builds (through the \`prepare\` script); after editing the sources, \`npm run build\`\n`;

describe('install: pipeline started from a copy without its build', function () {
  this.timeout(120_000);
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'pipeline-unbuilt-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('a checkout before `npm ci`: names `npm ci` in its folder, whatever the command; exit 2, no stack trace', async () => {
    const root = path.join(base, 'checkout');
    copyPackage(root, ['runner', 'scripts']);
    for (const args of [['run'], ['--version'], [], ['help', 'init'], ['-C', 'elsewhere', 'status', '--json']]) {
      const r = await execa(process.execPath, [path.join(root, 'bin/pipeline.js'), ...args], { cwd: base, env, reject: false });
      expect(r.exitCode, args.join(' ')).to.equal(2);
      expect(r.stdout, args.join(' ')).to.equal('');
      expect(r.stderr, args.join(' ')).to.equal(checkoutMessage(root).trimEnd());
    }
  });

  it('a checkout with its dependencies and no dist/ (deleted, or never built): names `npm run build`', async () => {
    const root = path.join(base, 'checkout');
    copyPackage(root, ['runner']);
    mkdirSync(path.join(root, 'node_modules/typescript'), { recursive: true });
    writeFileSync(path.join(root, 'node_modules/typescript/package.json'), '{"name":"typescript","version":"0.0.0"}\n');
    const r = await execa(process.execPath, [path.join(root, 'bin/pipeline.js'), 'status'], { cwd: root, env, reject: false });
    expect(r.exitCode).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal(
      `error: this checkout of pipeline-dag is not built: ${root}/dist is missing\n` + `hint: run \`npm run build\` in ${root} (and again after editing the sources)`,
    );
  });

  it('an installed copy without dist/, started through its node_modules/.bin link: the skipped build and the reinstall', async () => {
    const project = path.join(base, 'project');
    const installed = path.join(project, 'node_modules/pipeline-dag');
    copyPackage(installed);
    chmodSync(path.join(installed, 'bin/pipeline.js'), 0o755);
    mkdirSync(path.join(project, 'node_modules/.bin'));
    for (const name of ['pipeline', 'pipeline-dag']) {
      symlinkSync('../pipeline-dag/bin/pipeline.js', path.join(project, 'node_modules/.bin', name));
      const r = await execa(path.join(project, 'node_modules/.bin', name), ['init'], { cwd: project, env, reject: false });
      expect(r.exitCode, name).to.equal(2);
      expect(r.stdout, name).to.equal('');
      expect(r.stderr, name).to.equal(
        `error: pipeline-dag in ${installed} is installed without its build: ${installed}/dist is missing\n` +
          'hint: it was installed from a git URL with its install scripts skipped (--ignore-scripts, or a denial in `allowScripts`), and its `prepare` script builds it; ' +
          'install it again with scripts allowed, or install a tarball made by `npm pack` in a clone (see the README, Install)',
      );
    }
  });

  it('npx pipeline in a checkout before `npm ci` says to run `npm ci` and leaves npx\'s cache whole: once built, npx pipeline works', async () => {
    const root = path.join(base, 'checkout');
    copyPackage(root, ['runner', 'scripts', 'package-lock.json']);
    // npx's cache of its own, so the test neither reads nor leaves an entry in the user's.
    const npx = (args: string[], cache = 'npm-cache') =>
      execa('npx', args, { cwd: root, env: { ...env, npm_config_cache: path.join(base, cache) }, reject: false, stdin: 'ignore' });
    for (const name of ['pipeline', 'pipeline', 'pipeline-dag']) {
      const r = await npx([name, '--version']);
      expect(r.exitCode, `npx ${name}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, `npx ${name}`).to.equal(checkoutMessage(root).trimEnd());
    }
    // What `npm ci` leaves (the dependencies, then the build of `prepare`), taken from the repository's own.
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    for (const built of ['dist/runner', 'dist/cli']) cpSync(path.join(repoRoot, built), path.join(root, built), { recursive: true });
    const own = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const name of ['pipeline', 'pipeline-dag']) {
      const r = await npx([name, '--version']);
      expect(r.exitCode, `npx ${name}: ${r.stderr}`).to.equal(0);
      expect(r.stdout, `npx ${name}`).to.equal(own.version);
    }
    // A first npx in the built checkout (a cache without its entry) runs it as built: `prepare` builds nothing then
    // (it rebuilt the whole checkout, a minute, on the first npx of every checkout).
    const bundle = path.join(root, 'dist/cli/main.cjs');
    const before = statSync(bundle).mtimeMs;
    const first = await npx(['pipeline', '--version'], 'npm-cache-2');
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(first.stdout).to.equal(own.version);
    expect(statSync(bundle).mtimeMs).to.equal(before);
  });
});
