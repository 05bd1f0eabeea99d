// `--slurm-mode steps` with command stages: each takes a /bin/sh waiting as an `--overlap` step of the allocation,
// started while the stage before it ran (slurm-step-shells.ts). The command gets what a step started for it would
// give (argv and environment byte for byte, whatever the values hold; only the per-step values differ), outputs and
// lock are a local run's, a stage with `resources:` gets a step of its own, a failure is reported with its step,
// and Ctrl-C ends the running step and the waiting one (none left in `squeue -s`).
import { expect } from 'chai';
import { makeWorkspace, toResult, waitFor, type Workspace } from '../helpers/workspace.js';
import { allocate, byName, release, skipWithoutCluster, stepsOf } from './cluster.js';

/** Writes {argv, env} to its first argument, `ok` to its second (an out). */
const DUMP_JS = `const fs = require('node:fs');
const [file, out, ...rest] = process.argv.slice(2);
fs.writeFileSync(file, JSON.stringify({ argv: rest, env: process.env }));
fs.writeFileSync(out, 'ok\\n');
`;

/** Quotes, \`$()\`, backticks, \`'\\''\`, newlines, spaces, non-ASCII (no \`\${\`: that is the config's interpolation). */
const NASTY = `it's "quoted" $(touch pwned) \`touch pwned2\` $HOME '\\'' \\\\ end\nsecond line\n ünï ✓ `;

const stage = (name: string, extra: string[] = []) =>
  [
    `  ${name}:`,
    `    cmd: [node, dump.js, env-${name}.json, build/${name}.txt, ${JSON.stringify(NASTY)}, "'", ""]`,
    '    deps: [dump.js]',
    `    outs: [build/${name}.txt]`,
    `    env: {TRICKY: ${JSON.stringify(NASTY)}, QUOTE: "'"}`,
    `    params: {value: ${JSON.stringify(NASTY)}}`,
    ...extra.map((l) => `    ${l}`),
  ].join('\n');

/** Values that differ between two stages' steps, however they were started. */
const PER_STEP = ['PIPELINE_PARAMS', 'SLURM_STEP_ID', 'SLURM_STEPID', 'SLURM_TASK_PID', 'SLURM_SRUN_COMM_PORT', 'SLURM_STEP_LAUNCHER_PORT', 'SLURM_JOB_NAME', 'PIPELINE_STAGE', 'PIPELINE_VERDICT_FILE'];

