// The store: a corrupted object is detected on restore (the stage re-runs), `cache verify [--repair]`, `gc`
// keeping the last N runs, a cache shared between workspaces, and outs that would write outside the workspace.
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { STAGE_SCRIPT, executions, makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { CHAIN_YAML, chainWorkspace, outcomes, RAW, reasonCodes, reasonFields, statuses } from './fixtures.js';

function flipByte(file: string): void {
  const bytes = readFileSync(file);
  bytes[0] ^= 0x01;
  writeFileSync(file, bytes);
}

describe('engine: corrupted cache objects', function () {
  let ws: Workspace;
  before(() => {
    ws = chainWorkspace();
  });
  after(() => ws.cleanup());

  it('a corrupted object is detected on restore: the stage re-runs and writes the right output', async () => {
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    const model10 = ws.lock().stages.fit.outs[0].hash as string;
    expect((await ws.run(['run', '--set', 'fit.value=11'])).exitCode).to.equal(0);
    flipByte(ws.objectPath(model10));
    const n = executions(ws).length;
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'cached', fit: 'ran', side: 'cached', report: 'cached' });
    expect(reasonCodes(r.json).fit).to.deep.equal(['param-changed', 'restorable', 'object-corrupt']);
    expect(outcomes(r.json).fit).to.equal('ran');
    expect(executions(ws).slice(n)).to.deep.equal(['fit']);
    expect(ws.read('build/model.txt')).to.equal(`10\n1\n${RAW}`);
    expect(ws.read('build/report.txt')).to.equal(`10\n1\n${RAW}${RAW}`);
    // The re-run stored the object again, intact.
    expect(readFileSync(ws.objectPath(model10), 'utf8')).to.equal(`10\n1\n${RAW}`);
    const v = await ws.run(['cache', 'verify']);
    expect(v.exitCode, v.stdout).to.equal(0);
  });

  it('`cache verify` reports a corrupt object and the run records it breaks (exit 1); --repair removes them', async () => {
    const side = ws.lock().stages.side;
    const hash = side.outs[0].hash as string;
    flipByte(ws.objectPath(hash));
    const v = await ws.run(['cache', 'verify']);
    expect(v.exitCode).to.equal(1);
    const lines = v.stdout.split('\n');
    expect(lines[0]).to.equal(`corrupt object ${hash}`);
    expect(lines[1]).to.equal(`dangling run record ${side.fingerprint.slice(0, 12)} of \`side\`: missing build/side.txt`);
    expect(lines[2]).to.match(/^\d+ objects, \d+ run records: 1 corrupt, 1 dangling$/);
    expect(lines[3]).to.equal('hint: `pipeline cache verify --repair` removes them; affected stages re-run');
    const json = await ws.run(['cache', 'verify', '--json']);
    expect(json.exitCode).to.equal(1);
    expect(json.json).to.deep.include({ ok: false, corrupt: [hash] });

    const repair = await ws.run(['cache', 'verify', '--repair']);
    expect(repair.exitCode).to.equal(1);
    expect(repair.stdout).to.include(`corrupt object ${hash} (removed)\n`);
    expect(existsSync(ws.objectPath(hash))).to.equal(false);
    const after = await ws.run(['cache', 'verify']);
    expect(after.exitCode, after.stdout).to.equal(0);
    expect(after.stdout).to.match(/^\d+ objects, \d+ run records: all verified\n$/);

    // The workspace copy is fine and stays fresh; once it is gone, the stage must run again.
    ws.remove('build/side.txt');
    const n = executions(ws).length;
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json).side).to.equal('ran');
    expect(executions(ws).slice(n)).to.deep.equal(['side']);
    expect(ws.read('build/side.txt')).to.equal(RAW);
  });
});

