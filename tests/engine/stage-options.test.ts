// Stage settings and the stage's environment: parallel stages with --jobs, `cache: false`, `env`, `timeout`,
// `shell: true`, and PIPELINE_PARAMS / PIPELINE_STAGE.
import { expect } from 'chai';
import { STAGE_SCRIPT, executions, isRunning, makeWorkspace, parseIdentity, shIdentity, waitFor, type Workspace } from '../helpers/workspace.js';
import { causeOf, idsOf, intervals, overlap, reasonFields, reasons, statuses, statusReasons } from './fixtures.js';

describe('engine: parallel stages', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({
      yaml: `version: 1
stages:
  one:
    cmd: node stage.js build/one.txt
    outs: [build/one.txt]
    params: {value: 1, await: ''}
  two:
    cmd: node stage.js build/two.txt
    outs: [build/two.txt]
    params: {value: 2, await: ''}
  both:
    cmd: node stage.js build/both.txt build/one.txt build/two.txt
    needs: [one, two]
    outs: [build/both.txt]
`,
      files: { 'stage.js': STAGE_SCRIPT },
    });
  });
  after(() => ws.cleanup());

  it('--jobs 2: two independent stages run at the same time (each waits for the other to start); their downstream after both', async () => {
    const r = await ws.run(['run', '--jobs', '2', '--set', 'one.await=two', '--set', 'two.await=one']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const t = intervals(ws);
    expect(overlap(t.one[0], t.two[0]), JSON.stringify(t)).to.equal(true);
    expect(t.both[0][0]).to.be.at.least(Math.max(t.one[0][1], t.two[0][1]));
    expect(ws.read('build/both.txt')).to.equal('1\n2\n');
  });

  it('--jobs 1: the same stages one after the other', async () => {
    ws.remove('runs.log');
    const r = await ws.run(['run', '--jobs', '1', '--force']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const t = intervals(ws);
    expect(overlap(t.one[0], t.two[0]), JSON.stringify(t)).to.equal(false);
    expect(t.two[0][0]).to.be.at.least(t.one[0][1]);
  });
});

// A process the shell stage starts, which would outlive the shell and hold its output pipes for 20 s. The shell
// records its identity (pid and start time) first thing, well inside the stage's timeout even on a loaded machine.
const TREE_SCRIPT = `setTimeout(() => require('node:fs').writeFileSync('build/late.txt', 'too late'), 20000);
`;

describe('engine: stage settings and environment', function () {
  let ws: Workspace;
  const yaml = (envValue: string) => `version: 1
params:
  seed: 42
stages:
  always:
    cmd: node stage.js build/always.txt
    outs: [build/always.txt]
    cache: false
    params: {value: a}
  envy:
    cmd: [node, -e, "require('fs').writeFileSync('build/env.txt', process.env.GREETING + ' ' + process.env.PIPELINE_STAGE + '\\\\n'); require('fs').appendFileSync('runs.log', 'envy\\\\n')"]
    outs: [build/env.txt]
    env: {GREETING: ${envValue}}
  params:
    cmd: [node, -e, "require('fs').writeFileSync('build/params.json', process.env.PIPELINE_PARAMS)"]
    outs: [build/params.json]
    params: {alpha: 0.5, nested: {list: [1, two]}}
  shelled:
    cmd: echo "$PIPELINE_STAGE" > build/sh.txt && echo "$PIPELINE_PARAMS" >> build/sh.txt
    shell: true
    outs: [build/sh.txt]
    params: {k: v}
  slow:
    cmd: echo "slow started ${shIdentity('$')}" >> started.log; exec sleep 30
    shell: true
    outs: [build/slow.txt]
    timeout: 2
  tree:
    cmd: node tree.js & echo ${shIdentity('!')} > tree.id; wait; echo never > build/tree.txt
    shell: true
    outs: [build/tree.txt]
    timeout: 2
`;
  before(() => {
    ws = makeWorkspace({ yaml: yaml('hello'), files: { 'stage.js': STAGE_SCRIPT, 'build/.keep': '', 'tree.js': TREE_SCRIPT } });
  });
  after(() => ws.cleanup());

  let first: { stages: { name: string; status: string; reason: string }[] };

  it('a stage over its timeout is killed: exit 1, the reason says it timed out', async () => {
    const r = await ws.run(['run', '--json', '--keep-going']);
    expect(r.exitCode).to.equal(1);
    first = r.json;
    expect(statuses(r.json).slow).to.equal('failed');
    expect(causeOf(r.json, 'slow')).to.deep.equal({ kind: 'timeout', timeoutMs: 2000 });
    expect(ws.exists('build/slow.txt')).to.equal(false);
    const ids = idsOf(ws, 'slow');
    expect(ids).to.have.length(1);
    expect(isRunning(ids[0]), 'the timed-out stage is gone').to.equal(false);
    expect(executions(ws)).to.not.include('slow');
  });

  it('a timeout stops the whole process tree of a shell stage, not only the shell', async () => {
    expect(statuses(first).tree).to.equal('failed');
    expect(reasons(first).tree).to.equal('timed out after 2.0s');
    const child = parseIdentity(ws.read('tree.id'));
    await waitFor(() => !isRunning(child), 5_000, 'the shell stage\'s child to be stopped');
    expect(ws.exists('build/tree.txt')).to.equal(false);
    expect(ws.exists('build/late.txt')).to.equal(false);
  });

  it('cmd stages get PIPELINE_STAGE and PIPELINE_PARAMS (global params, then their own)', () => {
    expect(statuses(first)).to.include({ always: 'ran', envy: 'ran', params: 'ran', shelled: 'ran' });
    expect(JSON.parse(ws.read('build/params.json'))).to.deep.equal({ seed: 42, alpha: 0.5, nested: { list: [1, 'two'] } });
    expect(ws.read('build/env.txt')).to.equal('hello envy\n');
  });

  it('shell: true runs the command line through the shell', () => {
    expect(ws.read('build/sh.txt')).to.equal('shelled\n{"seed":42,"k":"v"}\n');
  });

  it('cache: false always runs; the other stages are cached', async () => {
    const n = executions(ws).length;
    const r = await ws.run(['run', '--json', 'always', 'envy', 'params', 'shelled']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ always: 'ran', envy: 'cached', params: 'cached', shelled: 'cached', slow: 'skipped', tree: 'skipped' });
    expect(reasonFields(r.json).always).to.deep.equal([{ code: 'always-runs' }]);
    expect(executions(ws).slice(n)).to.deep.equal(['always']);
    const s = await ws.run(['status', '--json', 'always']);
    expect(statusReasons(s.json)).to.deep.equal({ always: ['stale', [{ code: 'always-runs' }]] });
  });

  it('a change of a declared env value re-runs the stage', async () => {
    ws.write('pipeline.yaml', yaml('bonjour'));
    const n = executions(ws).length;
    const r = await ws.run(['run', '--json', 'envy']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json).envy).to.equal('ran');
    expect(reasonFields(r.json).envy).to.deep.equal([{ code: 'env-changed', name: 'GREETING', from: 'hello', to: 'bonjour' }]);
    expect(executions(ws).slice(n)).to.deep.equal(['envy']);
    expect(ws.read('build/env.txt')).to.equal('bonjour envy\n');
  });
});
