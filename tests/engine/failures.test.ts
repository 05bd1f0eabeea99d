// Failing stages and gates: exit codes 1 and 3, downstream blocked with its previous outputs untouched, the
// failed stage's previous outputs put back (never half-written), and what --keep-going changes.
import { expect } from 'chai';
import { STAGE_SCRIPT, executions, makeWorkspace, waitFor, waitForOutput, type Workspace } from '../helpers/workspace.js';
import { causeOf, outcomes, reasonFields, reasons, started, statuses } from './fixtures.js';

const GATE_SCRIPT = `const fs = require('node:fs');
const p = JSON.parse(process.env.PIPELINE_PARAMS);
fs.appendFileSync('started.log', process.env.PIPELINE_STAGE + ' started ' + process.pid + '\\n');
const score = Number(fs.readFileSync('build/model.txt', 'utf8').split('\\n')[0]);
fs.writeFileSync('build/gate.json', JSON.stringify({ score, min: p.min }) + '\\n');
if (score < p.min) {
  if (p.verdict) fs.writeFileSync(process.env.PIPELINE_VERDICT_FILE, p.verdict + '\\n');
  process.stderr.write('checking the model\\nscore ' + score + ' is below the minimum ' + p.min + '\\n');
  process.exit(1);
}
`;

const GATE_YAML = `version: 1
stages:
  train:
    cmd: node stage.js build/model.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/model.txt]
    params: {value: 3}
  check:
    cmd: node gate.js
    needs: [train]
    deps: [gate.js]
    outs: [build/gate.json]
    gate: true
    params: {min: 1, verdict: ''}
  ship:
    cmd: node stage.js build/ship.txt build/model.txt
    needs: [train, check]
    deps: [stage.js]
    outs: [build/ship.txt]
`;

describe('engine: gate stages', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: GATE_YAML, files: { 'stage.js': STAGE_SCRIPT, 'gate.js': GATE_SCRIPT, 'data/raw.txt': 'rows\n' } });
  });
  after(() => ws.cleanup());

  it('a passing gate lets its downstream run', async () => {
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ train: 'ran', check: 'ran', ship: 'ran' });
    expect(ws.read('build/gate.json')).to.equal('{"score":3,"min":1}\n');
  });

  it('a failing gate: exit 3, its last stderr line printed, downstream blocked with previous outputs byte-identical', async () => {
    const before = ws.snapshot('build');
    const n = started(ws).length;
    const r = await ws.run(['run', '--json', '--set', 'check.min=5']);
    expect(r.exitCode).to.equal(3);
    expect(r.json.ok).to.equal(false);
    expect(r.json.exitCode).to.equal(3);
    expect(statuses(r.json)).to.deep.equal({ train: 'cached', check: 'failed', ship: 'blocked' });
    expect(reasons(r.json).check).to.equal('score 3 is below the minimum 5');
    expect(outcomes(r.json)).to.include({ check: 'failed:gate', ship: 'blocked' });
    expect(reasonFields(r.json).ship).to.deep.equal([{ code: 'blocked-by', stage: 'check', gate: true }]);
    expect(r.stderr).to.include('gate `check` failed: score 3 is below the minimum 5\n');
    expect(started(ws).slice(n)).to.deep.equal(['check']);
    // The gate's own out is put back as it was, and the blocked stage's out is untouched.
    expect(ws.snapshot('build')).to.deep.equal(before);
    expect(ws.lock().stages.check.definition.params.min).to.equal(1);

    const text = await ws.run(['run', '--set', 'check.min=5']);
    expect(text.exitCode).to.equal(3);
    expect(text.stdout).to.match(/^check +failed +[\d.]+m?s {2}score 3 is below the minimum 5$/m);
    expect(text.stdout).to.match(/^ship +blocked +0ms {2}gate `check` failed$/m);
    expect(text.stdout).to.include('gate `check` failed: score 3 is below the minimum 5\n');
    expect(ws.snapshot('build')).to.deep.equal(before);
  });

  it('a verdict written to $PIPELINE_VERDICT_FILE takes precedence over the last stderr line', async () => {
    const r = await ws.run(['run', '--json', '--set', 'check.min=5', '--set', 'check.verdict=model rejected (score 3 below 5)']);
    expect(r.exitCode).to.equal(3);
    expect(reasons(r.json).check).to.equal('model rejected (score 3 below 5)');
    expect(outcomes(r.json).check).to.equal('failed:gate');
    expect(r.stderr).to.include('gate `check` failed: model rejected (score 3 below 5)\n');
    expect(statuses(r.json).ship).to.equal('blocked');
    expect(ws.exists('.pipeline/tmp') ? ws.snapshot('.pipeline/tmp') : {}).to.deep.equal({});
  });
});

const FAIL_YAML = `version: 1
stages:
  bad:
    cmd: node stage.js build/bad.txt data/in.txt
    deps: [stage.js, data/in.txt]
    outs: [build/bad.txt]
    params: {value: good, fail: ''}
  slow:
    cmd: node stage.js build/slow.txt
    deps: [stage.js]
    outs: [build/slow.txt]
    params: {value: slow, hold: ''}
  after_bad:
    cmd: node stage.js build/after.txt build/bad.txt
    needs: [bad]
    deps: [stage.js]
    outs: [build/after.txt]
  indep:
    cmd: node stage.js build/indep.txt
    deps: [stage.js]
    outs: [build/indep.txt]
    params: {value: indep}
`;

