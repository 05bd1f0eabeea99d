// `--slurm-mode steps` on a real one-node cluster: the run is inside an allocation (made here with
// `salloc --no-shell`, its id handed to the CLI as SLURM_JOB_ID, as salloc and sbatch do) and every stage that runs
// is one `srun` step of it: the outputs, the lock and the logs are the local run's, failures and Ctrl-C end the
// steps, and outside an allocation the mode is refused.
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { STAGE_SCRIPT, makeWorkspace, toResult, waitFor, type Workspace } from '../helpers/workspace.js';
import { describeErrors, loadSchemas, validator } from '../schemas/golden.js';
import { allocate, byName, release, skipWithoutCluster, stepsOf, type StageJson } from './cluster.js';

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


describe('slurm: stages as steps of an allocation (--slurm-mode steps)', function () {
  const spaces: Workspace[] = [];
  let alloc = '';
  const make = (yaml: string) => {
    const ws = makeWorkspace({ yaml, files: { 'stage.js': STAGE_SCRIPT, 'data/raw.txt': 'raw\n' }, prefix: 'pipeline-steps-' });
    spaces.push(ws);
    return ws;
  };
  const inside = { SLURM_JOB_ID: '' };
  before(function () {
    skipWithoutCluster(this);
    alloc = allocate('pipeline-steps-test');
    inside.SLURM_JOB_ID = alloc;
  });
  after(() => {
    release(alloc);
    spaces.forEach((w) => w.cleanup());
  });

  it('same outputs and pipeline.lock as a local run; one step per stage, named in --json; logs without srun\'s lines', async () => {
    const local = make(FAN);
    expect((await local.run(['run'])).exitCode).to.equal(0);
    const ws = make(FAN);
    const r = await ws.run(['run', '--slurm-mode', 'steps', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    const stages = byName(r.json);
    expect(Object.values(stages).map((s) => [s.status, s.jobId])).to.deep.equal(Array(4).fill(['ran', alloc]));
    const steps = Object.values(stages).map((s) => s.stepId);
    for (const id of steps) expect(id).to.match(new RegExp(`^${alloc}\\.[0-9]+$`));
    expect(new Set(steps).size).to.equal(4);
    const valid = validator(loadSchemas(), 'run');
    expect(valid(r.json), describeErrors(valid.errors)).to.equal(true);
    expect(ws.snapshot('build')).to.deep.equal(local.snapshot('build'));
    expect(ws.lock().stages).to.deep.equal(local.lock().stages);
    expect(ws.lines('.pipeline/logs/right.log').sort()).to.deep.equal(['right-done', 'to-stderr']);
    const last = JSON.parse(ws.read('.pipeline/last-run.json')) as { stages: StageJson[] };
    expect(byName(last).join.stepId).to.equal(stages.join.stepId);
    // Cached afterwards, whichever executor asks; nothing runs again.
    const again = await ws.run(['run', '--json']);
    expect(Object.values(byName(again.json)).map((s) => s.status)).to.deep.equal(Array(4).fill('cached'));
    expect(stepsOf(alloc)).to.deep.equal([]);
  });

  it('`slurm: {mode: steps}` in pipeline.yaml; `--executor local` overrides it', async () => {
    const ws = make(FAN.replace('version: 1\n', 'version: 1\nexecutor: slurm\nslurm: {mode: steps}\n'));
    const r = await ws.run(['run', 'source', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(byName(r.json).source.stepId).to.match(/^[0-9]+\.[0-9]+$/);
    const l = await ws.run(['run', '--executor', 'local', '--json'], { env: inside });
    expect(l.exitCode, l.stderr).to.equal(0);
    expect(Object.values(byName(l.json)).filter((s) => s.status === 'ran').map((s) => [s.name, s.stepId])).to.deep.equal([
      ['left', undefined],
      ['right', undefined],
      ['join', undefined],
    ]);
  });

  it('a failing step fails its stage with its exit code and last stderr line (not srun\'s); downstream blocked; exit 1', async () => {
    const ws = make(FAN.replace('rm right.a right.b; echo right-done', 'echo disk-full >&2; echo more-output; exit 3'));
    const r = await ws.run(['run', '--slurm-mode', 'steps', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(1);
    const s = byName(r.json);
    expect(s.right.outcome.cause).to.deep.equal({ kind: 'exit', exitCode: 3, message: 'disk-full' });
    expect(s.right.stepId).to.match(new RegExp(`^${alloc}\\.[0-9]+$`));
    expect(s.join.status).to.equal('blocked');
    expect(ws.exists('build/right.txt')).to.equal(false);
    expect(ws.read('.pipeline/logs/right.log')).to.not.include('srun:');
  });

  it('a missing command: the stage fails with slurmstepd\'s words, exit 1', async () => {
    const ws = make('version: 1\nstages:\n  missing:\n    cmd: no-such-program-here\n    outs: [x.txt]\n');
    const r = await ws.run(['run', '--slurm-mode', 'steps', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(1);
    const cause = byName(r.json).missing.outcome.cause!;
    expect(cause.kind).to.equal('exit');
    expect(cause.message).to.include('no-such-program-here');
  });

  it('passEnv values are masked in the step\'s log and reason', async () => {
    const ws = make('version: 1\nstages:\n  leak:\n    cmd: "echo token=$API_TOKEN; echo bad $API_TOKEN >&2; exit 4"\n    shell: true\n    passEnv: [API_TOKEN]\n    outs: [x.txt]\n');
    const r = await ws.run(['run', '--slurm-mode', 'steps', '--json'], { env: { ...inside, API_TOKEN: 's3cr3t-value-123' }, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(r.stdout + r.stderr).to.not.include('s3cr3t-value-123');
    // stdout and stderr come through srun as two streams: their lines may interleave either way.
    expect(ws.lines('.pipeline/logs/leak.log').sort()).to.deep.equal(['bad ***', 'token=***']);
    expect(byName(r.json).leak.outcome.cause).to.deep.equal({ kind: 'exit', exitCode: 4, message: 'bad ***' });
  });

  it('Ctrl-C cancels the running steps, one that ignores SIGTERM too (none left in `squeue -s`), exits 130 and puts the previous outs back', async () => {
    // `stubborn` ignores SIGTERM: only the SIGKILL that follows ends it.
    const yaml = (v: string, wait: string) => `version: 1
stages:
  stubborn:
    cmd: "trap '' TERM; echo ${v} > build/a.txt; ${wait}"
    shell: true
    outs: [build/a.txt]
  plain:
    cmd: "echo ${v} > build/b.txt; ${wait}"
    shell: true
    outs: [build/b.txt]
`;
    const ws = make(yaml('one', 'true'));
    expect((await ws.run(['run', '--slurm-mode', 'steps'], { env: inside, timeoutMs: 120_000 })).exitCode).to.equal(0);
    const before = ws.snapshot('build');
    ws.write('pipeline.yaml', yaml('two', 'until [ -e release ]; do sleep 0.1; done'));
    const child = ws.spawn(['run', '--slurm-mode', 'steps', '--jobs', '4'], { env: inside, timeoutMs: 120_000 });
    await waitFor(() => ws.exists('build/a.txt') && ws.read('build/a.txt') === 'two\n' && ws.exists('build/b.txt') && ws.read('build/b.txt') === 'two\n', 60_000, 'both steps to run', child);
    // stubborn gets a step started for it (nothing ran ahead: both stages ran before), plain the shell that started
    // waiting then (slurm-step-shells.ts), and one more shell waits.
    expect(stepsOf(alloc).map((s) => s.split(' ')[1]).sort()).to.deep.equal(['pipeline-shell', 'pipeline-shell', 'pipeline-stubborn']);
    child.kill('SIGINT');
    const r = toResult(await child);
    expect(r.exitCode, r.stderr).to.equal(130);
    expect(stepsOf(alloc)).to.deep.equal([]);
    expect(ws.snapshot('build')).to.deep.equal(before);
  });

  it('a step whose runner was SIGKILLed does not outlive the next run, which then runs the stage again', async () => {
    const yaml = (wait: string, word: string) => `version: 1\nstages:\n  held:\n    cmd: "trap '' TERM; echo started > started.txt; ${wait}; echo ${word} > out.txt"\n    shell: true\n    outs: [out.txt]\n`;
    const ws = make(yaml('until [ -e release ]; do sleep 0.1; done', 'old'));
    const child = ws.spawn(['run', '--slurm-mode', 'steps'], { env: inside, timeoutMs: 120_000 });
    await waitFor(() => ws.exists('started.txt') && stepsOf(alloc).some((s) => / pipeline-(held|shell)$/.test(s)), 60_000, 'the step to run', child);
    child.kill('SIGKILL');
    await child.catch(() => undefined);
    ws.write('pipeline.yaml', yaml('true', 'new'));
    const r = await ws.run(['run', '--slurm-mode', 'steps', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(stepsOf(alloc)).to.deep.equal([]);
    // No step of the old run is left to write later; if it was still there, the run cancelled it and said so.
    if (r.stderr.includes('cancelled Slurm job step')) expect(r.stderr).to.match(/cancelled Slurm job step [0-9]+\.[0-9]+ of stage `held`/);
    expect(ws.read('out.txt')).to.equal('new\n');
    expect(readdirSync(path.join(ws.dir, '.pipeline', 'running'))).to.deep.equal([]);
  });

  it('a stage timeout cancels its step: the stage fails with `timeout`, no step left', async () => {
    const ws = make('version: 1\nstages:\n  slow:\n    cmd: "sleep 120 && echo done > out.txt"\n    shell: true\n    outs: [out.txt]\n    timeout: 2\n');
    const r = await ws.run(['run', '--slurm-mode', 'steps', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(byName(r.json).slow.outcome.cause).to.include({ kind: 'timeout', timeoutMs: 2000 });
    expect(stepsOf(alloc)).to.deep.equal([]);
    expect(ws.exists('out.txt')).to.equal(false);
  });

  it('refused outside an allocation, with what to do, exit 2; `--executor local --slurm-mode steps` is a usage error', async () => {
    const ws = make(FAN);
    const r = await ws.run(['run', '--slurm-mode', 'steps'], { env: { SLURM_JOB_ID: undefined, SLURM_JOBID: undefined } });
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.stderr).to.include('SLURM_JOB_ID is not set: this run is not inside an allocation').and.include('salloc');
    const yaml = make(FAN.replace('version: 1\n', 'version: 1\nexecutor: slurm\nslurm: {mode: steps}\n'));
    const y = await yaml.run(['run'], { env: { SLURM_JOB_ID: undefined, SLURM_JOBID: undefined } });
    expect(y.exitCode, y.stderr).to.equal(2);
    const ended = await ws.run(['run', '--slurm-mode', 'steps'], { env: { SLURM_JOB_ID: '999999' } });
    expect(ended.exitCode, ended.stderr).to.equal(2);
    expect(ended.stderr).to.include('the allocation 999999 (SLURM_JOB_ID) is not known to Slurm');
    const both = await ws.run(['run', '--executor', 'local', '--slurm-mode', 'steps']);
    expect(both.exitCode, both.stderr).to.equal(2);
    expect(both.stderr).to.include('--slurm-mode applies to the slurm executor');
    expect(ws.exists('build')).to.equal(false);
  });
});
