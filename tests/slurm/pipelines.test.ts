// Generic pipelines under `--executor slurm` on a real one-node cluster: the plan is the local one, every stage
// that runs is one job, its log is the job's output, failures and cancellations end stages with their causes.
import { expect } from 'chai';
import { execaSync } from 'execa';
import path from 'node:path';
import { STAGE_SCRIPT, makeWorkspace, toResult, waitFor, type Workspace } from '../helpers/workspace.js';
import { activeJobs, byName, countingSbatch, jobs, showJob, skipWithoutCluster, type StageJson } from './cluster.js';

const FAN = `version: 1
stages:
  source:
    cmd: node stage.js build/source.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/source.txt]
    params: {value: src}
  left:
    cmd: node stage.js build/left.txt build/source.txt
    needs: [source]
    deps: [stage.js]
    outs: [build/left.txt]
    params: {value: left}
  right:
    # a shell stage that starts children of its own and waits for them
    cmd: "(sleep 0.2; echo child-a > right.a) & (echo child-b > right.b) & wait; cat right.a right.b build/source.txt > build/right.txt; rm right.a right.b; echo right-done; echo to-stderr >&2"
    shell: true
    needs: [source]
    outs: [build/right.txt]
  join:
    cmd: node stage.js build/join.txt build/left.txt build/right.txt
    needs: [left, right]
    deps: [stage.js]
    outs: [build/join.txt]
    params: {value: join}
`;

const files = () => ({ 'stage.js': STAGE_SCRIPT, 'data/raw.txt': 'raw\n' });

/**
 * `right`'s first child held until the file `release` exists in the workspace, which no test writes: the job runs
 * until the test cancels it or its runner, however slow the machine.
 */
const HOLD = '(until [ -e release ]; do sleep 0.1; done;';
const holding = (yaml: string) => yaml.replace('(sleep 0.2;', HOLD);

