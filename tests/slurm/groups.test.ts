// Groups under `--executor slurm` (job mode): the stages of a `group:` (or a chain, `--slurm-group-chains`) run in
// one batch job, one after another, each with its own environment, log and outcome; the runner still decides each.
import { expect } from 'chai';
import path from 'node:path';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.js';
import { activeJobs, byName, countingSbatch, skipWithoutCluster } from './cluster.js';

/** a → b → c in group `g`, and `solo` on its own; each stage appends its name to order.log. */
const CHAIN = `version: 1
stages:
  a:
    cmd: "echo a >> order.log; echo a-$SLURM_JOB_ID > a.txt; env | sort > a.env"
    shell: true
    outs: [a.txt, a.env]
    passEnv: [GROUP_TOKEN]
    params: {v: 1}
    group: g
  b:
    cmd: "echo b >> order.log; cat a.txt > b.txt; echo b-$SLURM_JOB_ID >> b.txt; echo token=$GROUP_TOKEN; echo b-err >&2"
    shell: true
    needs: [a]
    outs: [b.txt]
    passEnv: [GROUP_TOKEN]
    group: g
  c:
    cmd: "echo c >> order.log; cat b.txt > c.txt"
    shell: true
    needs: [b]
    outs: [c.txt]
    group: g
  solo:
    cmd: "echo solo-$SLURM_JOB_ID > solo.txt"
    shell: true
    outs: [solo.txt]
`;
const TOKEN = 'grp-s3cr3t-token-42';

