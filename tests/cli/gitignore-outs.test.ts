// `run` adds the outs of the stages it ran to .gitignore when the workspace is in a git repository and git does
// not track them; a committed out is never ignored; `gitignore: false` turns it off; no line twice; a dry run, a
// workspace outside git and a no-op run write nothing.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const WRITE = "const fs = require('fs'), path = require('path');\nfor (const o of process.argv.slice(2)) { fs.mkdirSync(path.dirname(o), { recursive: true }); fs.writeFileSync(o, 'x'); }\n";
const stage = (name: string, outs: string[]) => `  ${name}:\n    cmd: ${JSON.stringify(`node w.js ${outs.map((o) => `'${o}'`).join(' ')}`)}\n    outs: ${JSON.stringify(outs)}\n`;
const yaml = (extra = '', top = '') => `version: 1\n${top}stages:\n${stage('a', ['build/a.txt'])}${extra}`;

describe('cli: run adds the untracked outs of the stages it ran to .gitignore', function () {
  this.timeout(120_000);
  let ws: Workspace;
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ws.dir, encoding: 'utf8' });
  const gitRepo = (text: string) => {
    ws = makeWorkspace({ yaml: text, files: { 'w.js': WRITE } });
    git('init', '-q');
    git('config', 'user.email', 'test@example.com');
    git('config', 'user.name', 'test');
  };
  const lines = () => (ws.exists('.gitignore') ? ws.read('.gitignore') : '').split('\n').filter((l) => l !== '');
  afterEach(() => ws.cleanup());

  it('a stage added after init: its outs are added once, committed outs never; a re-run and a no-op add nothing', async () => {
    gitRepo(yaml(stage('b', ['kept.txt', 'out dir/b #1.txt', 'build/b!.txt'])));
    ws.write('.gitignore', '.pipeline/\n/build/a.txt');
    ws.write('kept.txt', 'committed\n');
    git('add', 'kept.txt', 'pipeline.yaml');
    git('commit', '-qm', 'init');
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.include('added to .gitignore: /out dir/b \\#1.txt /build/b\\!.txt\n');
    expect(lines()).to.deep.equal(['.pipeline/', '/build/a.txt', '/out dir/b \\#1.txt', '/build/b\\!.txt']);
    // git itself reads the lines as exactly those files: nothing of the outs is left untracked, kept.txt is still tracked.
    expect(git('status', '--porcelain', '--untracked-files=all').split('\n').filter((l) => l !== '').sort()).to.deep.equal([' M kept.txt', '?? .gitignore', '?? pipeline.lock', '?? w.js']);
    expect(git('ls-files')).to.equal('kept.txt\npipeline.yaml\n');
    const again = await ws.run(['run', '--force']);
    expect(again.exitCode).to.equal(0);
    expect(again.stdout).to.not.include('.gitignore');
    expect(lines()).to.have.length(4);
  });

  it('a dry run writes nothing; gitignore: false turns it off; a workspace outside git is left alone', async () => {
    gitRepo(yaml());
    const dry = await ws.run(['run', '--dry-run']);
    expect(dry.exitCode).to.equal(0);
    expect(ws.exists('.gitignore')).to.equal(false);
    ws.write('pipeline.yaml', yaml('', 'gitignore: false\n'));
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    expect(ws.exists('.gitignore')).to.equal(false);
    ws.write('pipeline.yaml', yaml());
    expect((await ws.run(['run', '--force'])).exitCode).to.equal(0);
    expect(lines()).to.deep.equal(['/build/a.txt']);
    ws.cleanup();

    ws = makeWorkspace({ yaml: yaml(), files: { 'w.js': WRITE } });
    // Not a repository (nor inside one: the temp dir is outside any git work tree, which GIT_CEILING_DIRECTORIES makes sure of).
    const r = await ws.run(['run'], { env: { GIT_CEILING_DIRECTORIES: ws.dir.replace(/\/[^/]+$/, '') } });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.exists('.gitignore')).to.equal(false);
  });

  it('an out a wider pattern already ignores gets no line of its own; a folder out with a committed file in it is never ignored', async () => {
    gitRepo(yaml(stage('c', ['models/m/w.bin', 'data/raw/new.csv'])));
    ws.write('.gitignore', '/build/\n/models/\n');
    ws.write('data/raw/old.csv', 'committed\n');
    git('add', '.gitignore', 'data/raw/old.csv');
    git('commit', '-qm', 'init');
    ws.write('pipeline.yaml', yaml(stage('c', ['models/m/w.bin', 'data/raw'])));
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.not.include('.gitignore');
    expect(ws.read('.gitignore')).to.equal('/build/\n/models/\n');
  });

  // git started through a wrapper first on PATH that notes each call: whether a run asked git at all.
  const realGit = () => execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const gitCalls = () => {
    const file = ws.path('git-calls.txt');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
  };
  const noting = () => {
    ws.write('fakebin/git', `#!/bin/sh\necho "$*" >> '${ws.path('git-calls.txt')}'\nexec '${realGit()}' "$@"\n`);
    chmodSync(ws.path('fakebin/git'), 0o755);
    return { PATH: `${ws.path('fakebin')}:${process.env.PATH ?? ''}` };
  };

  it('git is not started when no line could be added: outside any work tree, or every out listed already', async () => {
    ws = makeWorkspace({ yaml: yaml(), files: { 'w.js': WRITE } });
    const env = noting();
    const outside = await ws.run(['run'], { env });
    expect(outside.exitCode, outside.stderr).to.equal(0);
    expect(ws.exists('.gitignore')).to.equal(false);
    expect(gitCalls()).to.deep.equal([]);
    ws.cleanup();

    gitRepo(yaml());
    const env2 = noting();
    ws.write('.gitignore', 'fakebin/\ngit-calls.txt\n');
    const first = await ws.run(['run'], { env: env2 });
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(first.stdout).to.include('added to .gitignore: /build/a.txt\n');
    expect(gitCalls()).to.have.length(1); // the wrapper is the git the run starts
    const again = await ws.run(['run', '--force'], { env: env2 });
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(gitCalls()).to.have.length(1);
    expect(lines()).to.deep.equal(['fakebin/', 'git-calls.txt', '/build/a.txt']);
  });

  it('a workspace reached through a symlink from outside git into a work tree: git is asked, the out ignored', async () => {
    ws = makeWorkspace({ files: { 'repo/pipeline.yaml': yaml(), 'repo/w.js': WRITE } });
    execFileSync('git', ['init', '-q'], { cwd: ws.path('repo') });
    symlinkSync(ws.path('repo'), ws.path('link'));
    const r = await ws.run(['run'], { cwd: 'link' });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.read('repo/.gitignore')).to.equal('/build/a.txt\n');
  });

  it('gitignore must be a boolean (validate, exit 2, at its place)', async () => {
    gitRepo(yaml('', 'gitignore: no-thanks\n'));
    const r = await ws.run(['validate']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/pipeline\.yaml:2:12: .*gitignore/);
  });
});
