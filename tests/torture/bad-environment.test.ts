// Bad environments are refused up front, I/O errors are messages: a store inside a stage's out, a store that is a
// file or lies below one (ENOTDIR), a store on a read-only mount (EROFS) exit 2 before anything runs; a store
// that fills up while a stage is recorded (ENOSPC, a 1 MiB tmpfs) fails that stage (exit 1) with the path and the
// remedy, the previous outs back and nothing half-recorded; `status` and `run --dry-run` work in a read-only
// workspace; an empty or truncated pipeline.lock is reported as damaged with what to do. Mounts need root.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, cliPath, readLock, repoRoot, runCli, runJson, tempDir } from '../helpers/workspace.js';

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
  const ws = writerWorkspace(prefix, YAML);
  cpSync(tree, path.join(ws, 'tools', 'tree.mjs'));
  return ws;
}

describe('torture: bad environments are refused up front, I/O errors are messages', function () {
  after(cleanupAll);

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
      const r = await runCli(ws, ['run'], { env: { PIPELINE_CACHE_DIR: dir } });
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
      const r = await runCli(ws, ['run'], { env: { PIPELINE_CACHE_DIR: store } });
      expect(r.exitCode, r.stdout + r.stderr).to.equal(2);
      expect(r.stderr).to.include('the store is not usable').and.include('EROFS');
      expect(r.stderr).to.include('hint: the filesystem is mounted read-only');
      const status = await runCli(ws, ['status'], { env: { PIPELINE_CACHE_DIR: store } });
      expect(status.exitCode, status.stderr).to.not.equal(2);
      expect(status.stderr).to.not.include('internal error');
      expect((await runCli(ws, ['run', '--dry-run'], { env: { PIPELINE_CACHE_DIR: store } })).exitCode).to.equal(0);
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
      expect((await runJson(ws, [], { env: { PIPELINE_CACHE_DIR: store } })).exitCode).to.equal(0);
      const before = readFileSync(path.join(ws, 'build', 'big.bin'));
      const lockBefore = readFileSync(path.join(ws, 'pipeline.lock'), 'utf8');
      for (const kb of [2048, 1500]) {
        const r = await runJson(ws, ['--set', `kb=${kb}`], { env: { PIPELINE_CACHE_DIR: store } });
        expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
        expect(r.stdout + r.stderr).to.include('ENOSPC').and.include(store).and.include('the disk is full');
        expect(r.stderr).to.not.include('internal error');
        expect(readFileSync(path.join(ws, 'build', 'big.bin')).equals(before), 'previous out back').to.equal(true);
        expect(readFileSync(path.join(ws, 'pipeline.lock'), 'utf8'), 'nothing recorded').to.equal(lockBefore);
      }
      const verify = await runCli(ws, ['cache', 'verify'], { env: { PIPELINE_CACHE_DIR: store } });
      expect(verify.exitCode, verify.stdout).to.equal(0);
    } finally {
      execFileSync('umount', [store]);
    }
  });

  it('status and run --dry-run in a read-only workspace (a read-only bind mount, root only)', async function () {
    if (!isRoot) this.skip(); // mount --bind needs root
    const ws = setup('be-rows');
    expect((await runCli(ws, ['run'])).exitCode).to.equal(0);
    const ro = path.join(tempDir('be-rows-mnt'), 'ro');
    mkdirSync(ro);
    execFileSync('mount', ['--bind', '-o', 'ro', ws, ro]);
    try {
      const status = await runCli(ro, ['status']);
      expect(status.exitCode, status.stderr).to.equal(0);
      expect(status.stdout).to.include('fresh');
      const dry = await runCli(ro, ['run', '--dry-run', '--set', 'kb=8']);
      expect(dry.exitCode, dry.stderr).to.equal(0);
      expect(dry.stdout).to.include('dry run: 1 to run');
      const run = await runCli(ro, ['run', '--set', 'kb=8']);
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
      expect((await runCli(ws, ['run'])).exitCode).to.equal(0);
      const text = readFileSync(path.join(ws, 'pipeline.lock'), 'utf8');
      writeFileSync(path.join(ws, 'pipeline.lock'), damage(text));
      for (const args of [['run'], ['status']]) {
        const r = await runCli(ws, args);
        expect(r.exitCode, r.stderr).to.equal(2);
        expect(r.stderr).to.include('pipeline.lock is damaged');
        expect(r.stderr).to.include('git checkout -- pipeline.lock').and.include('delete it');
      }
    });
  }

  describe('as an unprivileged user (EACCES; needs root to set up, runs the CLI as `nobody` through setpriv)', function () {
    const NOBODY = 65534;
    const setpriv = ['setpriv', '--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'];
    /** The repository seen through a bind mount below a folder anyone may enter (a clone may sit in a private one). */
    let mount = '';
    let cli = '';
    before(async function () {
      if (!isRoot || spawnSync(setpriv[0], [...setpriv.slice(1), 'true']).status !== 0) this.skip();
      // Not a tempDir(): cleanupAll() removes those recursively, which must never reach through the mount.
      const base = mkdtempSync(path.join(os.tmpdir(), 'pipeline-torture-be-eacces-repo-'));
      chmodSync(base, 0o755);
      mount = path.join(base, 'repo');
      mkdirSync(mount);
      execFileSync('mount', ['--bind', repoRoot, mount]);
      cli = path.join(mount, path.relative(repoRoot, cliPath));
      const probe = await runCli(base, ['--version'], { via: setpriv, entry: cli });
      expect(probe.exitCode, `nobody cannot run the CLI: ${probe.stderr}`).to.equal(0);
    });
    after(() => {
      // The folders go only once the mount is gone, one by one, never recursively.
      if (mount && spawnSync('umount', [mount]).status === 0) {
        rmdirSync(mount);
        rmdirSync(path.dirname(mount));
      }
    });

    /** The CLI as `nobody` (through setpriv, from the mounted repository), with the store where the test says. */
    const asNobody = (ws: string, args: string[], store: string) => runCli(ws, args, { via: setpriv, entry: cli, cacheDir: store });
    /** A workspace owned by nobody, run once as nobody, with its store beside it. */
    const owned = async () => {
      const ws = setup('be-eacces');
      // The rig's temp folder around the workspace is root's (mode 0700): let nobody through to the workspace.
      chmodSync(path.dirname(ws), 0o755);
      const store = path.join(tempDir('be-eacces-store'), 'store');
      mkdirSync(store);
      for (const dir of [ws, path.dirname(store)]) execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
      const first = await asNobody(ws, ['run'], store);
      expect(first.exitCode, first.stdout + first.stderr).to.equal(0);
      return { ws, store, lock: readFileSync(path.join(ws, 'pipeline.lock'), 'utf8'), out: readFileSync(path.join(ws, 'build', 'big.bin')) };
    };
    const unchanged = (c: Awaited<ReturnType<typeof owned>>) => {
      expect(readFileSync(path.join(c.ws, 'pipeline.lock'), 'utf8'), 'nothing recorded').to.equal(c.lock);
      chmodSync(path.join(c.ws, 'build', 'big.bin'), 0o644);
      expect(readFileSync(path.join(c.ws, 'build', 'big.bin')).equals(c.out), 'the previous out as it was').to.equal(true);
    };

    const cases: [string, (c: Awaited<ReturnType<typeof owned>>) => string, number, RegExp][] = [
      ['the store belongs to another user', (c) => (execFileSync('chown', ['-R', 'root:root', c.store]), c.store), 2, /the store is not usable: cannot write to the store `.*`: EACCES/],
      ["the workspace's log folder belongs to another user", (c) => {
        const logs = path.join(c.ws, '.pipeline', 'logs');
        execFileSync('chown', ['root:root', logs]);
        return logs;
      }, 2, /the workspace's state folder is not usable: cannot write to `.*\.pipeline\/logs`: EACCES/],
      ['the previous out cannot be read', (c) => {
        const out = path.join(c.ws, 'build', 'big.bin');
        execFileSync('chown', ['root:root', out]);
        chmodSync(out, 0);
        return out;
      }, 1, /cannot open `.*build\/big\.bin`: EACCES/],
      ["the previous out's folder belongs to another user (the out cannot be removed)", (c) => {
        execFileSync('chown', ['root:root', path.join(c.ws, 'build')]);
        return path.join(c.ws, 'build', 'big.bin');
      }, 1, /cannot remove `.*build\/big\.bin`: EACCES/],
    ];
    for (const [what, harm, code, message] of cases) {
      it(`${what}: exit ${code}, naming the path and the remedy, nothing recorded, the previous out kept; fixed, the run succeeds`, async function () {
        const c = await owned();
        const where = harm(c);
        const r = await asNobody(c.ws, ['run', '--set', 'kb=8'], c.store);
        expect(r.exitCode, r.stdout + r.stderr).to.equal(code);
        expect(r.stdout + r.stderr).to.match(message).and.include(where);
        expect(r.stdout + r.stderr).to.include('give this user access to').and.not.include('internal error');
        unchanged(c);
        // The remedy the message gives works.
        for (const dir of [c.ws, path.dirname(c.store)]) execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
        const fixed = await asNobody(c.ws, ['run', '--set', 'kb=8'], c.store);
        expect(fixed.exitCode, fixed.stdout + fixed.stderr).to.equal(0);
      });
    }
  });
});
