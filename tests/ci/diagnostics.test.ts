// `pipeline ci generate` and `ci check` report every problem of the `ci:` settings at once, like `pipeline validate`:
// each with its place and hint, in file order, exit code 2, nothing written.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { buildWorkflow } from '../../runner/ci/generate.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { configFromYaml } from './build-config.js';

const YAML = `version: 1
stages:
  load: {cmd: make load, outs: [build/a]}
  train: {cmd: make train, needs: [load], outs: [build/b]}
  v1: {cmd: make v1}
  v1_: {cmd: make v1_, outs: ["build/a\\nb"]}
ci:
  stage-steps:
    trian: [{run: echo}]
  jobs:
    docker: {needs: [predict], artifacts: [train], steps: [{run: echo}]}
    train: {steps: [{run: echo}]}
    build.image: {steps: [{run: echo}]}
    one: {needs: [two], steps: [{run: echo}]}
    two: {needs: [one, v1], artifacts: [v1], steps: [{run: echo}]}
`;

const EXPECTED = [
  '6:31 ci-out-name: out `build/a\\nb` of stage `v1_` cannot be carried between CI jobs (it contains `${{` or a line break)',
  '9:5 unknown-stage: `ci.stage-steps` names unknown stage `trian` (did you mean `train`?)',
  '11:22 unknown-need: CI job `docker` needs unknown job or stage `predict`',
  '11:44 ci-artifact: CI job `docker` downloads the outs of `train`, which is not upstream of it',
  '12:12 ci-job-id: CI job `train` clashes with stage `train`',
  '13:18 ci-job-id: CI job id `build.image` is not valid',
  '15:18 cycle: CI jobs form a cycle: one → two → one',
  '15:41 ci-artifact: stage `v1` has no outs to download',
];

describe('ci generate: every problem at once', () => {
  it('buildWorkflow returns all the diagnostics in file order, each with a hint', () => {
    const result = buildWorkflow(configFromYaml(YAML, '/w/pipeline.yaml'));
    expect(result.ok).to.equal(false);
    if (result.ok) return;
    expect(result.diagnostics.map((d) => `${d.line}:${d.col} ${d.code}: ${d.message}`)).to.deep.equal(EXPECTED);
    for (const d of result.diagnostics) expect(d.hint ?? '', d.message).to.not.equal('');
    expect(result.omitted).to.equal(0);
    expect(result.diagnostics.find((d) => d.code === 'cycle')!.related.map((r) => `${r.line}:${r.col} ${r.message}`)).to.deep.equal(['14:19 `one` needs `two`']);
  });

  it('a bad shape and the checks that need no settings are reported together', () => {
    const text = `version: 1\nstages:\n  a: {cmd: x, outs: ["o/\\r"]}\nci:\n  nodeversion: 20\n  env: {BAD-NAME: 1}\n`;
    const result = buildWorkflow(configFromYaml(text, '/w/pipeline.yaml'));
    expect(result.ok ? [] : result.diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`)).to.deep.equal(['3:22 ci-out-name', '5:3 unknown-key', '6:9 invalid-name']);
  });
});

describe('pipeline ci generate / ci check print every problem (the CLI)', function () {
  this.timeout(60_000);
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: YAML });
  });
  after(() => ws.cleanup());

  for (const sub of ['generate', 'check']) {
    it(`ci ${sub}: all of them with file:line:col and hints, exit 2, nothing written`, async () => {
      const r = await ws.run(['ci', sub]);
      expect(r.exitCode, r.stderr).to.equal(2);
      expect(r.stdout).to.equal('');
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
      expect(errors).to.deep.equal(EXPECTED.map((e) => e.replace(/^(\d+:\d+) [a-z-]+: /, 'error: pipeline.yaml:$1: ')));
      expect(r.stderr.split('\n').filter((l) => l.startsWith('hint: '))).to.have.length(EXPECTED.length);
      expect(existsSync(ws.path('.github'))).to.equal(false);
    });
  }
});