describe('engine: gc', function () {
  let ws: Workspace;
  before(() => {
    ws = chainWorkspace();
  });
  after(() => ws.cleanup());

  it('--keep-runs 1 removes the objects of older runs, keeps the current ones; restore still works', async () => {
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    const old = ws.lock().stages;
    expect((await ws.run(['run', '--set', 'fit.value=11'])).exitCode).to.equal(0);
    const cur = ws.lock().stages;
    const objectsBefore = ws.cacheObjects().length;

    const dry = await ws.run(['gc', '--keep-runs', '1', '--max-age', '0', '--dry-run']);
    expect(dry.exitCode, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/^would remove 2 objects \(0\.0 MiB\) and 2 run records; kept \d+ objects of 4 fingerprints \(pipeline\.lock and the last 1 runs\)\n$/);
    expect(ws.cacheObjects().length).to.equal(objectsBefore);

    const r = await ws.run(['gc', '--keep-runs', '1', '--max-age', '0']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^removed 2 objects \(0\.0 MiB\) and 2 run records; kept \d+ objects of 4 fingerprints/);
    expect(ws.cacheObjects().length).to.equal(objectsBefore - 2);
    for (const s of ['fit', 'report']) {
      expect(existsSync(ws.objectPath(old[s].outs[0].hash)), `old ${s}`).to.equal(false);
      expect(existsSync(ws.objectPath(cur[s].outs[0].hash)), `current ${s}`).to.equal(true);
    }
    for (const s of ['prepare', 'side']) expect(existsSync(ws.objectPath(cur[s].outs[0].hash)), s).to.equal(true);
    expect((await ws.run(['cache', 'verify'])).exitCode).to.equal(0);

    // The current outputs still restore without executing.
    const model = ws.read('build/model.txt');
    ws.remove('build');
    const n = executions(ws).length;
    const again = await ws.run(['run', '--json', '--set', 'fit.value=11']);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(statuses(again.json)).to.deep.equal({ prepare: 'cached', fit: 'cached', side: 'cached', report: 'cached' });
    expect(executions(ws).slice(n)).to.deep.equal([]);
    expect(ws.read('build/model.txt')).to.equal(model);

    // The old state is gone from the store: going back executes.
    const back = await ws.run(['run', '--json']);
    expect(statuses(back.json)).to.deep.equal({ prepare: 'cached', fit: 'ran', side: 'cached', report: 'ran' });
    expect(executions(ws).slice(n).sort()).to.deep.equal(['fit', 'report']);
  });
});

describe('engine: a cache shared between workspaces (PIPELINE_CACHE_DIR)', function () {
  const spaces: Workspace[] = [];
  after(() => spaces.forEach((w) => w.cleanup()));

  it('a second workspace restores everything without executing', async () => {
    const first = chainWorkspace();
    spaces.push(first);
    expect((await first.run(['run'])).exitCode).to.equal(0);
    const second = makeWorkspace({
      yaml: CHAIN_YAML,
      files: { 'stage.js': STAGE_SCRIPT, 'fit.js': STAGE_SCRIPT, 'data/raw.txt': RAW },
      cacheDir: first.cacheDir,
    });
    spaces.push(second);
    const r = await second.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'cached', fit: 'cached', side: 'cached', report: 'cached' });
    expect(reasonFields(r.json).fit).to.deep.equal([{ code: 'never-run' }, { code: 'restorable', from: 'run-cache' }]);
    expect(outcomes(r.json).fit).to.equal('restored');
    expect(executions(second)).to.deep.equal([]);
    expect(second.snapshot('build')).to.deep.equal(first.snapshot('build'));
    expect(second.lock().stages).to.deep.equal(first.lock().stages);
    expect(existsSync(second.path('.pipeline/cache'))).to.equal(false);
  });
});

describe('engine: outs that lead outside the workspace', function () {
  let ws: Workspace;
  let outside: string;
  before(() => {
    ws = makeWorkspace({
      yaml: `version: 1
stages:
  linked:
    cmd: node stage.js build/link.txt
    outs: [build/link.txt]
    params: {value: x}
  via_dir:
    cmd: node stage.js out/x.txt
    outs: [out/x.txt]
    params: {value: y}
`,
      files: { 'stage.js': STAGE_SCRIPT },
    });
    outside = path.join(ws.base, 'outside');
    mkdirSync(path.join(outside, 'dir'), { recursive: true });
    writeFileSync(path.join(outside, 'precious.txt'), 'precious\n');
    mkdirSync(ws.path('build'));
    symlinkSync(path.join(outside, 'precious.txt'), ws.path('build/link.txt'));
    symlinkSync(path.join(outside, 'dir'), ws.path('out'));
  });
  after(() => ws.cleanup());

  it('an out that is a symlink to a file outside: refused before anything runs, exit 2, nothing written', async () => {
    const before = { ws: ws.userSnapshot(), outside: ws.snapshot('../outside') };
    const r = await ws.run(['run', 'linked']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.equal(
      `error: pipeline.yaml:5:12: stage \`linked\`: out \`build/link.txt\` is a symlink (to ${path.join(outside, 'precious.txt')})\n` +
        'hint: outs must be regular files or folders inside the workspace: remove the symlink\n',
    );
    expect(ws.snapshot('../outside')).to.deep.equal(before.outside);
    expect(ws.lines('started.log')).to.deep.equal([]);
    expect(ws.userSnapshot(), 'workspace').to.deep.equal(before.ws);
    expect(ws.exists('pipeline.lock')).to.equal(false);
  });

  it('an out below a symlinked folder that leads outside: refused, exit 2, nothing written outside', async () => {
    const before = ws.snapshot('../outside');
    const r = await ws.run(['run', 'via_dir']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.include(`error: pipeline.yaml:9:12: stage \`via_dir\`: out \`out/x.txt\` resolves outside the workspace (to ${path.join(outside, 'dir')})\n`);
    expect(ws.snapshot('../outside')).to.deep.equal(before);
    expect(ws.lines('started.log')).to.deep.equal([]);
  });
});
