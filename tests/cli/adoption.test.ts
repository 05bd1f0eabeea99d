// What a new user meets first: `init`, `help NAME`, `--version` (these three outside any workspace),
// `status --exit-code`, and output into a pipe its reader closed (`pipeline run | head -1`).
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { STAGE_SCRIPT, makeWorkspace, repoRoot, runCli, type Workspace } from '../helpers/workspace.js';

/** The CLI in a folder that is no workspace (a temp folder outside the repository), its store in it. */
const cli = (dir: string, args: string[]) => runCli(dir, args, { cacheDir: path.join(dir, '.cache') });

describe('cli: init, help, --version outside a workspace', function () {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-init-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await cli(dir, [flag]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout).to.equal(`${version}\n`);
    }
  });

  it('help NAME shows that command’s help; an unknown NAME is an error with a suggestion', async () => {
    const r = await cli(dir, ['help', 'status']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^Usage: pipeline status \[options\] \[stages\.\.\.\]/);
    expect(r.stdout).to.include('--exit-code');
    const init = await cli(dir, ['help', 'init']);
    expect(init.stdout).to.match(/^Usage: pipeline init/);
    const bad = await cli(dir, ['help', 'stauts']);
    expect(bad.exitCode).to.equal(2);
    expect(bad.stdout).to.equal('');
    expect(bad.stderr).to.include('error: no help for `stauts`: it is not a built-in command (did you mean `status`?)\n');
  });

  it('a command outside any workspace names `pipeline init` (exit 2); after init the same command works', async () => {
    const r = await cli(dir, ['status']);
    expect(r.exitCode).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.include(`error: no pipeline.yaml in ${dir} or its parents; run \`pipeline init\` to create one here, or pass --config FILE\n`);
    expect(r.stderr).to.not.include('see README');
    expect((await cli(dir, ['init'])).exitCode).to.equal(0);
    const after = await cli(dir, ['status']);
    expect(after.exitCode, after.stderr).to.equal(0);
  });

  it('init writes a starter pipeline that validates and runs, and the .gitignore entries', async () => {
    const r = await cli(dir, ['init']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.include('wrote pipeline.yaml');
    const yaml = readFileSync(path.join(dir, 'pipeline.yaml'), 'utf8');
    expect(yaml).to.match(/^\s+cmd: /m);
    expect(yaml).to.match(/^\s+module: stages\/hello\.ts$/m);
    expect(yaml.split('\n').filter((l) => l.trimStart().startsWith('#')).length).to.be.greaterThan(5);
    expect(readFileSync(path.join(dir, 'stages/hello.ts'), 'utf8')).to.include("import type { StageContext } from 'pipeline-dag/stage';");
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).to.equal('.pipeline/\n/pipeline.local.yaml\n/build/greeting.txt\n/build/hello.txt\n/build/hello-metrics.json\n');
    const valid = await cli(dir, ['validate']);
    expect(valid.exitCode, valid.stderr).to.equal(0);
    expect(valid.stdout).to.include('valid, 2 stages (greet → hello)');
    const run = await cli(dir, ['run']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(readFileSync(path.join(dir, 'build/hello.txt'), 'utf8')).to.equal('Hello, world!\n');
    const again = await cli(dir, ['run', '--set', 'name=you']);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(readFileSync(path.join(dir, 'build/hello.txt'), 'utf8')).to.equal('Hello, you!\n');
    const metrics = await cli(dir, ['metrics', '--json']);
    expect(JSON.parse(metrics.stdout)).to.deep.equal({ 'build/hello-metrics.json': { characters: 11 } });
  });

  it("the README's Install section shows the stages/hello.ts init writes and the stages of its pipeline.yaml", async () => {
    expect((await cli(dir, ['init'])).exitCode).to.equal(0);
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const install = readme.slice(readme.indexOf('## Install'), readme.indexOf('## Quick start'));
    const sample = /```ts\n([\s\S]*?)```/.exec(install.slice(install.indexOf('`pipeline init` refuses')));
    expect(sample?.[1]).to.equal(readFileSync(path.join(dir, 'stages/hello.ts'), 'utf8'));
    const yaml = readFileSync(path.join(dir, 'pipeline.yaml'), 'utf8');
    for (const named of ['name: world', 'greet:', 'hello:', 'build/greeting.txt', 'build/hello.txt', 'build/hello-metrics.json']) {
      expect(yaml, named).to.include(named);
      expect(install, named).to.include(named.replace(/:$/, ''));
    }
    // The quick start's commands are real ones: no placeholder standing for an option.
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Documentation'));
    for (const line of quick.split('\n').filter((l) => l.startsWith('pipeline '))) expect(line.split('#')[0], line).to.not.match(/ [A-Z]( |$)/);
  });

  it('init appends to an existing .gitignore without duplicates', async () => {
    writeFileSync(path.join(dir, '.gitignore'), 'node_modules/\n.pipeline\nbuild/hello.txt');
    const r = await cli(dir, ['init']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).to.equal('node_modules/\n.pipeline\nbuild/hello.txt\n/pipeline.local.yaml\n/build/greeting.txt\n/build/hello-metrics.json\n');
  });

  it('init refuses to overwrite a config (exit 2) and changes nothing', async () => {
    writeFileSync(path.join(dir, 'pipeline.yaml'), 'version: 1\nstages: {a: {cmd: echo hi}}\n');
    const r = await cli(dir, ['init']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.equal('error: pipeline.yaml already exists; `pipeline init` does not overwrite it\nhint: edit it, or remove it to start over\n');
    expect(readFileSync(path.join(dir, 'pipeline.yaml'), 'utf8')).to.equal('version: 1\nstages: {a: {cmd: echo hi}}\n');
    expect(existsSync(path.join(dir, 'stages'))).to.equal(false);
    expect(existsSync(path.join(dir, '.gitignore'))).to.equal(false);
  });
});

