// `exp push` / `exp pull` through a folder remote and the real servers (HTTP cache, S3): a teammate's clone with an
// empty store pulls a signed experiment and `exp apply` restores its outs without executing anything; pulled without
// the key (unsigned for this command) it is shown but `exp apply` runs its stages; pulling all uses the remote's list.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { freshRemote, type Kind } from './helpers.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

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