describe('slurm: generic pipelines', function () {
  const spaces: Workspace[] = [];
  const make = (yaml: string) => {
    const ws = makeWorkspace({ yaml, files: files(), prefix: 'pipeline-slurm-' });
    spaces.push(ws);
    return ws;
  };
  before(function () {
    skipWithoutCluster(this);
  });
  after(() => spaces.forEach((w) => w.cleanup()));
  beforeEach(() => {
    for (const j of jobs()) seen.add(j.id);
  });

  it('fan-out / fan-in: same outputs and pipeline.lock as a local run, one job per stage, logs from the jobs', async () => {
    const local = make(FAN);
    expect((await local.run(['run'])).exitCode).to.equal(0);
    const ws = make(FAN);
    const r = await ws.run(['run', '--executor', 'slurm', '--json'], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    const stages = byName(r.json);
    expect(Object.values(stages).map((s) => s.status)).to.deep.equal(['ran', 'ran', 'ran', 'ran']);
    const ids = Object.values(stages).map((s) => s.jobId);
    expect(ids.every((id) => /^[0-9]+$/.test(id ?? '')), JSON.stringify(ids)).to.equal(true);
    expect(new Set(ids).size).to.equal(4);
    for (const id of ids) expect(jobs().find((j) => j.id === id)?.name).to.match(/^pipeline-/);
    expect(ws.snapshot('build')).to.deep.equal(local.snapshot('build'));
    expect(ws.lock().stages).to.deep.equal(local.lock().stages);
    expect(ws.read('.pipeline/logs/right.log')).to.include('right-done').and.include('to-stderr');
    const last = JSON.parse(ws.read('.pipeline/last-run.json')) as { stages: StageJson[] };
    expect(byName(last).join.jobId).to.equal(stages.join.jobId);
  });

  it('a second run executes nothing and submits nothing; a local run after it agrees', async () => {
    const ws = make(FAN);
    const counter = countingSbatch(path.join(ws.base, 'bin'));
    const first = await ws.run(['run', '--executor', 'slurm'], { env: counter.env, timeoutMs: 120_000 });
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(counter.calls()).to.equal(4);
    const again = await ws.run(['run', '--executor', 'slurm', '--json'], { env: counter.env });
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(Object.values(byName(again.json)).map((s) => [s.status, s.jobId])).to.deep.equal([
      ['cached', undefined],
      ['cached', undefined],
      ['cached', undefined],
      ['cached', undefined],
    ]);
    expect(counter.calls()).to.equal(4);
    const local = await ws.run(['run', '--json']);
    expect(Object.values(byName(local.json)).every((s) => s.status === 'cached')).to.equal(true);
  });

  it('`executor: slurm` in pipeline.yaml; `--executor local` overrides it', async () => {
    const ws = make(FAN.replace('version: 1\n', 'version: 1\nexecutor: slurm\n'));
    const counter = countingSbatch(path.join(ws.base, 'bin'));
    const r = await ws.run(['run', 'source', '--json'], { env: counter.env, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(byName(r.json).source.jobId).to.match(/^[0-9]+$/);
    const l = await ws.run(['run', '--executor', 'local', '--json'], { env: counter.env });
    expect(l.exitCode, l.stderr).to.equal(0);
    expect(Object.values(byName(l.json)).filter((s) => s.status === 'ran').map((s) => [s.name, s.jobId])).to.deep.equal([
      ['left', undefined],
      ['right', undefined],
      ['join', undefined],
    ]);
    expect(counter.calls()).to.equal(1);
  });

  it('a failing job fails its stage with its exit code and message; downstream is blocked; exit 1', async () => {
    const ws = make(FAN.replace('rm right.a right.b; echo right-done', 'echo disk-full >&2; exit 3'));
    const r = await ws.run(['run', '--executor', 'slurm', '--json'], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(1);
    const s = byName(r.json);
    expect(s.right.outcome.kind).to.equal('failed');
    expect(s.right.outcome.cause).to.include({ kind: 'exit', exitCode: 3, message: 'disk-full' });
    expect(s.right.jobId).to.match(/^[0-9]+$/);
    expect(s.join.status).to.equal('blocked');
    expect(ws.exists('build/right.txt')).to.equal(false);
  });

  it('a job cancelled outside the run fails its stage with a job-ended cause', async () => {
    const ws = make(holding(FAN));
    const child = ws.spawn(['run', '--executor', 'slurm', '--json'], { timeoutMs: 120_000 });
    let id: string | undefined;
    await waitFor(() => (id = jobs().find((j) => j.name === 'pipeline-right' && j.state === 'RUNNING' && !seen.has(j.id))?.id) !== undefined, 60_000, 'the job of `right` to run');
    execaSync('scancel', [id!]);
    const r = toResult(await child);
    expect(r.exitCode, r.stderr).to.equal(1);
    const s = byName(r.json);
    expect(s.right.outcome.cause).to.include({ kind: 'job-ended', state: 'CANCELLED' });
    expect(s.right.outcome.cause!.message).to.include(`Slurm job ${id} was cancelled`);
    expect(s.join.status).to.equal('blocked');
  });

  it('Ctrl-C cancels the submitted jobs (none left in squeue), exits 130 and puts the previous outs back', async () => {
    const ws = make(FAN);
    expect((await ws.run(['run', '--executor', 'slurm'], { timeoutMs: 120_000 })).exitCode).to.equal(0);
    const before = ws.snapshot('build');
    ws.write('pipeline.yaml', FAN.replace('params: {value: left}', 'params: {value: left2, hold: release}').replace('(sleep 0.2;', HOLD));
    const child = ws.spawn(['run', '--executor', 'slurm', '--jobs', '4'], { timeoutMs: 120_000 });
    await waitFor(() => activeJobs('pipeline-left').length > 0 && activeJobs('pipeline-right').length > 0, 60_000, 'both jobs to be submitted');
    await waitFor(() => jobs().some((j) => j.name === 'pipeline-left' && j.state === 'RUNNING' && !seen.has(j.id)), 60_000, 'the job of `left` to run');
    child.kill('SIGINT');
    const r = toResult(await child);
    expect(r.exitCode, r.stderr).to.equal(130);
    expect(activeJobs('pipeline-')).to.deep.equal([]);
    expect(ws.snapshot('build')).to.deep.equal(before);
  });

  it('a job whose runner was SIGKILLed is cancelled by the next run before it starts, which says so', async () => {
    const ws = make(holding(FAN));
    const child = ws.spawn(['run', '--executor', 'slurm'], { timeoutMs: 120_000 });
    let id: string | undefined;
    await waitFor(() => (id = jobs().find((j) => j.name === 'pipeline-right' && j.state === 'RUNNING' && !seen.has(j.id))?.id) !== undefined, 60_000, 'the job of `right` to run');
    child.kill('SIGKILL');
    await child.catch(() => undefined);
    // The attack: the job lives on, and would write build/right.txt into the workspace later.
    expect(activeJobs('pipeline-right').length).to.equal(1);
    ws.write('pipeline.yaml', FAN);
    const r = await ws.run(['run', '--executor', 'slurm'], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.include(`warning: cancelled Slurm job ${id} of stage \`right\` left running by an earlier run`);
    expect(activeJobs('pipeline-right')).to.deep.equal([]);
    expect(jobs().find((j) => j.id === id)?.state ?? 'CANCELLED').to.not.equal('RUNNING');
  });

  it('a stage timeout is enforced by the runner too: the job is cancelled and the stage fails with `timeout`', async () => {
    const ws = make('version: 1\nstages:\n  slow:\n    cmd: "sleep 120 && echo done > out.txt"\n    shell: true\n    outs: [out.txt]\n    timeout: 2\n');
    const r = await ws.run(['run', '--executor', 'slurm', '--json'], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(1);
    const s = byName(r.json);
    expect(s.slow.outcome.cause).to.include({ kind: 'timeout', timeoutMs: 2000 });
    expect(activeJobs('pipeline-slow')).to.deep.equal([]);
    expect(ws.exists('out.txt')).to.equal(false);
  });

  it('resources reach sbatch: cpus, memory, time limit, partition, extra options', async () => {
    const partition = defaultPartition();
    const ws = make(`version: 1
stages:
  sized:
    cmd: "echo sized > out.txt"
    shell: true
    outs: [out.txt]
    timeout: 90
    resources:
      cpus: 2
      memory: 100M
      time: 5m
      partition: ${partition}
      sbatch: [--comment=from-pipeline]
  timed:
    cmd: "echo timed > timed.txt"
    shell: true
    outs: [timed.txt]
    timeout: 90
`);
    const r = await ws.run(['run', '--executor', 'slurm', '--json'], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    const s = byName(r.json);
    const job = showJob(s.sized.jobId!);
    expect(job.NumCPUs).to.equal('2');
    expect(job.MinMemoryNode).to.equal('100M');
    expect(job.TimeLimit).to.equal('00:05:00');
    expect(job.Partition).to.equal(partition);
    expect(job.Comment).to.equal('from-pipeline');
    expect(job.WorkDir).to.equal(ws.dir);
    // The stage's timeout alone becomes the job's time limit (Slurm counts whole minutes).
    expect(showJob(s.timed.jobId!).TimeLimit).to.equal('00:02:00');
  });

  it('retries: each attempt is a job of its own with its attempt\'s memory (the last value repeating), PIPELINE_ATTEMPT set in the job', async () => {
    const ws = make(`version: 1
stages:
  grow:
    cmd: 'echo "attempt $PIPELINE_ATTEMPT" >> attempts.log; [ "$PIPELINE_ATTEMPT" -ge 3 ] && echo ok > out.txt || { echo "too little memory" >&2; exit 1; }'
    shell: true
    outs: [out.txt]
    retries: 2
    resources:
      memory: [100M, 200M]
`);
    const r = await ws.run(['run', '--executor', 'slurm', '--json'], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    const grow = byName(r.json).grow as StageJson & { attempts: number };
    expect(grow.attempts).to.equal(3);
    expect(ws.lines('attempts.log')).to.deep.equal(['attempt 1', 'attempt 2', 'attempt 3']);
    // The last attempt's job: the list's last value, repeated.
    expect(showJob(grow.jobId!).MinMemoryNode).to.equal('200M');
    const log = ws.read('.pipeline/logs/grow.log');
    expect(log).to.include('──── attempt 2 of 3 (attempt 1 failed: too little memory) ────\n');
    expect(log).to.include('──── attempt 3 of 3 (attempt 2 failed: too little memory) ────\n');
  });
});

/** Jobs that existed before a test looked: the cancel tests wait for a new one. */
const seen = new Set<string>();

function defaultPartition(): string {
  return String(execaSync('sinfo', ['-h', '-o', '%R']).stdout).split('\n')[0].trim();
}