const TWO_STAGES = `version: 1
stages:
  first:
    cmd: node stage.js build/first.txt
    outs: [build/first.txt]
    params: {value: one}
  second:
    cmd: node stage.js build/second.txt build/first.txt
    needs: [first]
    outs: [build/second.txt]
    params: {value: two}
`;

describe('cli: status --exit-code', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: TWO_STAGES, files: { 'stage.js': STAGE_SCRIPT } });
  });
  after(() => ws.cleanup());

  it('exits 1 while anything is stale, 0 once everything is fresh; without the flag always 0', async () => {
    expect((await ws.run(['status'])).exitCode).to.equal(0);
    const stale = await ws.run(['status', '--exit-code']);
    expect(stale.exitCode).to.equal(1);
    expect(stale.stdout).to.include('2 of 2 stages stale');
    expect((await ws.run(['status', '--exit-code', '--json'])).exitCode).to.equal(1);
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    const fresh = await ws.run(['status', '--exit-code']);
    expect(fresh.exitCode, fresh.stderr).to.equal(0);
    expect(fresh.stdout).to.include('everything is up to date');
    expect((await ws.run(['status', '--exit-code', '--set', 'first.value=1'])).exitCode).to.equal(1);
  });
});

/**
 * Runs the CLI with its stdout (and stderr) going into a pipe the reading side closed before the CLI wrote
 * anything, as `pipeline … | head -0` would: every write fails with EPIPE.
 */
async function runIntoClosedPipe(ws: Workspace, args: string[], closeStderr: boolean): Promise<{ code: number; stderr: string }> {
  const child = ws.spawn(args);
  child.stdout.destroy();
  if (closeStderr) child.stderr.destroy();
  const r = await child.result;
  return { code: r.exitCode, stderr: closeStderr ? '' : r.stderr };
}

describe('cli: output into a closed pipe', function () {
  let ws: Workspace;
  beforeEach(() => {
    ws = makeWorkspace({ yaml: TWO_STAGES, files: { 'stage.js': STAGE_SCRIPT } });
  });
  afterEach(() => ws.cleanup());

  it('run finishes every stage and records it; no stack trace', async () => {
    const r = await runIntoClosedPipe(ws, ['run'], false);
    expect(r.stderr).to.not.match(/EPIPE|Error|at /);
    expect(r.code).to.equal(0);
    expect(ws.read('build/second.txt')).to.equal('two\none\n');
    expect(Object.keys(ws.lock().stages).sort()).to.deep.equal(['first', 'second']);
    const status = await ws.run(['status', '--exit-code']);
    expect(status.exitCode, status.stdout).to.equal(0);
  });

  it('run with stdout and stderr both closed (`2>&1 | head`) still finishes and records', async () => {
    const r = await runIntoClosedPipe(ws, ['run', '--verbose'], true);
    expect(r.code).to.equal(0);
    expect(ws.read('build/first.txt')).to.equal('one\n');
    expect(ws.lock().stages.second.outs.map((o: { path: string }) => o.path)).to.deep.equal(['build/second.txt']);
  });

  it('status, dag, validate and a failing command print nothing more and exit with their own code', async () => {
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    for (const args of [['status'], ['dag'], ['dag', '--format', 'json'], ['validate'], ['schema']]) {
      const r = await runIntoClosedPipe(ws, args, false);
      expect(r.stderr, args.join(' ')).to.equal('');
      expect(r.code, args.join(' ')).to.equal(0);
    }
    const bad = await runIntoClosedPipe(ws, ['run', 'nosuch'], false);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^error: /);
  });

  it('`pipeline run | head -1` through a shell prints the first line and the run completes', async () => {
    const r = await ws.run(['run'], { via: ['sh', '-c', '"$@" | head -1', 'sh'] });
    expect(r.stderr).to.equal('');
    expect(r.stdout.split('\n')[0]).to.match(/^first\s+running/);
    expect(Object.keys(ws.lock().stages).sort()).to.deep.equal(['first', 'second']);
    expect(ws.read('build/second.txt')).to.equal('two\none\n');
  });
});
