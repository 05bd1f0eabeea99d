// The store and pipeline.lock are untrusted input: a forged folder manifest (`..`, absolute paths, duplicates, a
// file that is also a folder, unnormalised paths), a run record or lock entry listing outs the stage does not
// declare (pipeline.yaml, .git/hooks/pre-commit, …) or missing declared ones, and an out whose folder is a symlink
// inside the workspace. Each is refused with a message, the stage runs instead, nothing outside the declared outs
// is written, and `cache verify` reports the forged manifests and lock entries.
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, diffSnapshots, objectPath, readLock, repoRoot, runCli, runJson, sha256, snapshotDir, tempDir } from '../helpers/workspace.js';

const tree = path.join(repoRoot, 'tests', 'torture', 'fixtures', 'tree.mjs');
const YAML = `version: 1
stages:
  d:
    cmd: [node, tools/tree.mjs, --dir, build/d]
    outs: [build/d]
  f:
    cmd: [node, tools/tree.mjs, --file, build/f.txt]
    outs: [build/f.txt]
`;

function setup(prefix: string) {
  const ws = writerWorkspace(prefix, YAML);
  cpSync(tree, path.join(ws, 'tools', 'tree.mjs'));
  mkdirSync(path.join(ws, '.git', 'hooks'), { recursive: true });
  writeFileSync(path.join(ws, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nexit 0\n');
  return ws;
}

function runRecordPath(ws: string, fp: string): string {
  return path.join(ws, '.pipeline', 'cache', 'runs', fp.slice(0, 2), `${fp.slice(2)}.json`);
}

/** Replace the outs of a stage in both pipeline.lock and its run record. */
function forgeOuts(ws: string, stage: string, edit: (outs: Record<string, unknown>[]) => unknown[]) {
  const lock = JSON.parse(readFileSync(path.join(ws, 'pipeline.lock'), 'utf8'));
  const entry = lock.stages[stage];
  entry.outs = edit(structuredClone(entry.outs));
  writeFileSync(path.join(ws, 'pipeline.lock'), JSON.stringify(lock, null, 2));
  const file = runRecordPath(ws, entry.fingerprint);
  const record = JSON.parse(readFileSync(file, 'utf8'));
  record.outs = entry.outs;
  writeFileSync(file, JSON.stringify(record));
}

/** Store `text` as an object (as an attacker with write access to the store would) and return its hash. */
function plantObject(ws: string, text: string): string {
  const h = sha256(text);
  mkdirSync(path.dirname(objectPath(ws, h)), { recursive: true });
  writeFileSync(objectPath(ws, h), text);
  return h;
}

function manifest(entries: { path: string; hash: string; size: number }[]): string {
  return JSON.stringify({ entries: entries.map((e) => ({ hash: e.hash, path: e.path, size: e.size })), type: 'dir' });
}

describe('torture: the store and pipeline.lock are untrusted', function () {
  after(cleanupAll);

  const payload = 'owned\n';
  const forgedManifests: [string, (outside: string) => string[]][] = [
    ['`../` climbing out of the folder', () => ['../../../escape.txt']],
    ['an absolute path', (outside) => [path.join(outside, 'abs.txt')]],
    ['`..` in the middle', () => ['x/../../../escape.txt']],
    ['`.` segment', () => ['./a.txt']],
    ['an empty segment', () => ['sub//a.txt']],
    ['the same path twice', () => ['a.txt', 'a.txt']],
    ['a file that is also a folder', () => ['a', 'a/b.txt']],
    ['a path named like an engine temp file', () => ['.x.123.deadbeef.tmp']],
  ];
  for (const [what, paths] of forgedManifests) {
    it(`a folder manifest with ${what}: cache verify reports it, the run refuses it and runs the stage, nothing written outside`, async function () {
      const ws = setup('us-manifest');
      const outside = tempDir('us-outside');
      writeFileSync(path.join(outside, 'keep.txt'), 'keep\n');
      expect((await runCli(ws, ['run'])).exitCode).to.equal(0);
      const good = readFileSync(path.join(ws, 'build', 'd', 'a.txt'), 'utf8');
      const obj = plantObject(ws, payload);
      const forged = plantObject(ws, manifest(paths(outside).map((p) => ({ path: p, hash: obj, size: payload.length }))));
      forgeOuts(ws, 'd', (outs) => outs.map((o) => ({ ...o, hash: forged })));
      rmSync(path.join(ws, 'build', 'd'), { recursive: true });
      const before = snapshotDir(outside, { meta: true });

      const verify = await runCli(ws, ['cache', 'verify']);
      expect(verify.exitCode, verify.stdout).to.equal(1);
      expect(verify.stdout).to.match(/unsafe run record [0-9a-f]{12} of `d`: folder out `build\/d`: manifest/);

      const r = await runJson(ws);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
      expect(r.statuses.d).to.equal('ran');
      expect(r.stdout + r.stderr).to.include('the stored manifest of folder out `build/d` is unsafe');
      expect(readFileSync(path.join(ws, 'build', 'd', 'a.txt'), 'utf8')).to.equal(good);
      expect(diffSnapshots(before, snapshotDir(outside, { meta: true })), 'outside').to.deep.equal([]);
      for (const up of [path.join(ws, 'build'), ws, path.dirname(ws), path.dirname(path.dirname(ws))]) {
        expect(existsSync(path.join(up, 'escape.txt')), `escape.txt in ${up}`).to.equal(false);
      }
      expect(existsSync(path.join(ws, 'build', 'd', 'x'))).to.equal(false);
      expect((await runCli(ws, ['cache', 'verify'])).exitCode, 'the forged manifest is gone and the new record is sound').to.equal(0);
    });
  }

  const foreign: [string, (outs: Record<string, unknown>[], h: string) => unknown[], RegExp][] = [
    ['pipeline.yaml', (outs, h) => [...outs, { path: 'pipeline.yaml', type: 'file', hash: h, size: 6 }], /lists out `pipeline\.yaml`, which the stage does not declare/],
    ['.git/hooks/pre-commit', (outs, h) => [...outs, { path: '.git/hooks/pre-commit', type: 'file', hash: h, size: 6 }], /lists out `\.git\/hooks\/pre-commit`, which the stage does not declare/],
    ['another stage\'s out', (outs, h) => [...outs, { path: 'build/d/a.txt', type: 'file', hash: h, size: 6 }], /lists out `build\/d\/a\.txt`, which the stage does not declare/],
    ['an undeclared path instead of the declared one', (_outs, h) => [{ path: 'build/g.txt', type: 'file', hash: h, size: 6 }], /lists out `build\/g\.txt`/],
    ['the declared out twice', (outs) => [...outs, ...outs], /lists out `build\/f\.txt` twice/],
    ['no outs at all', () => [], /does not list out `build\/f\.txt`/],
  ];
  for (const [what, edit, message] of foreign) {
    it(`a run record and lock entry listing ${what}: refused with a message, the stage runs, nothing else is written`, async function () {
      const ws = setup('us-foreign');
      expect((await runCli(ws, ['run'])).exitCode).to.equal(0);
      const h = plantObject(ws, payload);
      forgeOuts(ws, 'f', (outs) => edit(outs, h));
      rmSync(path.join(ws, 'build', 'f.txt'));
      const before = snapshotDir(ws, { meta: true, skip: (rel) => rel.startsWith('.pipeline') || rel === 'pipeline.lock' || rel.startsWith('build') });
      const dBefore = snapshotDir(path.join(ws, 'build', 'd'), { meta: true });

      const status = await runCli(ws, ['status']);
      expect(status.stdout, 'status explains the refusal').to.match(message);

      const r = await runJson(ws);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
      expect(r.statuses.f).to.equal('ran');
      expect(r.stdout + r.stderr).to.match(message);
      expect(diffSnapshots(before, snapshotDir(ws, { meta: true, skip: (rel) => rel.startsWith('.pipeline') || rel === 'pipeline.lock' || rel.startsWith('build') }))).to.deep.equal([]);
      expect(diffSnapshots(dBefore, snapshotDir(path.join(ws, 'build', 'd'), { meta: true }))).to.deep.equal([]);
      expect(readFileSync(path.join(ws, 'build', 'f.txt'), 'utf8')).to.equal('file v1\n');
      expect(existsSync(path.join(ws, 'build', 'g.txt'))).to.equal(false);
      expect(readLock(ws).stages.f.outs.map((o) => o.path)).to.deep.equal(['build/f.txt']);
    });
  }

  it('lock entries with unsafe out paths are ignored with a warning naming the stage, and the stage re-checked', async function () {
    const ws = setup('us-lockpaths');
    expect((await runCli(ws, ['run'])).exitCode).to.equal(0);
    for (const bad of ['../escape.txt', '/etc/passwd', 'build/../../x', '']) {
      const lock = JSON.parse(readFileSync(path.join(ws, 'pipeline.lock'), 'utf8'));
      lock.stages.f.outs[0].path = bad;
      writeFileSync(path.join(ws, 'pipeline.lock'), JSON.stringify(lock));
      const r = await runJson(ws);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stderr).to.include('entry of stage `f` ignored');
      expect(r.statuses.f, bad).to.equal('cached');
      expect(readLock(ws).stages.f.outs[0].path).to.equal('build/f.txt');
    }
    expect(existsSync(path.join(path.dirname(ws), 'escape.txt'))).to.equal(false);
  });

  for (const [what, link] of [
    ['.git', '.git'],
    ['a folder inside the workspace', 'real'],
  ] as const) {
    it(`an out whose folder is a symlink to ${what}: the stage fails naming the symlink, nothing written through it`, async function () {
      const ws = setup('us-symfolder');
      writeFileSync(path.join(ws, 'pipeline.yaml'), `version: 1\nstages:\n  s:\n    cmd: [node, tools/tree.mjs, --file, via/hooks-or-file]\n    outs: [via/hooks-or-file]\n`);
      mkdirSync(path.join(ws, 'real'));
      symlinkSync(link, path.join(ws, 'via'));
      const target = link === '.git' ? path.join(ws, '.git') : path.join(ws, 'real');
      const before = snapshotDir(target, { meta: true });
      const r = await runJson(ws);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
      expect(r.stdout + r.stderr).to.include('its folder `via` is a symlink');
      expect(diffSnapshots(before, snapshotDir(target, { meta: true }))).to.deep.equal([]);
    });
  }
});
