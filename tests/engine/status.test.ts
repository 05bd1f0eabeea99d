// `pipeline status [--json]`: each stage fresh or stale with every reason, and nothing executed.
import { expect } from 'chai';
import { executions, type Workspace } from '../helpers/workspace.js';
import { RAW, chainWorkspace, statusReasons } from './fixtures.js';

describe('engine: status reasons', function () {
  let ws: Workspace;
  before(() => {
    ws = chainWorkspace();
  });
  after(() => ws.cleanup());

  const status = async (...args: string[]) => {
    const r = await ws.run(['status', '--json', ...args]);
    expect(r.exitCode, r.stderr).to.equal(0);
    return statusReasons(r.json);
  };
  const UPSTREAM_FIT_WILL_RUN = { code: 'upstream-will-run', stages: ['fit'] };

  it('never run', async () => {
    expect(await status()).to.deep.equal({
      prepare: ['stale', [{ code: 'never-run' }]],
      fit: ['stale', [{ code: 'never-run' }, { code: 'upstream-will-run', stages: ['prepare'] }]],
      side: ['stale', [{ code: 'never-run' }]],
      report: ['stale', [{ code: 'never-run' }, { code: 'upstream-will-run', stages: ['fit', 'side'] }]],
    });
    const r = await ws.run(['status']);
    expect(r.stdout.split('\n').at(-2)).to.equal('4 of 4 stages stale; `pipeline run` brings them up to date');
  });

  it('after a run everything is fresh, "up to date"; status executes nothing', async () => {
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    const n = executions(ws).length;
    expect(await status()).to.deep.equal({
      prepare: ['fresh', [{ code: 'up-to-date' }]],
      fit: ['fresh', [{ code: 'up-to-date' }]],
      side: ['fresh', [{ code: 'up-to-date' }]],
      report: ['fresh', [{ code: 'up-to-date' }]],
    });
    const r = await ws.run(['status']);
    expect(r.stdout).to.equal(
      ['prepare   fresh  up to date', 'fit       fresh  up to date', 'side      fresh  up to date', 'report    fresh  up to date', 'everything is up to date', ''].join('\n'),
    );
    expect(executions(ws).length).to.equal(n);
  });

  it('changed param, with old and new values', async () => {
    const s = await status('--set', 'fit.alpha=0.2');
    expect(s.fit).to.deep.equal(['stale', [{ code: 'param-changed', name: 'alpha', from: 0.1, to: 0.2 }]]);
    expect(s.report).to.deep.equal(['stale', [UPSTREAM_FIT_WILL_RUN]]);
    expect(s.prepare[0]).to.equal('fresh');
    const two = await status('--set', 'fit.alpha=0.2', '--set', 'seed=7');
    expect(two.fit).to.deep.equal(['stale', [{ code: 'param-changed', name: 'alpha', from: 0.1, to: 0.2 }, { code: 'param-changed', name: 'seed', from: 42, to: 7 }, { code: 'upstream-will-run', stages: ['prepare'] }]]);
    expect(two.prepare).to.deep.equal(['stale', [{ code: 'param-changed', name: 'seed', from: 42, to: 7 }]]);
  });

  it('changed code (the script a cmd stage declares in deps)', async () => {
    const code = ws.read('fit.js');
    ws.write('fit.js', `${code}\n// edited\n`);
    const s = await status();
    expect(s.fit).to.deep.equal(['stale', [{ code: 'input-changed', path: 'fit.js' }]]);
    expect(s.report).to.deep.equal(['stale', [UPSTREAM_FIT_WILL_RUN]]);
    ws.write('fit.js', code);
    expect((await status()).fit).to.deep.equal(['fresh', [{ code: 'up-to-date' }]]);
  });

  it('changed input (a data dep), for every stage reading it', async () => {
    ws.write('data/raw.txt', 'changed\n');
    const s = await status();
    expect(s.prepare).to.deep.equal(['stale', [{ code: 'input-changed', path: 'data/raw.txt' }]]);
    expect(s.side).to.deep.equal(['stale', [{ code: 'input-changed', path: 'data/raw.txt' }]]);
    expect(s.fit).to.deep.equal(['stale', [{ code: 'upstream-will-run', stages: ['prepare'] }]]);
  });

  it('upstream changed its outs (the upstream ran alone)', async () => {
    expect((await ws.run(['run', 'prepare'])).exitCode).to.equal(0);
    const s = await status();
    expect(s.prepare).to.deep.equal(['fresh', [{ code: 'up-to-date' }]]);
    expect(s.fit).to.deep.equal(['stale', [{ code: 'upstream-changed', stage: 'prepare' }]]);
    expect((await status('fit')).fit).to.deep.equal(['stale', [{ code: 'upstream-changed', stage: 'prepare' }]]);
    const only = await ws.run(['status', '--json', 'fit']);
    expect(only.json.stages.map((x: { name: string }) => x.name)).to.deep.equal(['fit']);
    ws.write('data/raw.txt', RAW);
    expect((await ws.run(['run'])).exitCode).to.equal(0);
  });

  it('outs missing in the workspace', async () => {
    ws.remove('build/side.txt');
    const s = await status();
    expect(s.side).to.deep.equal(['stale', [{ code: 'out-missing', path: 'build/side.txt' }, { code: 'restorable', from: 'run-cache' }]]);
    expect(s.report).to.deep.equal(['fresh', [{ code: 'up-to-date' }]]);
  });

  it('outs modified in the workspace', async () => {
    ws.write('build/side.txt', 'edited by hand\n');
    const s = await status();
    expect(s.side).to.deep.equal(['stale', [{ code: 'out-modified', path: 'build/side.txt' }, { code: 'restorable', from: 'run-cache' }]]);
    const r = await ws.run(['status']);
    expect(r.stdout).to.include('side      stale  out `build/side.txt` was modified in the workspace; restorable from the run-cache\n');
    expect(r.stdout).to.include('1 of 4 stages stale; `pipeline run` brings them up to date\n');
    expect(ws.read('build/side.txt')).to.equal('edited by hand\n');
  });
});
