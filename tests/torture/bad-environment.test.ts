// Bad environments are refused up front, I/O errors are messages: a store inside a stage's out, a store that is a
// file or lies below one (ENOTDIR), a store on a read-only mount (EROFS) exit 2 before anything runs; a store
// that fills up while a stage is recorded (ENOSPC, a 1 MiB tmpfs) fails that stage (exit 1) with the path and the
// remedy, the previous outs back and nothing half-recorded; `status` and `run --dry-run` work in a read-only
// workspace; an empty or truncated pipeline.lock is reported as damaged with what to do. Mounts need root.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, cli, readLock, repoRoot, runJson, tempDir, workspace } from './lib.js';

const isRoot = process.getuid?.() === 0;
const tree = path.join(repoRoot, 'tests', 'torture', 'fixtures', 'tree.mjs');
const YAML = `version: 1
params: {kb: 4}
stages:
  big:
    cmd: [node, -e, "require('fs').mkdirSync('build',{recursive:true});require('fs').writeFileSync('build/big.bin',require('crypto').randomBytes(JSON.parse(process.env.PIPELINE_PARAMS).kb*1024))"]
    outs: [build/big.bin]
`;

function setup(prefix: string) {
  const ws = workspace(prefix, YAML);
  cpSync(tree, path.join(ws, 'tools', 'tree.mjs'));
  return ws;
}

