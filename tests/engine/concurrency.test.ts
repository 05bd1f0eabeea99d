// One run per workspace: a second `pipeline run` waits with a message (or, with --no-wait, exits 4).
import { expect } from 'chai';
import { STAGE_SCRIPT, makeWorkspace, toResult, waitFor, type Workspace } from '../helpers/workspace.js';
import { intervals, overlap, pidsOf } from './fixtures.js';

const YAML = `version: 1
stages:
  work:
    cmd: node stage.js build/work.txt
    outs: [build/work.txt]
    cache: false
    params: {value: w, sleep: 800}
`;

describe('engine: the workspace lock', function () {
  let ws: Workspace;
  beforeEach(() => {
    ws = makeWorkspace({ yaml: YAML, files: { 'stage.js': STAGE_SCRIPT } });
  });
  afterEach(() => ws.cleanup());

  it('two concurrent runs are serialized: one waits with a message, both exit 0, no overlapping stages', async () => {
    const a = ws.spawn(['run']);
    await waitFor(() => pidsOf(ws, 'work').length > 0, 20_000, 'the first run to start its stage');
    const b = ws.spawn(['run']);
    const [ra, rb] = [toResult(await a), toResult(await b)];
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
    await waitFor(() => pidsOf(ws, 'work').length > 0, 20_000, 'the first run to start its stage');
    const r = await ws.run(['run', '--no-wait']);
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
    await waitFor(() => pidsOf(ws, 'work').length > 0, 20_000, 'the first run to start its stage');
    process.kill(-a.pid!, 'SIGKILL');
    await a;
    const r = await ws.run(['run', '--no-wait']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(ws.read('build/work.txt')).to.equal('w\n');
  });
});
