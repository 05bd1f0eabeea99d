// The stat cache never serves a stale hash: an in-place edit of a dep that puts the old mtime back (`touch -d`,
// `cp -p`, utimes from a program), an edit in the same second as the previous hash on a filesystem with 1-second
// timestamps (a loop-mounted ext4 with 128-byte inodes, root only), and a stage that rewrites its own dep and puts
// its mtime back. Each is noticed: the stage re-runs on the new bytes, or fails naming the input with its previous
// outs back.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writerPath } from './fixtures/fan.js';
import { RACY_NS } from '../../runner/store/stat-cache.js';
import { cleanupAll, runJson, tempDir, waitPastRacyWindow } from '../helpers/workspace.js';

const COPY = `version: 1
stages:
  copy:
    cmd: [node, -e, "require('fs').mkdirSync('build',{recursive:true});require('fs').copyFileSync('data/in.txt','build/out.txt')"]
    deps: [data/in.txt]
    outs: [build/out.txt]
`;

function setupIn(dir: string, yaml = COPY) {
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  mkdirSync(path.join(dir, 'tools'), { recursive: true });
  cpSync(writerPath, path.join(dir, 'tools', 'writer.mjs'));
  writeFileSync(path.join(dir, 'pipeline.yaml'), yaml);
  writeFileSync(path.join(dir, 'data', 'in.txt'), 'AAAA\n');
  return dir;
}

/** Put back the atime and mtime (ns precision as far as utimes goes) a file had. */
function restoreTimes(file: string, st: { atime: Date; mtime: Date }) {
  utimesSync(file, st.atime, st.mtime);
}

describe('torture: the stat cache never serves a stale hash', function () {
  after(cleanupAll);

  const edits: [string, (ws: string) => void][] = [
    ['an in-place edit with the old mtime put back (touch -d)', (ws) => {
      const f = path.join(ws, 'data', 'in.txt');
      const st = statSync(f);
      writeFileSync(f, 'BBBB\n');
      execFileSync('touch', ['-d', st.mtime.toISOString(), f]);
    }],
    ['a copy over it that keeps the source mtime (cp -p) of the same size and stamp', (ws) => {
      const f = path.join(ws, 'data', 'in.txt');
      const st = statSync(f);
      const other = path.join(ws, 'other.txt');
      writeFileSync(other, 'BBBB\n');
      restoreTimes(other, st);
      execFileSync('cp', ['-p', other, f]);
    }],
    ['an edit by a program that restores atime and mtime (utimes)', (ws) => {
      const f = path.join(ws, 'data', 'in.txt');
      const st = statSync(f);
      writeFileSync(f, 'BBBB\n');
      restoreTimes(f, st);
    }],
  ];
  for (const [what, edit] of edits) {
    it(`${what}: the stage re-runs on the new bytes`, async function () {
      const ws = setupIn(tempDir('sh-edit'));
      await waitPastRacyWindow(ws, RACY_NS); // the stat cache trusts the entry its first hash leaves
      expect((await runJson(ws)).statuses.copy).to.equal('ran');
      expect((await runJson(ws)).statuses.copy, 'no-op').to.equal('cached');
      edit(ws);
      const r = await runJson(ws);
      expect(r.statuses.copy, r.stdout + r.stderr).to.equal('ran');
      expect(readFileSync(path.join(ws, 'build', 'out.txt'), 'utf8')).to.equal('BBBB\n');
    });
  }

  it('a stage that rewrites its own dep (same size, mtime put back) fails naming it; its previous out comes back', async function () {
    const ws = setupIn(
      tempDir('sh-self'),
      `version: 1
params: {n: 1}
stages:
  self:
    cmd: [node, -e, "const fs=require('fs');const f='data/in.txt';const st=fs.statSync(f);fs.mkdirSync('build',{recursive:true});fs.writeFileSync('build/out.txt',JSON.parse(process.env.PIPELINE_PARAMS).n+'');if(JSON.parse(process.env.PIPELINE_PARAMS).n>1){fs.writeFileSync(f,'ZZZZ\\\\n');fs.utimesSync(f,st.atime,st.mtime)}"]
    deps: [data/in.txt]
    outs: [build/out.txt]
`,
    );
    await waitPastRacyWindow(ws, RACY_NS);
    expect((await runJson(ws)).exitCode).to.equal(0);
    const r = await runJson(ws, ['--set', 'n=2']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
    expect(r.stdout + r.stderr).to.include('input `data/in.txt` changed while the stage ran');
    expect(readFileSync(path.join(ws, 'build', 'out.txt'), 'utf8'), 'previous out back').to.equal('1');
  });

  it('same-second edits on a filesystem with 1-second timestamps (loop-mounted ext4, 128-byte inodes)', async function () {
    if (process.getuid?.() !== 0) this.skip(); // needs root to loop-mount
    const base = tempDir('sh-coarse');
    const image = path.join(base, 'fs.img');
    const mnt = path.join(base, 'mnt');
    mkdirSync(mnt);
    try {
      execFileSync('truncate', ['-s', '32M', image]);
      execFileSync('mkfs.ext4', ['-q', '-I', '128', '-F', image], { stdio: 'ignore' });
      execFileSync('mount', ['-o', 'loop', image, mnt]);
    } catch (err) {
      console.log(`      skipped: cannot make a loop-mounted ext4 here (${(err as Error).message.split('\n')[0]})`);
      this.skip();
    }
    try {
      const ws = setupIn(path.join(mnt, 'ws'));
      for (let round = 0; round < 3; round++) {
        const content = `R${round}${round}${round}\n`;
        writeFileSync(path.join(ws, 'data', 'in.txt'), content);
        const first = statSync(path.join(ws, 'data', 'in.txt'), { bigint: true });
        expect(first.mtimeNs % 1_000_000_000n, 'whole-second timestamps').to.equal(0n);
        const r = await runJson(ws);
        expect(r.exitCode, r.stderr).to.equal(0);
        // Rewrite with the same size and put the same (whole-second) stamp back: only the racy rule can tell.
        const next = `S${round}${round}${round}\n`;
        writeFileSync(path.join(ws, 'data', 'in.txt'), next);
        utimesSync(path.join(ws, 'data', 'in.txt'), new Date(Number(first.atimeNs / 1_000_000n)), new Date(Number(first.mtimeNs / 1_000_000n)));
        const again = await runJson(ws);
        expect(again.statuses.copy, `round ${round}`).to.equal('ran');
        expect(readFileSync(path.join(ws, 'build', 'out.txt'), 'utf8')).to.equal(next);
      }
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
