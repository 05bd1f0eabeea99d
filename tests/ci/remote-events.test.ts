// The generated workflow of a remote-backed pipeline, run job by job on this machine (simulate.ts) with the real CLI,
// as GitHub would run it on a push and on a pull request: a push without the signing key (or, for S3, without a
// region) fails the job at a named step before anything runs; a pull request never pushes, even with `push: true`
// in pipeline.yaml and the secrets present; one from a fork (no secrets) runs without the remote, with a warning.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateWorkflow } from '../../runner/ci/generate.js';
import { parseConfigText } from '../../runner/config/load.js';
import { repoRoot, snapshotDir } from '../helpers/workspace.js';
import { WorkflowSimulator, type JobResult, type RunContext } from './simulate.js';

const STAGE = '  make: {cmd: "mkdir -p build && echo made > build/out.txt", shell: true, outs: [build/out.txt]}\n';

describe('ci: a remote-backed workflow played on push and pull request events', function () {
  this.timeout(120_000);
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'pipeline-ci-events-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** A checkout with this remote line, its workflow, and a simulator over it. */
  function checkout(name: string, remote: string, ci = ''): { workflow: string; sim: WorkflowSimulator } {
    const dir = path.join(scratch, name);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'pipeline.yaml'), `version: 1\n${remote}\nstages:\n${STAGE}${ci}`);
    symlinkSync(path.join(repoRoot, 'bin'), path.join(dir, 'bin'));
    const workflow = generateWorkflow(parseConfigText(readFileSync(path.join(dir, 'pipeline.yaml'), 'utf8'), path.join(dir, 'pipeline.yaml')));
    return { workflow, sim: new WorkflowSimulator(dir) };
  }

  async function play(name: string, remote: string, ctx: RunContext, ci = ''): Promise<JobResult> {
    const { workflow, sim } = checkout(name, remote, ci);
    try {
      return (await sim.run(workflow, ['make'], ctx)).results.get('make')!;
    } finally {
      sim.dispose();
    }
  }

  describe('a folder remote with `pull: true, push: true`', () => {
    let cache: string;
    let remote: string;
    beforeEach(() => {
      cache = mkdtempSync(path.join(scratch, 'remote-'));
      remote = `remote: {url: "file://${cache}", pull: true, push: true}`;
    });

    it('push without the signing key: the check step fails the job, saying what to add; nothing runs or is pushed', async () => {
      const job = await play('push-no-key', remote, { event: 'push', secrets: {} });
      expect(job.status, job.log).to.equal('failure');
      expect(job.steps.at(-1)).to.equal('Check the remote cache settings');
      expect(job.log, job.log).to.include(
        '::error title=Remote cache not configured::the repository secret PIPELINE_REMOTE_SIGNING_KEY is not set, so the records this job pushes would be unsigned: ' +
          'add it, or set `ci.remote.signed: false` in pipeline.yaml to push unsigned records',
      );
      expect(job.summary).to.match(/^### :x: The remote cache is not configured for this job\n- the repository secret PIPELINE_REMOTE_SIGNING_KEY is not set/);
      expect(snapshotDir(cache)).to.deep.equal({});
    });

    it('push with the signing key: the stage runs and its signed record is pushed', async () => {
      const job = await play('push-key', remote, { event: 'push', secrets: { PIPELINE_REMOTE_SIGNING_KEY: 'team-key' } });
      expect(job.status, job.log).to.equal('success');
      expect(job.steps).to.include.members(['Check the remote cache settings', 'Run make']);
      const records = Object.keys(snapshotDir(path.join(cache, 'ac'))).filter((f) => /\/[0-9a-f]{64}$/.test(f));
      expect(records).to.have.length(1);
      expect(JSON.parse(readFileSync(path.join(cache, 'ac', records[0]), 'utf8')).signature).to.match(/^hmac-sha256:/);
    });

    it('`ci.remote.signed: false`: a push without the key runs and pushes unsigned', async () => {
      const job = await play('push-unsigned', remote, { event: 'push', secrets: {} }, 'ci:\n  remote: {signed: false}\n');
      expect(job.status, job.log).to.equal('success');
      expect(job.steps).to.not.include('Check the remote cache settings');
      expect(Object.keys(snapshotDir(path.join(cache, 'ac'))).some((f) => /\/[0-9a-f]{64}$/.test(f))).to.equal(true);
    });

    for (const event of ['pull_request', 'pull_request_target']) {
      it(`${event} with every secret set: the stage runs, nothing is pushed, the signing key is not given`, async () => {
        const job = await play(`pr-${event}`, remote, { event, secrets: { PIPELINE_REMOTE_SIGNING_KEY: 'team-key' } });
        expect(job.status, job.log).to.equal('success');
        expect(job.steps).to.include('Run make (pull request: no push)');
        expect(job.steps).to.not.include.members(['Run make', 'Check the remote cache settings']);
        expect(job.log).to.not.include('team-key');
        expect(snapshotDir(cache)).to.deep.equal({});
      });
    }
  });

  describe('an S3 remote', () => {
    const remote = 'remote: {url: "s3://team-cache/housing", pull: true, push: true}';
    const secrets = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret-example', PIPELINE_REMOTE_SIGNING_KEY: 'team-key' };

    it('push without a region: the check step fails naming it, before any request', async () => {
      const job = await play('s3-no-region', remote, { event: 'push', secrets });
      expect(job.status, job.log).to.equal('failure');
      expect(job.steps.at(-1)).to.equal('Check the remote cache settings');
      expect(job.log.match(/::error title=Remote cache not configured::.*/g)).to.deep.equal([
        '::error title=Remote cache not configured::no AWS region: set AWS_REGION in `ci.env` of pipeline.yaml (a region such as eu-west-1, or a repository variable), or AWS_ENDPOINT_URL for a self-hosted server',
      ]);
    });

    it('push without any secret: every missing one is named at once', async () => {
      const job = await play('s3-nothing', remote, { event: 'push', secrets: {} }, 'ci:\n  env: {AWS_REGION: eu-west-1}\n');
      expect(job.status, job.log).to.equal('failure');
      expect((job.log.match(/::error title=Remote cache not configured::.*/g) ?? []).map((l) => l.split('::')[2].split(':')[0])).to.deep.equal([
        'the repository secrets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set',
        'the repository secret PIPELINE_REMOTE_SIGNING_KEY is not set, so the records this job pushes would be unsigned',
      ]);
    });

    it('a pull request from a fork (no secrets): runs without the remote, with a warning in the log and the summary', async () => {
      const job = await play('s3-fork', remote, { event: 'pull_request', secrets: {} });
      expect(job.status, job.log).to.equal('success');
      const warning =
        'no read-only secrets AWS_ACCESS_KEY_ID_READONLY and AWS_SECRET_ACCESS_KEY_READONLY (a pull request from a fork gets no secrets): make runs without the remote cache';
      expect(job.log).to.include(`::warning title=Remote cache not used::${warning}\n`);
      expect(job.summary).to.equal(`:warning: ${warning}\n`);
      // The run never opened the remote (a failing one would be named in a warning).
      expect(job.log).to.not.include('team-cache');
    });
  });
});
