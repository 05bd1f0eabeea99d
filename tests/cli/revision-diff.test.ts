// `params diff` and `metrics diff` at git revisions, through the real CLI in a temporary repository whose workspace
// is a subfolder (`ws/`): HEAD against the workspace, HEAD~1 against HEAD, a metric whose object is gone named with
// the command that gets it back (the remote with --pull, else a run at that revision), --pull restoring it, and
// the errors: not a repository, an unknown revision, a revision without pipeline.lock. `metrics --diff` (against
// the previous run) keeps working beside them.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { cleanupAll, makeWorkspace, tempDir, type Workspace } from '../helpers/workspace.js';

const PIPELINE = (alpha: number) => `version: 1
params:
  seed: 1
stages:
  fit:
    cmd: node fit.js
    deps: [fit.js]
    params:
      alpha: ${alpha}
      opts:
        depth: 3
    outs: [build/metrics.json]
    metrics: [build/metrics.json]
`;

const FIT = `const p = JSON.parse(process.env.PIPELINE_PARAMS);
require('fs').mkdirSync('build', { recursive: true });
require('fs').writeFileSync('build/metrics.json', JSON.stringify({ r2: p.alpha / 10, n: 3 }));
`;

describe('cli: params diff and metrics diff at git revisions', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let remote: string;
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ws.base, encoding: 'utf8' });
  const ok = async (args: string[], env?: Record<string, string>) => {
    const r = await ws.run(args, { env });
    expect(r.exitCode, `${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r;
  };

  before(async () => {
    ws = makeWorkspace({ yaml: PIPELINE(5), files: { 'fit.js': FIT } });
    ws.write('../.gitignore', 'cache/\nws/.pipeline/\nws/build/\n');
    git('init', '-q');
    git('config', 'user.email', 'test@example.com');
    git('config', 'user.name', 'Test');
    remote = tempDir('revdiff-remote');
    // The first run's outs go to the remote cache (as CI would push them).
    await ok(['run', '--push'], { PIPELINE_REMOTE: remote });
    git('add', '-A');
    git('commit', '-qm', 'alpha 5');
    ws.write('pipeline.yaml', PIPELINE(7));
    await ok(['run']);
    git('commit', '-qam', 'alpha 7');
    ws.write('pipeline.yaml', PIPELINE(8));
    await ok(['run']);
  });
  after(cleanupAll);

  it('params diff: HEAD against the workspace, HEAD~1 against HEAD, --set on the workspace side, --all', async () => {
    expect((await ok(['params', 'diff'])).stdout).to.equal('stage  param  HEAD  workspace\nfit    alpha     7          8\n');
    const json = (await ok(['params', 'diff', 'HEAD~1', 'HEAD', '--json'])).json as { a: { rev: string; commit: string }; b: { rev: string }; changes: unknown[] };
    expect(json.a.rev).to.equal('HEAD~1');
    expect(json.a.commit).to.equal(git('rev-parse', 'HEAD~1').trim());
    expect(json.b.rev).to.equal('HEAD');
    expect(json.changes).to.deep.equal([{ stage: 'fit', key: 'alpha', old: 5, new: 7 }]);
    expect((await ok(['params', 'diff', '--set', 'fit.alpha=7'])).stdout).to.equal('no param differs between HEAD and workspace\n');
    const all = (await ok(['params', 'diff', '--all', '--json'])).json as { changes: unknown[] };
    expect(all.changes).to.deep.equal([
      { stage: 'fit', key: 'alpha', old: 7, new: 8 },
      { stage: 'fit', key: 'opts.depth', old: 3, new: 3 },
      { stage: 'fit', key: 'seed', old: 1, new: 1 },
    ]);
  });

  it('metrics diff: HEAD against the workspace, HEAD~1 against HEAD; metrics --diff still compares with the run before', async () => {
    expect((await ok(['metrics', 'diff'])).stdout).to.equal('file                metric  HEAD  workspace  change\nbuild/metrics.json  r2       0.7        0.8    +0.1\n');
    const json = (await ok(['metrics', 'diff', 'HEAD~1', 'HEAD', '--json'])).json as { changes: unknown[]; missing: unknown[] };
    expect(json.changes).to.deep.equal([{ file: 'build/metrics.json', key: 'r2', old: 0.5, new: 0.7 }]);
    expect(json.missing).to.deep.equal([]);
    const before = await ok(['metrics', '--diff']);
    expect(before.stdout).to.equal('file                metric  old  new  change\nbuild/metrics.json  r2      0.7  0.8    +0.1\n');
    expect((await ok(['metrics'])).stdout).to.include('build/metrics.json  r2        0.8');
  });

  it('a metric whose object is in no store is named with the command that gets it; --pull fetches it from the remote', async () => {
    const lock = JSON.parse(git('show', 'HEAD~1:ws/pipeline.lock')) as { stages: { fit: { outs: { hash: string }[] } } };
    const hash = lock.stages.fit.outs[0].hash;
    rmSync(path.join(ws.cacheDir, 'objects', hash.slice(0, 2), hash.slice(2)));

    const noRemote = await ok(['metrics', 'diff', 'HEAD~1', 'HEAD', '--json']);
    const doc = noRemote.json as { changes: unknown[]; missing: unknown[] };
    expect(doc.changes).to.deep.equal([
      { file: 'build/metrics.json', key: 'n', new: 3 },
      { file: 'build/metrics.json', key: 'r2', new: 0.7 },
    ]);
    expect(doc.missing).to.deep.equal([
      { side: 'HEAD~1', stage: 'fit', file: 'build/metrics.json', why: `object ${hash.slice(0, 12)} is not in the store`, fix: 'git checkout HEAD~1 && pipeline run fit' },
    ]);
    const text = await ok(['metrics', 'diff', 'HEAD~1', 'HEAD']);
    expect(text.stderr).to.include(`metrics build/metrics.json (stage \`fit\`) at HEAD~1: object ${hash.slice(0, 12)} is not in the store; to get it: git checkout HEAD~1 && pipeline run fit`);

    // A revision the shell would not read back as typed is quoted in the command.
    const braces = await ok(['metrics', 'diff', 'HEAD~1^{commit}', 'HEAD']);
    expect(braces.stderr).to.include("to get it: git checkout 'HEAD~1^{commit}' && pipeline run fit");

    const withRemote = await ok(['metrics', 'diff', 'HEAD~1', 'HEAD'], { PIPELINE_REMOTE: remote });
    expect(withRemote.stderr).to.include('to get it: pipeline metrics diff HEAD~1 HEAD --pull');

    // The remote lacks it too: available nowhere, only a run at that revision makes it again.
    const emptyRemote = tempDir('revdiff-empty');
    const nowhere = await ok(['metrics', 'diff', 'HEAD~1', 'HEAD', '--pull'], { PIPELINE_REMOTE: emptyRemote });
    expect(nowhere.stderr).to.include('is neither in the store nor in the remote cache; to get it: git checkout HEAD~1 && pipeline run fit');

    const pulled = await ok(['metrics', 'diff', 'HEAD~1', 'HEAD', '--pull'], { PIPELINE_REMOTE: remote });
    expect(pulled.stdout).to.equal('file                metric  HEAD~1  HEAD  change\nbuild/metrics.json  r2         0.5   0.7    +0.2\n');
    expect(pulled.stderr).to.equal('');
    expect(readdirSync(path.join(ws.cacheDir, 'objects', hash.slice(0, 2)))).to.include(hash.slice(2));
  });

  it('errors: an unknown revision (git says why), a revision without pipeline.lock, too many revisions, --pull with no remote: exit 2', async () => {
    const unknown = await ws.run(['metrics', 'diff', 'no-such-branch']);
    expect(unknown.exitCode).to.equal(2);
    expect(unknown.stderr).to.match(/^error: unknown revision `no-such-branch` \(git: fatal: .*unknown revision.*\)/);
    const dash = await ws.run(['params', 'diff', '--', '--output=x']);
    expect(dash.exitCode).to.equal(2);
    expect(ws.exists('x')).to.equal(false);

    const empty = git('commit-tree', '-m', 'empty', git('hash-object', '-t', 'tree', '-w', '/dev/null').trim()).trim();
    const noYaml = await ws.run(['metrics', 'diff', empty]);
    expect(noYaml.exitCode).to.equal(2);
    expect(noYaml.stderr).to.match(new RegExp(`^error: revision \`${empty}\` \\(${empty.slice(0, 12)}\\) has no ws/pipeline\\.yaml\n`));

    git('rm', '-q', '--cached', 'ws/pipeline.lock');
    git('commit', '-qm', 'no lock');
    const noLock = await ws.run(['params', 'diff']);
    expect(noLock.exitCode).to.equal(2);
    expect(noLock.stderr).to.match(/^error: revision `HEAD` \([0-9a-f]{12}\) has no ws\/pipeline\.lock\n/);
    const three = await ws.run(['params', 'diff', 'HEAD~1', 'HEAD~2', 'HEAD~3']);
    expect(three.exitCode).to.equal(2);
    expect(three.stderr).to.include('expected at most two revisions, got 3');
    const pull = await ws.run(['metrics', 'diff', 'HEAD~2', 'HEAD~1', '--pull'], { env: { PIPELINE_REMOTE: undefined } });
    expect(pull.exitCode).to.equal(2);
    expect(pull.stderr).to.include('--pull: no remote cache is set');
  });

  it('not a git repository: exit 2 saying so', async () => {
    const alone = makeWorkspace({ yaml: PIPELINE(5), files: { 'fit.js': FIT } });
    for (const args of [['params', 'diff'], ['metrics', 'diff']]) {
      const r = await alone.run(args, { env: { GIT_CEILING_DIRECTORIES: path.dirname(alone.base) } });
      expect(r.exitCode, r.stderr).to.equal(2);
      expect(r.stderr).to.include(`${alone.dir} is not in a git repository`);
    }
  });
});
