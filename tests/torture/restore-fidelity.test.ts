// What a restore keeps and what a failed run gives back: executable bits and empty folders of folder outs (and
// the executable bit of a file out) survive a restore from pipeline.lock and from the run-cache; a failing re-run
// whose store copy of the current out is corrupt (truncated, overwritten, one file of a folder) replaces the
// corrupt object from the intact workspace bytes before clearing, and puts the out back; a symlink inside a
// folder out fails the stage, naming it.
import { expect } from 'chai';
import { cpSync, lstatSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, objectPath, objectsOf, readLock, repoRoot, runCli, runJson, sha256, snapshotDir } from '../helpers/workspace.js';

const tree = path.join(repoRoot, 'tests', 'torture', 'fixtures', 'tree.mjs');
const YAML = `version: 1
params: {tag: v1, fail: false}
stages:
  d:
    cmd: [node, tools/tree.mjs, --dir, build/d]
    outs: [build/d]
  f:
    cmd: [node, tools/tree.mjs, --file, build/f.sh, --x]
    outs: [build/f.sh]
`;

function setup(prefix: string, yaml = YAML) {
  const ws = writerWorkspace(prefix, yaml);
  cpSync(tree, path.join(ws, 'tools', 'tree.mjs'));
  return ws;
}

/** Entries with modes and content, without mtimes (a restore writes new files). */
const shape = (dir: string) => Object.entries(snapshotDir(dir, { meta: true })).map(([k, v]) => `${k} ${v.replace(/ [0-9.]+$/, '')}`);

describe('torture: what a restore keeps, what a failed run gives back', function () {
  after(cleanupAll);

  it('executable bits, empty folders and nested files come back from pipeline.lock and from the run-cache', async function () {
    const ws = setup('rf-modes');
    expect((await runCli(ws, ['run'])).exitCode).to.equal(0);
    const want = shape(path.join(ws, 'build'));
    expect(want.join('\n')).to.include('d/empty dir').and.include('d/sub/also-empty/inner dir').and.include('d/run.sh file 755');
    expect(want.join('\n')).to.include('f.sh file 755');

    // From pipeline.lock: the whole build folder deleted.
    rmSync(path.join(ws, 'build'), { recursive: true });
    let r = await runJson(ws);
    expect(r.statuses, r.stderr).to.deep.equal({ d: 'cached', f: 'cached' });
    expect(shape(path.join(ws, 'build'))).to.deep.equal(want);

    // From the run-cache: another tag, then back.
    expect((await runJson(ws, ['--set', 'tag=v2'])).statuses.d).to.equal('ran');
    r = await runJson(ws, ['--set', 'tag=v1']);
    expect(r.statuses.d).to.equal('cached');
    expect(shape(path.join(ws, 'build'))).to.deep.equal(want);

    // An empty folder removed, or an executable bit dropped, is a change of the out: restored.
    rmSync(path.join(ws, 'build', 'd', 'empty'), { recursive: true });
    r = await runJson(ws);
    expect(r.statuses.d).to.equal('cached');
    expect(shape(path.join(ws, 'build'))).to.deep.equal(want);
    expect((await runCli(ws, ['cache', 'verify'])).exitCode).to.equal(0);
  });

  const damage: [string, (file: string) => void, (ws: string) => string][] = [
    ['truncated', (f) => truncateSync(f, 1), (ws) => readLock(ws).stages.d.outs[0].hash],
    ['overwritten with other bytes of the same size', (f) => writeFileSync(f, 'x'.repeat(lstatSync(f).size)), (ws) => readLock(ws).stages.d.outs[0].hash],
    ['one file of the folder emptied', (f) => writeFileSync(f, ''), (ws) => objectsOf(ws, readLock(ws).stages.d.outs[0])[1]],
    ['one file of the folder replaced by a symlink', (f) => {
      rmSync(f);
      symlinkSync('/etc/hostname', f);
    }, (ws) => objectsOf(ws, readLock(ws).stages.d.outs[0])[2]],
  ];
  for (const [what, corrupt, pick] of damage) {
    it(`a failing re-run when the store copy of the current out is ${what}: the intact out comes back, the object is repaired`, async function () {
      const ws = setup('rf-corrupt');
      expect((await runCli(ws, ['run'])).exitCode).to.equal(0);
      const want = shape(path.join(ws, 'build', 'd'));
      const h = pick(ws);
      corrupt(objectPath(ws, h));
      const r = await runJson(ws, ['--set', 'fail=true', '--set', 'tag=v9']);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
      expect(r.statuses.d).to.equal('failed');
      expect(shape(path.join(ws, 'build', 'd')), 'the previous out is back, bytes and modes').to.deep.equal(want);
      expect(lstatSync(objectPath(ws, h)).isFile()).to.equal(true);
      expect(sha256(readFileSync(objectPath(ws, h))), 'the corrupt object was replaced').to.equal(h);
      expect((await runCli(ws, ['cache', 'verify'])).exitCode).to.equal(0);
    });
  }

  for (const what of ['to a file outside', 'to a file inside the folder']) {
    it(`a symlink ${what} inside a folder out fails the stage naming it; nothing is recorded`, async function () {
      const ws = setup('rf-symlink', `version: 1\nstages:\n  d:\n    cmd: node tools/tree.mjs --dir build/d && node -e "require('fs').symlinkSync('${what.includes('outside') ? '/etc/hostname' : 'a.txt'}', 'build/d/link')"\n    shell: true\n    outs: [build/d]\n`);
      const r = await runJson(ws);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
      expect(r.stdout + r.stderr).to.include('out `build/d/link` is a symlink');
      expect(readLock(ws).stages).to.deep.equal({});
    });
  }
});