describe('slurm: groups of stages in one batch job', function () {
  const spaces: Workspace[] = [];
  const make = (yaml: string) => {
    const ws = makeWorkspace({ yaml, files: {}, prefix: 'pipeline-groups-' });
    spaces.push(ws);
    return ws;
  };
  before(function () {
    skipWithoutCluster(this);
  });
  after(() => spaces.forEach((w) => w.cleanup()));

  it('one job for the group, its stages in order, each with its own outcome, log and environment; the same outputs as local', async () => {
    const local = make(CHAIN);
    expect((await local.run(['run'], { env: { GROUP_TOKEN: TOKEN } })).exitCode).to.equal(0);
    const ws = make(CHAIN);
    const counter = countingSbatch(path.join(ws.base, 'bin'));
    const r = await ws.run(['run', '--executor', 'slurm', '--json'], { env: { ...counter.env, GROUP_TOKEN: TOKEN, NOT_FOR_STAGES: 'runner-only' }, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    const s = byName(r.json);
    expect(Object.values(s).map((x) => x.status)).to.deep.equal(['ran', 'ran', 'ran', 'ran']);
    // Two jobs: the group's and solo's.
    expect(counter.calls()).to.equal(2);
    expect(s.a.jobId).to.match(/^[0-9]+$/);
    expect([s.b.jobId, s.c.jobId]).to.deep.equal([s.a.jobId, s.a.jobId]);
    expect(s.solo.jobId).to.not.equal(s.a.jobId);
    expect(ws.lines('order.log')).to.deep.equal(['a', 'b', 'c']);
    expect(ws.read('b.txt')).to.equal(`a-${s.a.jobId}\nb-${s.a.jobId}\n`);
    // Each stage's own log, masked; its environment is the stage's (the runner's other variables are not in it).
    expect(ws.read('.pipeline/logs/b.log')).to.equal('token=***\nb-err\n');
    const env = ws.read('a.env');
    expect(env).to.include('PIPELINE_STAGE=a\n').and.include(`GROUP_TOKEN=${TOKEN}\n`).and.include(`SLURM_JOB_ID=${s.a.jobId}\n`);
    expect(env).to.not.include('NOT_FOR_STAGES');
    expect(ws.lock().stages).to.have.keys(Object.keys(local.lock().stages));
    // (b and c read a's outputs, which name the job: their fingerprints differ from the local run's by design)
    for (const name of ['a', 'solo']) expect(ws.lock().stages[name].fingerprint).to.equal(local.lock().stages[name].fingerprint);
    // Told to end when the run is over, the group's job ends on its own (Slurm may list it a moment longer).
    await waitFor(() => activeJobs('pipeline-group-g').length === 0, 30_000, "the group's job to end");
  });

  it('a failing stage of the group fails alone with its exit code and message; the stage after it is blocked', async () => {
    const ws = make(CHAIN.replace('cat a.txt > b.txt;', 'echo out-of-disk >&2; exit 7;'));
    const r = await ws.run(['run', '--executor', 'slurm', '--json'], { env: { GROUP_TOKEN: TOKEN }, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(1);
    const s = byName(r.json);
    expect(s.a.status).to.equal('ran');
    expect(s.b.outcome.cause).to.deep.equal({ kind: 'exit', exitCode: 7, message: 'out-of-disk' });
    expect(s.b.jobId).to.equal(s.a.jobId);
    expect(s.c.status).to.equal('blocked');
    expect(s.solo.status).to.equal('ran');
    expect(ws.lines('order.log')).to.deep.equal(['a', 'b']);
  });

  it('the runner still decides each stage: a change to `a` alone that leaves its outputs the same runs `a` only', async () => {
    const ws = make(CHAIN);
    expect((await ws.run(['run', '--executor', 'slurm'], { env: { GROUP_TOKEN: TOKEN }, timeoutMs: 120_000 })).exitCode).to.equal(0);
    ws.write('pipeline.yaml', CHAIN.replace('params: {v: 1}', 'params: {v: 2}').replace('echo a-$SLURM_JOB_ID > a.txt', 'echo a-fixed > a.txt').replace('env | sort > a.env', 'echo fixed > a.env'));
    ws.write('order.log', '');
    expect((await ws.run(['run', '--executor', 'slurm'], { env: { GROUP_TOKEN: TOKEN }, timeoutMs: 120_000 })).exitCode).to.equal(0);
    ws.write('pipeline.yaml', CHAIN.replace('params: {v: 1}', 'params: {v: 3}').replace('echo a-$SLURM_JOB_ID > a.txt', 'echo a-fixed > a.txt').replace('env | sort > a.env', 'echo fixed > a.env'));
    ws.write('order.log', '');
    const r = await ws.run(['run', '--executor', 'slurm', '--json'], { env: { GROUP_TOKEN: TOKEN }, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(Object.values(byName(r.json)).map((x) => [x.name, x.status])).to.deep.equal([['a', 'ran'], ['b', 'cached'], ['c', 'cached'], ['solo', 'cached']]);
    expect(ws.lines('order.log')).to.deep.equal(['a']);
  });

  it('--slurm-group-chains groups a chain without `group:`; with --executor local it is a usage error', async () => {
    const ws = make(CHAIN.replace(/ {4}group: g\n/g, ''));
    const counter = countingSbatch(path.join(ws.base, 'bin'));
    const r = await ws.run(['run', '--executor', 'slurm', '--slurm-group-chains', '--json'], { env: { ...counter.env, GROUP_TOKEN: TOKEN }, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    const s = byName(r.json);
    expect(counter.calls()).to.equal(2);
    expect([s.b.jobId, s.c.jobId]).to.deep.equal([s.a.jobId, s.a.jobId]);
    expect(ws.lines('order.log')).to.deep.equal(['a', 'b', 'c']);
    const bad = await ws.run(['run', '--executor', 'local', '--slurm-group-chains']);
    expect(bad.exitCode, bad.stderr).to.equal(2);
    expect(bad.stderr).to.include('--slurm-group-chains');
  });

  it('a bad `group:` is refused with its place, exit 2', async () => {
    const ws = make(CHAIN.replace('group: g\n', 'group: "no spaces"\n'));
    const r = await ws.run(['run', '--executor', 'slurm']);
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/pipeline\.yaml:[0-9]+:[0-9]+/).and.include('group');
  });
});
