// `--slurm-mode steps` with module stages: each takes a host started ahead as an `--overlap` step of the allocation
// (slurm-step-hosts.ts). The stage sees what a step started for it would give (only the per-step values differ), its
// outputs and lock are a local run's, a stage with `resources:` gets a step of its own, the runner never runs more of
// its stages at once than the allocation has CPUs (Slurm does not count overlapped steps), a failure and Ctrl-C end
// the step, and no waiting host's step outlives the run.
import { expect } from 'chai';
import { makeWorkspace, toResult, waitFor, type Workspace } from '../helpers/workspace.js';
import { allocate, byName, release, skipWithoutCluster, stepsOf } from './cluster.js';

/** A module stage: its env to env-<stage>.json (not an out), `value` to its out; with `hold`, waits for the file `release`. */
const STAGE_TS = `import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
export default async function (ctx: { stage: string; params: Record<string, unknown>; outs: Record<string, string> }) {
  appendFileSync('events.log', 'start ' + ctx.stage + '\\n');
  writeFileSync('env-' + ctx.stage + '.json', JSON.stringify(process.env));
  if (ctx.params.fail) throw new Error('bad row 3 in ' + ctx.stage);
  while (ctx.params.hold && !existsSync('release')) await new Promise((r) => setTimeout(r, 20));
  for (const out of Object.values(ctx.outs)) writeFileSync(out, String(ctx.params.value) + '\\n');
  appendFileSync('events.log', 'end ' + ctx.stage + '\\n');
}
`;

const module = (name: string, extra: string[] = []) => [`  ${name}:`, '    module: stage.ts', `    outs: [build/${name}.txt]`, ...extra.map((l) => `    ${l}`)].join('\n');


/** Values that differ between two stages' steps, however they were started. */
const PER_STEP = ['PIPELINE_PARAMS', 'SLURM_STEP_ID', 'SLURM_STEPID', 'SLURM_TASK_PID', 'SLURM_SRUN_COMM_PORT', 'SLURM_STEP_LAUNCHER_PORT', 'SLURM_JOB_NAME', 'PIPELINE_STAGE', 'PIPELINE_CONTEXT', 'PIPELINE_VERDICT_FILE'];

describe('slurm steps mode: module stages in hosts started ahead as steps', function () {
  const spaces: Workspace[] = [];
  let alloc = '';
  const inside = { SLURM_JOB_ID: '' };
  const make = (stages: string[]) => {
    const ws = makeWorkspace({ yaml: `version: 1\nstages:\n${stages.join('\n')}\n`, files: { 'stage.ts': STAGE_TS }, prefix: 'pipeline-step-hosts-' });
    spaces.push(ws);
    return ws;
  };
  before(function () {
    skipWithoutCluster(this);
    alloc = allocate('pipeline-step-hosts-test');
    inside.SLURM_JOB_ID = alloc;
  });
  after(() => {
    release(alloc);
    spaces.forEach((w) => w.cleanup());
  });

  it('a host started ahead gives the stage what a step started for it gives; `resources:` gets its own step; outputs and lock are local\'s; no step left', async () => {
    const stages = [
      module('first', ['params: {value: 1}']),
      module('ahead', ['needs: [first]', 'params: {value: 2}']),
      module('sized', ['needs: [first]', 'params: {value: 3}', 'resources: {cpus: 1}']),
    ];
    const local = make(stages);
    expect((await local.run(['run', '-j1'])).exitCode).to.equal(0);
    const ws = make(stages);
    const r = await ws.run(['run', '--slurm-mode', 'steps', '-j1', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(stepsOf(alloc)).to.deep.equal([]);
    expect(ws.snapshot('build')).to.deep.equal(local.snapshot('build'));
    expect(ws.lock().stages).to.deep.equal(local.lock().stages);
    const env = (stage: string) => JSON.parse(ws.read(`env-${stage}.json`)) as Record<string, string>;
    const [ahead, sized] = [env('ahead'), env('sized')];
    expect([ahead.SLURM_JOB_NAME, sized.SLURM_JOB_NAME]).to.deep.equal(['pipeline-host', 'pipeline-sized']);
    const stages_ = byName(r.json);
    expect(`${alloc}.${ahead.SLURM_STEP_ID}`).to.equal(stages_.ahead.stepId);
    expect(`${alloc}.${sized.SLURM_STEP_ID}`).to.equal(stages_.sized.stepId);
    const common = (e: Record<string, string>) => Object.fromEntries(Object.entries(e).filter(([k]) => !PER_STEP.includes(k)));
    expect(common(ahead)).to.deep.equal(common(sized));
    expect(ahead.PIPELINE_STAGE).to.equal('ahead');
  });

  it('never more of its stages at once than the allocation has CPUs, though Slurm does not count overlapped steps', async () => {
    // The end-to-end path: a third stage with -j3 waits for a CPU and runs once one is free. That it waits (and does not
    // only happen to start late) is the ledger's unit test, tests/engine/slurm-steps-groups.test.ts.
    const ws = make(['a', 'b', 'c'].map((n) => module(n, ['params: {value: 1, hold: true}'])));
    const child = ws.spawn(['run', '--slurm-mode', 'steps', '-j3', '--json'], { env: inside, timeoutMs: 120_000 });
    await waitFor(() => ws.exists('events.log') && ws.lines('events.log').filter((l) => l.startsWith('start')).length >= 2, 60_000, 'two stages to start', child);
    ws.write('release', '');
    const r = toResult(await child);
    expect(r.exitCode, r.stderr).to.equal(0);
    let running = 0;
    let most = 0;
    for (const line of ws.lines('events.log')) {
      running += line.startsWith('start') ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).to.equal(2);
    expect(stepsOf(alloc)).to.deep.equal([]);
  });

  it('a module stage failing in a host step fails with its message; Ctrl-C ends a running one (no step left), exit 130, outs put back', async () => {
    const bad = make([module('bad', ['params: {value: 1, fail: true}'])]);
    const f = await bad.run(['run', '--slurm-mode', 'steps', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(f.exitCode, f.stderr).to.equal(1);
    expect(byName(f.json).bad.outcome.cause).to.include({ kind: 'exit', exitCode: 1, message: 'bad row 3 in bad (at stage.ts:5:30)', at: 'stage.ts:5:30' });
    expect(JSON.parse(bad.read('env-bad.json')).SLURM_JOB_NAME).to.equal('pipeline-host');
    expect(stepsOf(alloc)).to.deep.equal([]);

    const ws = make([module('held', ['params: {value: 1}'])]);
    expect((await ws.run(['run', '--slurm-mode', 'steps'], { env: inside, timeoutMs: 120_000 })).exitCode).to.equal(0);
    const before = ws.snapshot('build');
    ws.write('pipeline.yaml', ws.read('pipeline.yaml').replace('{value: 1}', '{value: 2, hold: true}'));
    ws.write('events.log', '');
    const child = ws.spawn(['run', '--slurm-mode', 'steps'], { env: inside, timeoutMs: 120_000 });
    await waitFor(() => ws.lines('events.log').includes('start held'), 60_000, 'the stage to start', child);
    expect(JSON.parse(ws.read('env-held.json')).SLURM_JOB_NAME).to.equal('pipeline-host');
    child.kill('SIGINT');
    const r = toResult(await child);
    expect(r.exitCode, r.stderr).to.equal(130);
    expect(stepsOf(alloc)).to.deep.equal([]);
    expect(ws.snapshot('build')).to.deep.equal(before);
  });
});
