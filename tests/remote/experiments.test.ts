// `exp push` / `exp pull` through a folder remote and the real servers (HTTP cache, S3): a teammate's clone with an
// empty store pulls a signed experiment and `exp apply` restores its outs without executing anything; pulled without
// the key (unsigned for this command) it is shown but `exp apply` runs its stages; pulling all uses the remote's list.
import { readdirSync, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { freshRemote, type Kind } from './helpers.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { collectRemoteGarbage } from '../../runner/store/remote/gc.js';
import { Remote } from '../../runner/store/remote/remote.js';

const KEY = { PIPELINE_REMOTE_SIGNING_KEY: 'team-signing-key-exp' };

const YAML = `version: 1
stages:
  make:
    cmd: node make.js
    deps: [make.js]
    params:
      level: 1 # how much
    outs: [out/data.txt]
    metrics: [out/data.txt.json]
`;
// Logs each execution in the workspace (a restored out is told apart from a re-made one by runs.log).
const MAKE_JS = `const fs = require('fs');
const p = JSON.parse(process.env.PIPELINE_PARAMS);
fs.mkdirSync('out', { recursive: true });
fs.writeFileSync('out/data.txt', 'level ' + p.level + '\\n');
fs.writeFileSync('out/data.txt.json', JSON.stringify({ level: p.level }));
`;
const YAML_WITH_METRICS = YAML.replace('outs: [out/data.txt]', 'outs: [out/data.txt, out/data.txt.json]');

const workspace = (prefix: string): Workspace => makeWorkspace({ yaml: YAML_WITH_METRICS, files: { 'make.js': MAKE_JS }, prefix });

for (const kind of ['folder', 'http', 's3'] as Kind[]) {
  describe(`remote experiments: ${kind}`, function () {
    this.timeout(300_000);

    it('push, then pull in a clone: signed → apply restores; without the key → shown, apply runs the stage', async () => {
      const remote = await freshRemote(kind);
      const ws = workspace('pipeline-exp-remote-');
      expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
      const swept = await ws.run(['exp', 'run', '--grid', 'make.level=5,7'], { env: { ...remote.env, ...KEY } });
      expect(swept.exitCode, swept.stderr).to.equal(0);
      const pushed = await ws.run(['exp', 'push'], { env: { ...remote.env, ...KEY } });
      expect(pushed.exitCode, pushed.stderr).to.equal(0);
      expect(pushed.stdout).to.match(/pushed 2 experiment\(s\), [1-9][0-9]* objects and 2 run records .*\(signed\)/);
      const names = (JSON.parse((await ws.run(['exp', 'show', '--json'])).stdout) as { experiments: { name: string; params: Record<string, unknown> }[] }).experiments.slice(1);
      const seven = names.find((e) => e.params['make.level'] === 7)!.name;

      // A teammate: the same files, an empty store of its own.
      const mate = workspace('pipeline-exp-mate-');
      const pulled = await mate.run(['exp', 'pull'], { env: { ...remote.env, ...KEY } });
      expect(pulled.exitCode, pulled.stderr).to.equal(0);
      expect(pulled.stdout).to.match(/pulled 2 experiment\(s\)/);
      const shown = JSON.parse((await mate.run(['exp', 'show', '--json'])).stdout) as { experiments: { name: string; pulled?: { signed: boolean } }[] };
      expect(shown.experiments.map((e) => e.name).sort()).to.deep.equal(['workspace', ...names.map((e) => e.name)].sort());
      expect(shown.experiments.slice(1).every((e) => e.pulled?.signed === true)).to.equal(true);
      const applied = await mate.run(['exp', 'apply', seven], { env: { ...remote.env, ...KEY } });
      expect(applied.exitCode, applied.stderr).to.equal(0);
      expect(applied.stdout, applied.stdout).to.match(/make\s+cached/);
      expect(mate.read('out/data.txt')).to.equal('level 7\n');
      expect(mate.read('pipeline.yaml')).to.contain('level: 7 # how much');

      // Without the key the record is not trusted: shown, and apply executes the stage.
      const stranger = workspace('pipeline-exp-stranger-');
      const unsigned = await stranger.run(['exp', 'pull', seven], { env: remote.env });
      expect(unsigned.exitCode, unsigned.stderr).to.equal(0);
      expect(unsigned.stderr).to.contain(`\`${seven}\` is not signed with this key`);
      const record = JSON.parse(readFileSync(stranger.path(`.pipeline/experiments/${seven}.json`), 'utf8')) as { pulled: { signed: boolean } };
      expect(record.pulled).to.deep.equal({ signed: false });
      const rerun = await stranger.run(['exp', 'apply', seven], { env: remote.env });
      expect(rerun.exitCode, rerun.stderr).to.equal(0);
      expect(rerun.stdout).to.contain('pulled unsigned: its stages run again').and.match(/make\s+ran/);
      expect(stranger.read('out/data.txt')).to.equal('level 7\n');

      const missing = await stranger.run(['exp', 'pull', 'nope'], { env: remote.env });
      expect(missing.exitCode).to.equal(1);
      expect(missing.stderr).to.contain('experiment `nope`').and.contain('not there');
    });
  });
}

/** Every blob of a folder remote made as old as the epoch. */
function ageFolder(dir: string): void {
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) utimesSync(path.join(e.parentPath, e.name), new Date(0), new Date(0));
  }
}

