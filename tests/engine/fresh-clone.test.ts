// A fresh clone: the committed pipeline.lock, no outs, an empty store. Plans must not promise restores whose objects
// are not in the store, and must tell "recorded in pipeline.lock but not in the store" apart from a corrupt object.
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { STAGE_SCRIPT, makeWorkspace, type Workspace } from '../helpers/workspace.js';

const YAML = `version: 1
stages:
  a:
    cmd: node stage.js build/a.txt data.txt
    deps: [stage.js, data.txt]
    outs: [build/a.txt]
  b:
    cmd: node stage.js build/b/out.txt build/a.txt
    deps: [stage.js]
    needs: [a]
    params: {value: b}
    outs: [build/b]
`;
const FILES = { 'stage.js': STAGE_SCRIPT, 'data.txt': 'x\n' };

type Step = { name: string; action?: string; state?: string; reasons: { code: string; recordedIn?: string }[] };

describe('engine: the truth on a fresh clone', function () {
  let origin: Workspace;
  let clone: Workspace;
  before(async () => {
    origin = makeWorkspace({ yaml: YAML, files: FILES });
    expect((await origin.run(['run'])).exitCode).to.equal(0);
    clone = makeWorkspace({ yaml: YAML, files: { ...FILES, 'pipeline.lock': origin.read('pipeline.lock') } });
  });
  after(() => {
    origin.cleanup();
    clone.cleanup();
  });

  it('the dry run promises no restore: every stage runs, because its outs are not in the store', async () => {
    const r = await clone.run(['run', '--dry-run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const stages = r.json.stages as Step[];
    expect(stages.map((s) => s.action)).to.deep.equal(['run', 'run']);
    for (const s of stages) expect(s.reasons.find((x) => x.code === 'not-in-store'), s.name).to.include({ recordedIn: 'lock' });
  });

  it('status says stale with the same reason, not fresh', async () => {
    const r = await clone.run(['status', '--json']);
    const stages = r.json.stages as Step[];
    expect(stages.map((s) => s.state)).to.deep.equal(['stale', 'stale']);
    expect(stages[0].reasons.map((x) => x.code)).to.include('not-in-store');
  });

  it('with the objects in the store, the same plan restores', async () => {
    origin.remove('build');
    const r = await origin.run(['run', '--dry-run', '--json']);
    expect((r.json.stages as Step[]).map((s) => s.action)).to.deep.equal(['restore', 'restore']);
  });

  it('a folder out whose file object is gone is not promised either; a restore that finds an object corrupt says so', async () => {
    const lock = origin.lock();
    const manifest = JSON.parse(readFileSync(origin.objectPath(lock.stages.b.outs[0].hash), 'utf8')) as { entries: { hash: string }[] };
    rmSync(origin.objectPath(manifest.entries[0].hash));
    let r = await origin.run(['run', '--dry-run', '--json']);
    let stages = r.json.stages as Step[];
    expect(stages.map((s) => s.action)).to.deep.equal(['restore', 'run']);
    expect(stages[1].reasons.map((x) => x.code)).to.include('not-in-store');
    const object = origin.objectPath(lock.stages.a.outs[0].hash);
    chmodSync(object, 0o644);
    writeFileSync(object, 'not the bytes\n');
    r = await origin.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    stages = r.json.stages as Step[];
    expect(stages[0].reasons.map((x) => x.code)).to.include('object-corrupt');
  });
});

describe('engine: a fresh clone names each lost out once', function () {
  const yaml = `version: 1
stages:
  two:
    cmd: node -e "require('node:fs').writeFileSync('x.txt', 'x'); require('node:fs').writeFileSync('y.txt', 'y')"
    outs: [x.txt, y.txt]
  after:
    cmd: node -e "require('node:fs').writeFileSync('z.txt', 'z' + require('node:fs').readFileSync('x.txt'))"
    needs: [two]
    outs: [z.txt]
`;
  let clone: Workspace;
  before(async () => {
    const origin = makeWorkspace({ yaml });
    expect((await origin.run(['run'])).exitCode).to.equal(0);
    clone = makeWorkspace({ yaml, files: { 'pipeline.lock': origin.read('pipeline.lock') } });
    origin.cleanup();
  });
  after(() => clone.cleanup());

  it('an out missing and not in the store reads "recorded in pipeline.lock but not in the store", not also "is missing"', async () => {
    const r = await clone.run(['run', '--dry-run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const stages = r.json.stages as { name: string; reasons: object[] }[];
    expect(stages.map((s) => [s.name, s.reasons])).to.deep.equal([
      [
        'two',
        [
          { code: 'not-in-store', path: 'x.txt', recordedIn: 'lock', message: 'out `x.txt` is recorded in pipeline.lock but not in the store' },
          { code: 'not-in-store', path: 'y.txt', recordedIn: 'lock', message: 'out `y.txt` is recorded in pipeline.lock but not in the store' },
        ],
      ],
      [
        'after',
        [
          { code: 'not-in-store', path: 'z.txt', recordedIn: 'lock', message: 'out `z.txt` is recorded in pipeline.lock but not in the store' },
          { code: 'upstream-will-run', stages: ['two'], message: 'upstream `two` will run; runs if its outs change' },
        ],
      ],
    ]);
    const status = await clone.run(['status']);
    expect(status.exitCode, status.stderr).to.equal(0);
    expect(status.stdout).to.not.include('is missing');
    for (const out of ['x.txt', 'y.txt', 'z.txt']) {
      expect(status.stdout.split(`out \`${out}\` is recorded in pipeline.lock but not in the store`).length - 1, `${out} in\n${status.stdout}`).to.equal(1);
    }
    const run = await clone.run(['run']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stdout + run.stderr).to.not.include('is missing');
    expect(run.stdout).to.match(/^after +ran .*out `z\.txt` is recorded in pipeline\.lock but not in the store$/m);
  });
});
