// One run per workspace: a second `pipeline run` waits with a message (or, with --no-wait, exits 4).
import { expect } from 'chai';
import { killGroup, makeWorkspace, waitFor, waitForOutput, type Workspace } from '../helpers/workspace.js';
import { intervals, overlap, pidsOf } from './fixtures.js';

const YAML = `version: 1
stages:
  work:
    cmd: node stage.js build/work.txt
    outs: [build/work.txt]
    cache: false
    params: {value: w}
`;

// The stage script, holding the workspace until the test lets it go: it records its start (started.log), then
// waits for the file `release` before writing its out. Each test decides when the first run may finish, so
// nothing depends on how fast processes start on a loaded machine.
const HELD_STAGE = `const fs = require('node:fs');
const now = () => performance.timeOrigin + performance.now();
const start = now();
fs.appendFileSync('started.log', process.env.PIPELINE_STAGE + ' started ' + process.pid + '\\n');
const wait = () => (fs.existsSync('release') ? finish() : setTimeout(wait, 20));
const finish = () => {
  fs.mkdirSync('build', { recursive: true });
  fs.writeFileSync(process.argv[2], 'w\\n');
  fs.appendFileSync('runs.log', process.env.PIPELINE_STAGE + ' ' + start + ' ' + now() + '\\n');
};
wait();
`;

describe('engine: the workspace lock', function () {
  let ws: Workspace;
  beforeEach(() => {
    ws = makeWorkspace({ yaml: YAML, files: { 'stage.js': HELD_STAGE } });
  });
  afterEach(() => ws.cleanup());

  it('two concurrent runs are serialized: one waits with a message, both exit 0, no overlapping stages', async () => {
    const a = ws.spawn(['run']);
    await waitFor(() => pidsOf(ws, 'work').length > 0, 60_000, 'the first run to start its stage', a);
    const b = ws.spawn(['run']);
    // The second run says it waits while the first still holds the workspace (its stage is held).
    await waitForOutput(b, 'waiting for another run', 'the second run to say it waits');
    expect(pidsOf(ws, 'work')).to.have.length(1);
    ws.write('release', '');
    const [ra, rb] = [await a.result, await b.result];
    expect(ra.exitCode, ra.stderr).to.equal(0);
    expect(rb.exitCode, rb.stderr).to.equal(0);
    expect(ra.stderr).to.equal('');
    expect(rb.stderr).to.match(/^waiting for another run of this workspace to finish \(pid \d+, started [0-9T:.-]+Z\)…\n$/);
    expect(rb.stderr).to.include(`pid ${a.pid}`);
    const t = intervals(ws).work;
    expect(t).to.have.length(2);
    expect(overlap(t[0], t[1]), JSON.stringify(t)).to.equal(false);
  });

  it('--no-wait exits 4 while another run holds the lock, saying who holds it', async () => {
    const a = ws.spawn(['run']);
    await waitFor(() => pidsOf(ws, 'work').length > 0, 60_000, 'the first run to start its stage', a);
    const r = await ws.run(['run', '--no-wait']);
    ws.write('release', '');
    expect(r.exitCode).to.equal(4);
    expect(r.stderr).to.match(/^error: another run holds this workspace \(pid \d+, `pipeline run`, started [0-9T:.-]+Z\)\n/);
    expect(r.stderr).to.include(`pid ${a.pid},`);
    expect(r.stderr).to.include('hint: wait for it to finish, or run without --no-wait to queue behind it\n');
    expect((await a).exitCode).to.equal(0);
    expect(pidsOf(ws, 'work')).to.have.length(1);
    expect((await ws.run(['run', '--no-wait'])).exitCode).to.equal(0);
  });

  it('a lock left by a SIGKILLed run is taken over at once', async () => {
    const a = ws.spawn(['run'], { detached: true });
    await waitFor(() => pidsOf(ws, 'work').length > 0, 60_000, 'the first run to start its stage', a);
    killGroup(a, 'SIGKILL');
    await a;
    ws.write('release', '');
    const r = await ws.run(['run', '--no-wait']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(ws.read('build/work.txt')).to.equal('w\n');
  });
});