describe('slurm steps mode: command stages in shells started ahead as steps', function () {
  const spaces: Workspace[] = [];
  let alloc = '';
  const inside = { SLURM_JOB_ID: '' };
  const make = (yaml: string) => {
    const ws = makeWorkspace({ yaml, files: { 'dump.js': DUMP_JS }, prefix: 'pipeline-step-shells-' });
    spaces.push(ws);
    return ws;
  };
  before(function () {
    skipWithoutCluster(this);
    alloc = allocate('pipeline-step-shells-test');
    inside.SLURM_JOB_ID = alloc;
  });
  after(() => {
    release(alloc);
    spaces.forEach((w) => w.cleanup());
  });

  it('a shell started ahead gives the command the argv and environment of a step started for it, whatever the values hold; outputs and lock are local\'s; no step left', async () => {
    const yaml = `version: 1\nstages:\n${[stage('first'), stage('ahead', ['needs: [first]']), stage('sized', ['needs: [first]', 'resources: {cpus: 1}'])].join('\n')}\n`;
    const local = make(yaml);
    expect((await local.run(['run', '-j1'])).exitCode).to.equal(0);
    const ws = make(yaml);
    const r = await ws.run(['run', '--slurm-mode', 'steps', '-j1', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(stepsOf(alloc)).to.deep.equal([]);
    expect(ws.snapshot('build')).to.deep.equal(local.snapshot('build'));
    expect(ws.lock().stages).to.deep.equal(local.lock().stages);
    const dump = (name: string) => JSON.parse(ws.read(`env-${name}.json`)) as { argv: string[]; env: Record<string, string> };
    const [ahead, sized] = [dump('ahead'), dump('sized')];
    expect(ahead.argv).to.deep.equal([NASTY, "'", '']);
    expect(ahead.env.TRICKY).to.equal(NASTY);
    expect(ahead.env.QUOTE).to.equal("'");
    expect(JSON.parse(ahead.env.PIPELINE_PARAMS)).to.deep.equal({ value: NASTY });
    expect([ahead.env.SLURM_JOB_NAME, sized.env.SLURM_JOB_NAME]).to.deep.equal(['pipeline-shell', 'pipeline-sized']);
    const stages = byName(r.json);
    expect(`${alloc}.${ahead.env.SLURM_STEP_ID}`).to.equal(stages.ahead.stepId);
    expect(`${alloc}.${sized.env.SLURM_STEP_ID}`).to.equal(stages.sized.stepId);
    const common = (e: Record<string, string>) => Object.fromEntries(Object.entries(e).filter(([k]) => !PER_STEP.includes(k)));
    expect(common(ahead.env)).to.deep.equal(common(sized.env));
    expect(ws.exists('pwned') || ws.exists('pwned2')).to.equal(false);
  });

  it('a command failing in a shell step fails with its exit code, its message and its step; its log has its output only', async () => {
    const ws = make('version: 1\nstages:\n  bad:\n    cmd: "echo some output; echo bad row 3 >&2; exit 3"\n    shell: true\n    outs: [out.txt]\n');
    const r = await ws.run(['run', '--slurm-mode', 'steps', '--json'], { env: inside, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).to.equal(1);
    const bad = byName(r.json).bad;
    expect(bad.outcome.cause).to.include({ kind: 'exit', exitCode: 3, message: 'bad row 3' });
    expect(bad.stepId).to.match(new RegExp(`^${alloc}\\.[0-9]+$`));
    expect(ws.lines('.pipeline/logs/bad.log').sort()).to.deep.equal(['bad row 3', 'some output']);
    expect(stepsOf(alloc)).to.deep.equal([]);
  });

  it('Ctrl-C ends the running step and the shell waiting for the next stage (none left in `squeue -s`), exit 130, outs put back', async () => {
    const yaml = (v: string, wait: string) =>
      `version: 1\nstages:\n  held:\n    cmd: "echo ${v} > build/a.txt; ${wait}"\n    shell: true\n    outs: [build/a.txt]\n  next:\n    cmd: "echo ${v} > build/b.txt"\n    shell: true\n    needs: [held]\n    outs: [build/b.txt]\n`;
    const ws = make(yaml('one', 'true'));
    expect((await ws.run(['run', '--slurm-mode', 'steps'], { env: inside, timeoutMs: 120_000 })).exitCode).to.equal(0);
    const before = ws.snapshot('build');
    // It ignores SIGTERM: only the SIGKILL that follows ends it.
    ws.write('pipeline.yaml', yaml('two', "trap '' TERM; until [ -e release ]; do sleep 0.1; done"));
    // Forced: a shell is started at once for the held stage, and one for `next` when it takes it.
    const child = ws.spawn(['run', '--slurm-mode', 'steps', '--force'], { env: inside, timeoutMs: 120_000 });
    await waitFor(() => ws.exists('build/a.txt') && ws.read('build/a.txt') === 'two\n' && stepsOf(alloc).length === 2, 60_000, 'the stage to run and a shell to wait', child);
    expect(stepsOf(alloc).map((s) => s.split(' ')[1])).to.deep.equal(['pipeline-shell', 'pipeline-shell']);
    child.kill('SIGINT');
    const r = toResult(await child);
    expect(r.exitCode, r.stderr).to.equal(130);
    expect(stepsOf(alloc)).to.deep.equal([]);
    expect(ws.snapshot('build')).to.deep.equal(before);
  });
});
