// Choosing what runs: --single, --downstream, --force, and --dry-run (prints the plan, writes nothing).
import { expect } from 'chai';
import { executions, type Workspace } from '../helpers/workspace.js';
import { RAW, chainWorkspace, reasonData, reasonFields, statuses, type ReasonJson } from './fixtures.js';

describe('engine: --single, --downstream, --force', function () {
  let ws: Workspace;
  before(() => {
    ws = chainWorkspace();
  });
  after(() => ws.cleanup());

  it('--single with a missing upstream out that is not in the cache: exit 2 and what to do', async () => {
    const r = await ws.run(['run', 'fit', '--single']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.equal(
      'error: stage `fit` needs `build/clean.txt` (an out of `prepare`, which is not selected), but it is missing and not in the cache\n' +
        'hint: run `pipeline run prepare` first, or select it too (drop --single)\n',
    );
    expect(executions(ws)).to.deep.equal([]);
    expect(ws.exists('build/model.txt')).to.equal(false);
  });

  it('--single and --downstream need a stage name; together they are refused', async () => {
    for (const [args, message] of [
      [['--single'], 'error: --single needs at least one stage name\n'],
      [['--downstream'], 'error: --downstream needs at least one stage name\n'],
      [['fit', '--single', '--downstream'], 'error: --single and --downstream cannot be combined\n'],
    ] as const) {
      const r = await ws.run(['run', ...args]);
      expect(r.exitCode, args.join(' ')).to.equal(2);
      expect(r.stderr).to.match(new RegExp(`^${message.replace(/[-[\]]/g, '\\$&')}hint: `));
    }
  });

  it('a plain run of a named stage runs it and what it needs, nothing after it', async () => {
    const r = await ws.run(['run', 'fit', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'ran', fit: 'ran', side: 'skipped', report: 'skipped' });
    expect(executions(ws)).to.deep.equal(['prepare', 'fit']);
    expect(r.stderr).to.match(/^4 stages: 2 ran, 0 cached, 0 failed, 0 blocked, 2 skipped \(/m);
  });

  it('--single restores a missing upstream out from the cache and runs only the named stage', async () => {
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    const n = executions(ws).length;
    const clean = ws.read('build/clean.txt');
    ws.remove('build/clean.txt');
    const r = await ws.run(['run', 'fit', '--single', '--force', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'skipped', fit: 'ran', side: 'skipped', report: 'skipped' });
    expect(reasonFields(r.json).fit).to.deep.equal([{ code: 'forced' }]);
    expect(executions(ws).slice(n)).to.deep.equal(['fit']);
    expect(ws.read('build/clean.txt')).to.equal(clean);
  });

  it('--single of a fresh stage whose upstream out is gone: restored, nothing executes', async () => {
    const n = executions(ws).length;
    const model = ws.read('build/model.txt');
    ws.remove('build/model.txt');
    const r = await ws.run(['run', 'report', '--single', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'skipped', fit: 'skipped', side: 'skipped', report: 'cached' });
    expect(reasonFields(r.json).report).to.deep.equal([{ code: 'up-to-date' }]);
    expect(ws.read('build/model.txt')).to.equal(model);
    expect(executions(ws).slice(n)).to.deep.equal([]);
  });

  it('--downstream runs the named stage and everything after it, not what comes before', async () => {
    const n = executions(ws).length;
    const r = await ws.run(['run', 'fit', '--downstream', '--set', 'fit.value=12', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'skipped', fit: 'ran', side: 'skipped', report: 'ran' });
    expect(reasonFields(r.json)).to.deep.equal({ prepare: [{ code: 'not-selected' }], fit: [{ code: 'param-changed', name: 'value', from: 10, to: 12 }], side: [{ code: 'not-selected' }], report: [{ code: 'upstream-changed', stage: 'fit' }] });
    expect(executions(ws).slice(n).sort()).to.deep.equal(['fit', 'report']);
    expect(ws.read('build/report.txt')).to.equal(`12\n1\n${RAW}${RAW}`);
  });

  it('--force re-executes every selected stage when none is named', async () => {
    const n = executions(ws).length;
    const r = await ws.run(['run', '--force', '--set', 'fit.value=12', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'ran', fit: 'ran', side: 'ran', report: 'ran' });
    expect(reasonFields(r.json)).to.deep.equal({ prepare: [{ code: 'forced' }], fit: [{ code: 'forced' }], side: [{ code: 'forced' }], report: [{ code: 'forced' }] });
    expect(executions(ws).slice(n).sort()).to.deep.equal(['fit', 'prepare', 'report', 'side']);
  });
});

describe('engine: --dry-run prints the plan and writes nothing', function () {
  let ws: Workspace;
  before(() => {
    ws = chainWorkspace();
  });
  after(() => ws.cleanup());

  const unchanged = async (args: string[]) => {
    const before = { ws: ws.snapshot(), cache: ws.cacheSnapshot() };
    const r = await ws.run(args);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.snapshot(), 'workspace').to.deep.equal(before.ws);
    expect(ws.cacheSnapshot(), 'cache').to.deep.equal(before.cache);
    return r;
  };

  it('never run: every stage to run, why, and no .pipeline/, cache or lock created', async () => {
    const r = await unchanged(['run', '--dry-run']);
    expect(r.stdout).to.equal(
      [
        'prepare   run      never run',
        'fit       run      never run; upstream `prepare` will run; runs if its outs change',
        'side      run      never run',
        'report    run      never run; upstreams `fit`, `side` will run; runs if their outs change',
        'dry run: 4 to run, 0 maybe, 0 to restore, 0 fresh; nothing was executed or written',
        '',
      ].join('\n'),
    );
    expect(ws.exists('.pipeline')).to.equal(false);
    expect(ws.exists('pipeline.lock')).to.equal(false);
    expect(ws.cacheSnapshot()).to.deep.equal({});
    expect(executions(ws)).to.deep.equal([]);
  });

  it('after changes: run / maybe / restore / fresh with reasons; workspace and cache byte-identical', async () => {
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    expect((await ws.run(['run', '--set', 'fit.value=11'])).exitCode).to.equal(0);
    const n = executions(ws).length;
    ws.write('data/raw.txt', 'a,b\n5,6\n');
    ws.remove('build/report.txt');
    let r = await unchanged(['run', '--dry-run', '--set', 'fit.alpha=0.3']);
    expect(r.stdout).to.equal(
      [
        'prepare   run      changed input `data/raw.txt`',
        'fit       run      changed param `alpha` (0.1 → 0.3); changed param `value` (11 → 10); upstream `prepare` will run; runs if its outs change',
        'side      run      changed input `data/raw.txt`',
        'report    maybe    upstreams `fit`, `side` will run; runs if their outs change',
        'dry run: 3 to run, 1 maybe, 0 to restore, 0 fresh; nothing was executed or written',
        '',
      ].join('\n'),
    );
    ws.write('data/raw.txt', RAW);
    r = await unchanged(['run', '--dry-run', '--set', 'fit.value=11']);
    expect(r.stdout).to.equal(
      [
        'prepare   fresh    up to date',
        'fit       fresh    up to date',
        'side      fresh    up to date',
        'report    restore  out `build/report.txt` is missing; restorable from the run-cache',
        'dry run: 0 to run, 0 maybe, 1 to restore, 3 fresh; nothing was executed or written',
        '',
      ].join('\n'),
    );
    r = await unchanged(['run', '--dry-run', '--json', 'fit']);
    expect(r.json.dryRun).to.equal(true);
    expect(r.json.schemaVersion).to.equal(1);
    expect(r.json.stages.map((s: { name: string; action: string; reasons: ReasonJson[] }) => [s.name, s.action, s.reasons.map(reasonData)])).to.deep.equal([
      ['prepare', 'fresh', [{ code: 'up-to-date' }]],
      ['fit', 'restore', [{ code: 'param-changed', name: 'value', from: 11, to: 10 }, { code: 'restorable', from: 'run-cache' }]],
    ]);
    expect(executions(ws).slice(n)).to.deep.equal([]);
  });

  it('an edited pipeline.yaml is checked but its parsed form is not kept (.pipeline/state unchanged)', async () => {
    const text = ws.read('pipeline.yaml');
    ws.write('pipeline.yaml', `${text}# edited\n`);
    try {
      const r = await unchanged(['run', '--dry-run']);
      expect(r.stdout).to.match(/\ndry run: .*; nothing was executed or written\n$/);
    } finally {
      ws.write('pipeline.yaml', text);
    }
  });
});