/** A workspace that ran, swept `make.level` over 5 and 7 and pushed both experiments: their names by level. */
async function pushedSweep(remote: { env: Record<string, string | undefined> }): Promise<{ ws: Workspace; byLevel: Map<number, string> }> {
  const ws = workspace('pipeline-exp-gc-');
  expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
  expect((await ws.run(['exp', 'run', '--grid', 'make.level=5,7'])).exitCode).to.equal(0);
  const pushed = await ws.run(['exp', 'push'], { env: { ...remote.env, ...KEY } });
  expect(pushed.exitCode, pushed.stderr).to.equal(0);
  const shown = JSON.parse((await ws.run(['exp', 'show', '--json'])).stdout) as { experiments: { name: string; params: Record<string, unknown> }[] };
  return { ws, byLevel: new Map(shown.experiments.slice(1).map((e) => [e.params['make.level'] as number, e.name])) };
}

/** The levels a fresh clone gets from `exp pull` (all the remote lists), applied one by one, each restored. */
async function pulledLevels(remote: { env: Record<string, string | undefined> }): Promise<string[]> {
  const mate = workspace('pipeline-exp-gc-mate-');
  const pulled = await mate.run(['exp', 'pull'], { env: { ...remote.env, ...KEY } });
  expect(pulled.exitCode, pulled.stderr).to.equal(0);
  const names = (JSON.parse((await mate.run(['exp', 'show', '--json'])).stdout) as { experiments: { name: string }[] }).experiments.slice(1).map((e) => e.name);
  const levels: string[] = [];
  for (const name of names) {
    const applied = await mate.run(['exp', 'apply', name], { env: { ...remote.env, ...KEY } });
    expect(applied.exitCode, applied.stderr).to.equal(0);
    expect(applied.stdout, 'restored from the remote, not made again').to.match(/make\s+cached/);
    levels.push(mate.read('out/data.txt').trim());
  }
  mate.cleanup();
  return levels.sort();
}

