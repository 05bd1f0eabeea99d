// The runner killed mid-stage (SIGKILL of the whole process group), then a plain run: it completes, executes
// only what was interrupted, and ends with the outputs of an uninterrupted run. SIGINT stops the stages and
// exits 130.
import { expect } from 'chai';
import { executions, isRunning, killGroup, makeWorkspace, STAGE_SCRIPT, waitFor, type Workspace } from '../helpers/workspace.js';
import { idsOf, outcomes, reasonCodes, started, statuses } from './fixtures.js';

const YAML = `version: 1
stages:
  first:
    cmd: node stage.js build/first.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/first.txt]
    params: {value: one}
  slow:
    cmd: node stage.js build/slow.txt build/first.txt
    needs: [first]
    deps: [stage.js]
    outs: [build/slow.txt]
    params: {value: two, hold: go}
  last:
    cmd: node stage.js build/last.txt build/slow.txt
    needs: [slow]
    deps: [stage.js]
    outs: [build/last.txt]
`;

const files = () => ({ 'stage.js': STAGE_SCRIPT, 'data/raw.txt': 'raw data\n' });

describe('engine: interrupted runs', function () {
  const spaces: Workspace[] = [];
  const make = () => {
    const ws = makeWorkspace({ yaml: YAML, files: files() });
    spaces.push(ws);
    return ws;
  };
  after(() => spaces.forEach((w) => w.cleanup()));

  it('SIGKILL of the runner and its stages mid-stage, then a plain run: only the interrupted part executes, same outputs', async () => {
    // The slow stage waits for the file `go`: the reference run has it from the start; the killed run gets it only
    // after the kill, so the kill lands mid-stage however slowly the machine runs.
    const reference = make();
    reference.write('go', '');
    expect((await reference.run(['run'])).exitCode).to.equal(0);

    const ws = make();
    const child = ws.spawn(['run', '--jobs', '1'], { detached: true });
    await waitFor(() => idsOf(ws, 'slow').length > 0, 20_000, 'the slow stage to start', child);
    killGroup(child, 'SIGKILL');
    const killed = await child.result;
    expect(killed.exitCode).to.equal(128 + 9);
    const stage = idsOf(ws, 'slow')[0];
    await waitFor(() => !isRunning(stage), 5_000, 'the killed stage to be gone');
    expect(ws.exists('build/last.txt')).to.equal(false);
    ws.write('go', '');

    // --no-wait: the lock of the killed run must be free already.
    const r = await ws.run(['run', '--json', '--no-wait']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ first: 'cached', slow: 'ran', last: 'ran' });
    expect(started(ws)).to.deep.equal(['first', 'slow', 'slow', 'last']);
    expect(executions(ws)).to.deep.equal(['first', 'slow', 'last']);
    expect(ws.snapshot('build')).to.deep.equal(reference.snapshot('build'));
    expect(ws.lock().stages).to.deep.equal(reference.lock().stages);

    const verify = await ws.run(['cache', 'verify']);
    expect(verify.exitCode, verify.stdout).to.equal(0);
    expect(verify.stdout).to.match(/all verified\n$/);
    const again = await ws.run(['run', '--json']);
    expect(statuses(again.json)).to.deep.equal({ first: 'cached', slow: 'cached', last: 'cached' });
  });

  it('SIGINT: running stages are stopped, exit 130, previous outputs kept; the next run completes', async () => {
    const ws = make();
    ws.write('go-now', '');
    expect((await ws.run(['run', '--set', 'slow.hold=go-now'])).exitCode).to.equal(0);
    const before = ws.snapshot('build');
    const child = ws.spawn(['run', '--json']);
    await waitFor(() => idsOf(ws, 'slow').length > 1, 20_000, 'the slow stage to start', child);
    const stage = idsOf(ws, 'slow')[1];
    child.kill('SIGINT');
    const r = await child.result;
    expect(r.exitCode).to.equal(130);
    expect(r.stderr).to.include('SIGINT: stopping running stages');
    expect(r.stderr).to.match(/ — interrupted\n$/);
    expect(r.json.exitCode).to.equal(130);
    expect(statuses(r.json)).to.deep.equal({ first: 'cached', slow: 'failed', last: 'blocked' });
    expect(outcomes(r.json)).to.deep.equal({ first: 'fresh', slow: 'failed:interrupted', last: 'blocked' });
    expect(reasonCodes(r.json).last).to.deep.equal(['blocked-by']);
    expect(isRunning(stage), 'the stage process was stopped').to.equal(false);
    expect(ws.snapshot('build')).to.deep.equal(before);

    ws.write('go', '');
    const next = await ws.run(['run', '--json']);
    expect(next.exitCode, next.stderr).to.equal(0);
    expect(statuses(next.json)).to.deep.equal({ first: 'cached', slow: 'ran', last: 'cached' });
  });
});
