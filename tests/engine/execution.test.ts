// Which stages execute after each kind of change, through the real CLI: `run --json` statuses and reasons,
// early cutoff, and the run-cache restoring a state seen before without executing anything.
import { expect } from 'chai';
import { executions, type Workspace } from '../helpers/workspace.js';
import { chainWorkspace, outcomes, RAW, reasonFields, started, statuses } from './fixtures.js';

describe('engine: what runs after each change', function () {
  let ws: Workspace;

  before(() => {
    ws = chainWorkspace();
  });
  after(() => ws.cleanup());

  const run = async (...args: string[]) => {
    const r = await ws.run(['run', '--json', ...args]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.json.ok).to.equal(true);
    expect(r.json.exitCode).to.equal(0);
    return r.json;
  };
  /** Executions since the given count of runs.log lines. */
  const since = (n: number) => executions(ws).slice(n);

  it('first run executes every stage, reason "never run", outputs as written by the commands', async () => {
    const json = await run();
    expect(json.stages.map((s: { name: string }) => s.name)).to.deep.equal(['prepare', 'fit', 'side', 'report']);
    expect(statuses(json)).to.deep.equal({ prepare: 'ran', fit: 'ran', side: 'ran', report: 'ran' });
    expect(reasonFields(json)).to.deep.equal({ prepare: [{ code: 'never-run' }], fit: [{ code: 'never-run' }], side: [{ code: 'never-run' }], report: [{ code: 'never-run' }] });
    for (const s of json.stages) {
      expect(s.fingerprint).to.match(/^[0-9a-f]{64}$/);
      expect(s.durationMs).to.be.a('number');
    }
    expect(executions(ws).sort()).to.deep.equal(['fit', 'prepare', 'report', 'side']);
    expect(ws.read('build/clean.txt')).to.equal(`1\n${RAW}`);
    expect(ws.read('build/model.txt')).to.equal(`10\n1\n${RAW}`);
    expect(ws.read('build/side.txt')).to.equal(RAW);
    expect(ws.read('build/report.txt')).to.equal(`10\n1\n${RAW}${RAW}`);
    const lock = ws.lock();
    expect(Object.keys(lock.stages)).to.deep.equal(['prepare', 'fit', 'side', 'report']);
    expect(lock.stages.fit.fingerprint).to.equal(json.stages[1].fingerprint);
    expect(lock.stages.fit.definition.params).to.deep.equal({ seed: 42, alpha: 0.1, value: 10 });
    expect(lock.stages.fit.outs[0]).to.include({ path: 'build/model.txt', type: 'file', size: 13 });
  });

  it('a no-op run executes nothing: every stage cached, "up to date"', async () => {
    const n = executions(ws).length;
    const json = await run();
    expect(statuses(json)).to.deep.equal({ prepare: 'cached', fit: 'cached', side: 'cached', report: 'cached' });
    expect(reasonFields(json)).to.deep.equal({ prepare: [{ code: 'up-to-date' }], fit: [{ code: 'up-to-date' }], side: [{ code: 'up-to-date' }], report: [{ code: 'up-to-date' }] });
    expect(since(n)).to.deep.equal([]);
  });

  it('a param change that leaves the outs identical re-runs that stage only (early cutoff)', async () => {
    const n = executions(ws).length;
    const json = await run('--set', 'fit.alpha=0.2');
    expect(statuses(json)).to.deep.equal({ prepare: 'cached', fit: 'ran', side: 'cached', report: 'cached' });
    expect(reasonFields(json).fit).to.deep.equal([{ code: 'param-changed', name: 'alpha', from: 0.1, to: 0.2 }]);
    expect(reasonFields(json).report).to.deep.equal([{ code: 'up-to-date' }]);
    expect(since(n)).to.deep.equal(['fit']);
    expect(ws.lock().stages.fit.definition.params.alpha).to.equal(0.2);
  });

  it('flipping the param back restores from the run-cache without executing', async () => {
    const n = executions(ws).length;
    const json = await run();
    expect(statuses(json)).to.deep.equal({ prepare: 'cached', fit: 'cached', side: 'cached', report: 'cached' });
    expect(reasonFields(json).fit).to.deep.equal([{ code: 'param-changed', name: 'alpha', from: 0.2, to: 0.1 }, { code: 'seen-before' }]);
    expect(since(n)).to.deep.equal([]);
    expect(ws.lock().stages.fit.definition.params.alpha).to.equal(0.1);
  });

  it('a param change that changes the outs re-runs the stage and everything reading them', async () => {
    const n = executions(ws).length;
    const json = await run('--set', 'fit.value=11');
    expect(statuses(json)).to.deep.equal({ prepare: 'cached', fit: 'ran', side: 'cached', report: 'ran' });
    expect(reasonFields(json)).to.deep.include({ fit: [{ code: 'param-changed', name: 'value', from: 10, to: 11 }], report: [{ code: 'upstream-changed', stage: 'fit' }] });
    expect(since(n).sort()).to.deep.equal(['fit', 'report']);
    expect(ws.read('build/report.txt')).to.equal(`11\n1\n${RAW}${RAW}`);
  });

  it('a param flip 10 → 11 → 10 restores byte-identical outs and executes nothing', async () => {
    const n = executions(ws).length;
    const json = await run();
    expect(statuses(json)).to.deep.equal({ prepare: 'cached', fit: 'cached', side: 'cached', report: 'cached' });
    expect(reasonFields(json)).to.deep.equal({ prepare: [{ code: 'up-to-date' }], fit: [{ code: 'param-changed', name: 'value', from: 11, to: 10 }, { code: 'restorable', from: 'run-cache' }], side: [{ code: 'up-to-date' }], report: [{ code: 'upstream-changed', stage: 'fit' }, { code: 'restorable', from: 'run-cache' }] });
    expect(outcomes(json).fit).to.equal('restored');
    expect(outcomes(json).report).to.equal('restored');
    expect(since(n)).to.deep.equal([]);
    expect(ws.read('build/model.txt')).to.equal(`10\n1\n${RAW}`);
    expect(ws.read('build/report.txt')).to.equal(`10\n1\n${RAW}${RAW}`);
  });

  it('a code change (the dep script) re-runs that stage; same outs → downstream stays cached', async () => {
    const n = executions(ws).length;
    ws.write('fit.js', `${ws.read('fit.js')}// a comment\n`);
    const json = await run();
    expect(statuses(json)).to.deep.equal({ prepare: 'cached', fit: 'ran', side: 'cached', report: 'cached' });
    expect(reasonFields(json).fit).to.deep.equal([{ code: 'input-changed', path: 'fit.js' }]);
    expect(since(n)).to.deep.equal(['fit']);
  });

  it('a data dep change re-runs the stages reading it and, through changed outs, their downstream', async () => {
    const n = executions(ws).length;
    ws.write('data/raw.txt', 'a,b\n3,4\n');
    const json = await run();
    expect(statuses(json)).to.deep.equal({ prepare: 'ran', fit: 'ran', side: 'ran', report: 'ran' });
    expect(reasonFields(json)).to.deep.equal({ prepare: [{ code: 'input-changed', path: 'data/raw.txt' }], fit: [{ code: 'upstream-changed', stage: 'prepare' }], side: [{ code: 'input-changed', path: 'data/raw.txt' }], report: [{ code: 'upstream-changed', stage: 'fit' }, { code: 'upstream-changed', stage: 'side' }] });
    expect(since(n).sort()).to.deep.equal(['fit', 'prepare', 'report', 'side']);
    expect(ws.read('build/report.txt')).to.equal('10\n1\na,b\n3,4\na,b\n3,4\n');
  });

  it('an upstream that re-runs with byte-identical outs leaves its downstream cached (early cutoff)', async () => {
    const n = executions(ws).length;
    const json = await run('--force', '--downstream', 'prepare');
    expect(statuses(json)).to.deep.equal({ prepare: 'ran', fit: 'cached', side: 'skipped', report: 'cached' });
    expect(reasonFields(json).side).to.deep.equal([{ code: 'not-selected' }]);
    expect(reasonFields(json).prepare).to.deep.equal([{ code: 'forced' }]);
    expect(reasonFields(json).fit).to.deep.equal([{ code: 'up-to-date' }]);
    expect(since(n)).to.deep.equal(['prepare']);
  });

  it('a modified out in the workspace is put back from the store without executing', async () => {
    const n = executions(ws).length;
    const before = ws.read('build/model.txt');
    ws.write('build/model.txt', 'tampered\n');
    const json = await run();
    expect(statuses(json).fit).to.equal('cached');
    expect(reasonFields(json).fit).to.deep.equal([{ code: 'out-modified', path: 'build/model.txt' }, { code: 'restorable', from: 'run-cache' }]);
    expect(outcomes(json).fit).to.equal('restored');
    expect(statuses(json).report).to.equal('cached');
    expect(reasonFields(json).report).to.deep.equal([{ code: 'up-to-date' }]);
    expect(ws.read('build/model.txt')).to.equal(before);
    expect(since(n)).to.deep.equal([]);
    expect(started(ws).length).to.equal(executions(ws).length);
  });
});