describe('gc --remote keeps pushed experiments and what they name; exp remove --remote lets them go', function () {
  this.timeout(300_000);

  it('folder: old experiments survive gc with their results; one removed from the remote is collected', async () => {
    const remote = await freshRemote('folder');
    const { ws, byLevel } = await pushedSweep(remote);
    // Nothing in the workspace's pipeline.lock names the experiments' results: only the experiments keep them.
    ws.remove('pipeline.lock');
    ageFolder(remote.url);
    const gc = await ws.run(['gc', '--remote', '--older-than', '1d'], { env: { ...remote.env, ...KEY } });
    expect(gc.exitCode, gc.stderr).to.equal(0);
    expect(gc.stderr, 'experiment objects are not mistaken for damaged run records').to.equal('');
    expect(gc.stdout).to.match(/^removed [0-9]+ objects \([0-9.]+ MiB\) and 0 run records .*; kept [1-9][0-9]* objects and 2 run records \(newer than 1d, recorded in pipeline\.lock, or named by the 2 experiments there\)\n$/);
    expect(await pulledLevels(remote)).to.deep.equal(['level 5', 'level 7']);

    const gone = byLevel.get(5)!;
    const removed = await ws.run(['exp', 'remove', '--remote', gone], { env: { ...remote.env, ...KEY } });
    expect(removed.exitCode, removed.stderr).to.equal(0);
    expect(removed.stdout).to.contain(`removed 1 experiment(s) from ${remote.url}: ${gone}`);
    expect(ws.exists(`.pipeline/experiments/${gone}.json`), 'the workspace keeps its own record').to.equal(true);
    ageFolder(remote.url);
    const again = await ws.run(['gc', '--remote', '--older-than', '1d'], { env: { ...remote.env, ...KEY } });
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(again.stdout).to.match(/^removed [1-9][0-9]* objects \([0-9.]+ MiB\) and 1 run records .*named by the 1 experiments there\)/);
    expect(await pulledLevels(remote)).to.deep.equal(['level 7']);
    ws.cleanup();
  });

  it('a name not on the remote: exit 1, names it, removes nothing; bad names and HTTP refused with exit 2', async () => {
    const remote = await freshRemote('folder');
    const { ws, byLevel } = await pushedSweep(remote);
    const r = await ws.run(['exp', 'remove', '--remote', byLevel.get(5)!, 'exp-nothere'], { env: { ...remote.env, ...KEY } });
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.contain('experiment `exp-nothere` is not on').and.contain('nothing was removed');
    expect(await pulledLevels(remote)).to.deep.equal(['level 5', 'level 7']);
    const bad = await ws.run(['exp', 'remove', '--remote', '../x'], { env: { ...remote.env, ...KEY } });
    expect(bad.exitCode).to.equal(2);
    expect(bad.stderr).to.contain('experiment name `../x` is not allowed');
    const both = await ws.run(['exp', 'remove', '--remote', '--all', 'x'], { env: { ...remote.env, ...KEY } });
    expect(both.exitCode).to.equal(2);
    if (process.env.PIPELINE_TEST_HTTP_URL) {
      const http = await freshRemote('http');
      const refused = await ws.run(['exp', 'remove', '--remote', '--all'], { env: { ...http.env, ...KEY } });
      expect(refused.exitCode).to.equal(2);
      expect(refused.stderr).to.contain('cannot remove what it holds');
    }
    const all = await ws.run(['exp', 'remove', '--remote', '--all'], { env: { ...remote.env, ...KEY } });
    expect(all.exitCode, all.stderr).to.equal(0);
    expect(all.stdout).to.match(/^removed 2 experiment\(s\) from /);
    expect(await pulledLevels(remote)).to.deep.equal([]);
    ws.cleanup();
  });

  it('s3: gc with a cut-off in the past of everything keeps the experiments and their results', async () => {
    const remote = await freshRemote('s3');
    const { ws } = await pushedSweep(remote);
    const result = await collectRemoteGarbage(new Remote(remote.backend, { signingKey: KEY.PIPELINE_REMOTE_SIGNING_KEY }), { olderThanMs: 3_600_000, keep: new Set(), dryRun: false, now: new Date(Date.now() + 7_200_000) });
    expect(result.keptExperiments).to.equal(2);
    expect(result.removedRecords).to.equal(0);
    expect(result.refused).to.deep.equal([]);
    expect(await pulledLevels(remote)).to.deep.equal(['level 5', 'level 7']);
    ws.cleanup();
  });
});