describe('engine: a failing stage', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: FAIL_YAML, files: { 'stage.js': STAGE_SCRIPT, 'data/in.txt': 'the input\n' } });
  });
  after(() => ws.cleanup());

  it('first run succeeds', async () => {
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.read('build/bad.txt')).to.equal('good\nthe input\n');
  });

  it('exit 1, downstream blocked, running branches finish, nothing new starts; previous outs restored', async () => {
    const before = ws.snapshot('build');
    const n = started(ws).length;
    // slow is held until the runner has reported bad's failure: it is still running then, whatever the machine's speed.
    const child = ws.spawn(['run', '--json', '--jobs', '2', '--set', 'bad.fail=boom', '--set', 'slow.hold=go', '--set', 'indep.value=two']);
    await waitForOutput(child, /^bad +failed/m, 'the runner to report the failure of `bad`');
    ws.write('go', '');
    const r = await child.result;
    expect(r.exitCode).to.equal(1);
    expect(r.json).to.include({ ok: false, exitCode: 1 });
    expect(statuses(r.json)).to.deep.equal({ bad: 'failed', slow: 'ran', after_bad: 'blocked', indep: 'blocked' });
    expect(reasons(r.json).bad).to.equal('boom');
    expect(outcomes(r.json)).to.deep.equal({ bad: 'failed:exit', slow: 'ran', after_bad: 'blocked', indep: 'blocked' });
    expect(reasonFields(r.json)).to.deep.include({
      slow: [{ code: 'param-changed', name: 'hold', from: '', to: 'go' }],
      after_bad: [{ code: 'blocked-by', stage: 'bad', gate: false }],
      indep: [{ code: 'not-started', failed: 'bad' }],
    });
    expect(started(ws).slice(n).sort()).to.deep.equal(['bad', 'slow']);
    // The failed stage wrote half an output before failing: its previous bytes are back.
    expect(ws.read('build/bad.txt')).to.equal('good\nthe input\n');
    const after = ws.snapshot('build');
    expect(after['bad.txt']).to.equal(before['bad.txt']);
    expect(after['after.txt']).to.equal(before['after.txt']);
    expect(after['indep.txt']).to.equal(before['indep.txt']);
    expect(ws.lock().stages.bad.definition.params.fail).to.equal('');
    expect(r.stderr).to.match(/^bad +failed +[\d.]+m?s {2}boom$/m);
  });

  it('with --keep-going, stages not depending on the failure still start', async () => {
    const n = started(ws).length;
    const r = await ws.run(['run', '--json', '--jobs', '1', '--keep-going', '--set', 'bad.fail=boom', '--set', 'slow.value=three', '--set', 'indep.value=three']);
    expect(r.exitCode).to.equal(1);
    expect(statuses(r.json)).to.deep.equal({ bad: 'failed', slow: 'ran', after_bad: 'blocked', indep: 'ran' });
    expect(started(ws).slice(n)).to.deep.equal(['bad', 'slow', 'indep']);
    expect(ws.read('build/indep.txt')).to.equal('three\n');
    expect(ws.read('build/bad.txt')).to.equal('good\nthe input\n');
  });

  it('without --keep-going and one job, nothing starts after the failure', async () => {
    const n = started(ws).length;
    const r = await ws.run(['run', '--json', '--jobs', '1', '--set', 'bad.fail=boom', '--set', 'slow.value=four', '--set', 'indep.value=four']);
    expect(r.exitCode).to.equal(1);
    expect(statuses(r.json)).to.deep.equal({ bad: 'failed', slow: 'blocked', after_bad: 'blocked', indep: 'blocked' });
    expect(started(ws).slice(n)).to.deep.equal(['bad']);
    expect(executions(ws).filter((e) => e === 'bad')).to.deep.equal(['bad']);
  });

  it('a stage that exits 0 without writing its out fails, naming the out', async () => {
    const ws2 = makeWorkspace({
      yaml: `version: 1\nstages:\n  lazy:\n    cmd: [node, -e, "0"]\n    outs: [build/never.txt]\n`,
    });
    try {
      const r2 = await ws2.run(['run', '--json']);
      expect(r2.exitCode).to.equal(1);
      expect(causeOf(r2.json, 'lazy')).to.deep.equal({ kind: 'outs-missing', paths: ['build/never.txt'] });
      expect(ws2.lock()?.stages?.lazy).to.equal(undefined);
    } finally {
      ws2.cleanup();
    }
  });
});

describe('engine: an input changed while its stage ran', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({
      yaml: `version: 1
stages:
  reader:
    cmd: node stage.js build/r.txt data/in.txt
    deps: [stage.js, data/in.txt]
    outs: [build/r.txt]
    params: {hold: go}
`,
      files: { 'stage.js': STAGE_SCRIPT, 'data/in.txt': 'old\n' },
    });
  });
  after(() => ws.cleanup());

  it('is not recorded (exit 1, the reason names the input); the next run executes on the new content', async () => {
    const child = ws.spawn(['run', '--json']);
    await waitFor(() => started(ws).length > 0, 20_000, 'the stage to start', child);
    ws.write('data/in.txt', 'new content\n');
    ws.write('go', '');
    const r = await child.result;
    expect(r.exitCode).to.equal(1);
    expect(statuses(r.json)).to.deep.equal({ reader: 'failed' });
    expect(causeOf(r.json, 'reader')).to.deep.equal({ kind: 'inputs-changed', path: 'data/in.txt', what: 'input' });
    expect(ws.lock()?.stages?.reader).to.equal(undefined);
    expect(ws.exists('build/r.txt')).to.equal(false);

    const again = await ws.run(['run', '--json']);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(statuses(again.json)).to.deep.equal({ reader: 'ran' });
    expect(ws.read('build/r.txt')).to.equal('new content\n');
    expect(ws.lock().stages.reader.deps['data/in.txt']).to.be.a('string');
  });
});