describe('torture: bad environments are refused up front, I/O errors are messages', function () {
  after(cleanup);

  const stores: [string, (ws: string) => string, RegExp][] = [
    ['inside the out folder of a stage', () => 'build/cache', /the store `.*build\/cache` lies inside out `build\/big\.bin`|lies inside out/],
    ['a file', (ws) => {
      writeFileSync(path.join(ws, 'store-file'), 'x');
      return 'store-file';
    }, /the store `.*store-file` is a file, not a folder/],
    ['below a file (ENOTDIR)', (ws) => {
      writeFileSync(path.join(ws, 'plain'), 'x');
      return 'plain/cache';
    }, /lies below `.*plain`, which is a file/],
  ];
  for (const [what, make, message] of stores) {
    it(`a store ${what}: exit 2 before anything runs, saying how to fix it`, async function () {
      const ws = setup('be-store');
      writeFileSync(path.join(ws, 'pipeline.yaml'), YAML.replace('outs: [build/big.bin]', 'outs: [build]').replace("writeFileSync('build/big.bin'", "writeFileSync('build/big.bin'"));
      const dir = make(ws);
      const r = await cli(ws, ['run'], { PIPELINE_CACHE_DIR: dir });
      expect(r.exitCode, r.stdout + r.stderr).to.equal(2);
      expect(r.stderr).to.match(message.source.includes('big.bin') ? /lies inside out `build`/ : message);
      expect(r.stderr).to.match(/hint: .*(PIPELINE_CACHE_DIR|move that file)/);
      expect(r.stderr).to.not.include('internal error');
      expect(readLock(ws).stages).to.deep.equal({});
    });
  }

  it('a store on a read-only mount (EROFS, root only): exit 2 naming it; status and dry-run still work', async function () {
    if (!isRoot) this.skip(); // mount --bind needs root
    const ws = setup('be-erofs');
    const store = tempDir('be-erofs-store');
    mkdirSync(path.join(store, 'objects'));
    execFileSync('mount', ['--bind', '-o', 'ro', store, store]);
    try {
      const r = await cli(ws, ['run'], { PIPELINE_CACHE_DIR: store });
      expect(r.exitCode, r.stdout + r.stderr).to.equal(2);
      expect(r.stderr).to.include('the store is not usable').and.include('EROFS');
      expect(r.stderr).to.include('hint: the filesystem is mounted read-only');
      const status = await cli(ws, ['status'], { PIPELINE_CACHE_DIR: store });
      expect(status.exitCode, status.stderr).to.not.equal(2);
      expect(status.stderr).to.not.include('internal error');
      expect((await cli(ws, ['run', '--dry-run'], { PIPELINE_CACHE_DIR: store })).exitCode).to.equal(0);
    } finally {
      execFileSync('umount', [store]);
    }
  });

  it('a store that fills up while a stage is recorded (ENOSPC on a 1 MiB tmpfs, root only): the stage fails naming the path, the previous out is back, nothing recorded', async function () {
    if (!isRoot) this.skip(); // mounting a tmpfs needs root
    const ws = setup('be-enospc');
    const store = tempDir('be-enospc-store');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', store]);
    try {
      expect((await runJson(ws, [], { PIPELINE_CACHE_DIR: store })).exitCode).to.equal(0);
      const before = readFileSync(path.join(ws, 'build', 'big.bin'));
      const lockBefore = readFileSync(path.join(ws, 'pipeline.lock'), 'utf8');
      for (const kb of [2048, 1500]) {
        const r = await runJson(ws, ['--set', `kb=${kb}`], { PIPELINE_CACHE_DIR: store });
        expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
        expect(r.stdout + r.stderr).to.include('ENOSPC').and.include(store).and.include('the disk is full');
        expect(r.stderr).to.not.include('internal error');
        expect(readFileSync(path.join(ws, 'build', 'big.bin')).equals(before), 'previous out back').to.equal(true);
        expect(readFileSync(path.join(ws, 'pipeline.lock'), 'utf8'), 'nothing recorded').to.equal(lockBefore);
      }
      const verify = await cli(ws, ['cache', 'verify'], { PIPELINE_CACHE_DIR: store });
      expect(verify.exitCode, verify.stdout).to.equal(0);
    } finally {
      execFileSync('umount', [store]);
    }
  });

  it('status and run --dry-run in a read-only workspace (a read-only bind mount, root only)', async function () {
    if (!isRoot) this.skip(); // mount --bind needs root
    const ws = setup('be-rows');
    expect((await cli(ws, ['run'])).exitCode).to.equal(0);
    const ro = path.join(tempDir('be-rows-mnt'), 'ro');
    mkdirSync(ro);
    execFileSync('mount', ['--bind', '-o', 'ro', ws, ro]);
    try {
      const status = await cli(ro, ['status']);
      expect(status.exitCode, status.stderr).to.equal(0);
      expect(status.stdout).to.include('fresh');
      const dry = await cli(ro, ['run', '--dry-run', '--set', 'kb=8']);
      expect(dry.exitCode, dry.stderr).to.equal(0);
      expect(dry.stdout).to.include('dry run: 1 to run');
      const run = await cli(ro, ['run', '--set', 'kb=8']);
      expect(run.exitCode, run.stderr).to.equal(2);
      expect(run.stderr).to.include('EROFS').and.not.include('internal error');
    } finally {
      execFileSync('umount', [ro]);
    }
  });

  for (const [what, damage] of [
    ['empty', () => ''],
    ['truncated', (text: string) => text.slice(0, Math.floor(text.length / 2))],
    ['cut to one byte', (text: string) => text.slice(0, 1)],
  ] as const) {
    it(`a damaged (${what}) pipeline.lock: exit 2, reported as damaged with what to do; deleting it rebuilds it from the store`, async function () {
      const ws = setup('be-lock');
      expect((await cli(ws, ['run'])).exitCode).to.equal(0);
      const text = readFileSync(path.join(ws, 'pipeline.lock'), 'utf8');
      writeFileSync(path.join(ws, 'pipeline.lock'), damage(text));
      for (const args of [['run'], ['status']]) {
        const r = await cli(ws, args);
        expect(r.exitCode, r.stderr).to.equal(2);
        expect(r.stderr).to.include('pipeline.lock is damaged');
        expect(r.stderr).to.include('git checkout -- pipeline.lock').and.include('delete it');
      }
    });
  }
});
