// One workspace, one lock, however it is reached: while a run holds the workspace, a second run through a
// symlinked path (-C and cwd), a bind mount of the folder, or from another network namespace (unshare --net)
// is refused with exit 4 under --no-wait, or waits saying for whom; a SIGKILLed holder's lock is free at once.
import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, cli, cliPath, startCli, tempDir, waitGroupGone, workspace } from './lib.js';

const isRoot = process.getuid?.() === 0;

function holdingWorkspace(prefix: string) {
  const started = path.join(tempDir(`${prefix}-marks`), 'started');
  const go = `${started}.go`;
  const ws = workspace(
    prefix,
    `version: 1
stages:
  hold:
    cmd: ${JSON.stringify(['node', 'tools/writer.mjs', '--out', 'build/hold.bin', '--kb', '16', '--seed', 'hold', '--started', started, '--wait-for', go])}
    outs: [build/hold.bin]
`,
  );
  return { ws, started, go };
}

async function hold(prefix: string) {
  const h = holdingWorkspace(prefix);
  const { child, done } = startCli(h.ws, ['run'], { detached: true });
  for (let i = 0; i < 3000 && !existsSync(h.started); i++) await new Promise((r) => setTimeout(r, 10));
  expect(existsSync(h.started), 'the holder started its stage').to.equal(true);
  return { ...h, child, done };
}

describe('torture: one workspace, one lock, however it is reached', function () {
  after(cleanup);

  it('through a symlinked path (-C and as the working folder): exit 4 with --no-wait, naming the holder', async function () {
    const h = await hold('li-symlink');
    const links = tempDir('li-links');
    symlinkSync(h.ws, path.join(links, 'via'));
    symlinkSync(path.join(links, 'via'), path.join(links, 'via2'));
    for (const [args, cwd] of [
      [['-C', path.join(links, 'via'), 'run', '--no-wait'], links],
      [['run', '--no-wait'], path.join(links, 'via2')],
      [['-C', `${h.ws}/./build/..`, 'run', '--no-wait'], links],
    ] as const) {
      const r = await cli(cwd, [...args]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).to.equal(4);
      expect(r.stderr).to.include(`another run holds this workspace (pid ${h.child.pid}`);
    }
    // Waiting says for whom, then gets the lock once the holder is SIGKILLed (at once, no stale guessing).
    const waiter = startCli(links, ['-C', path.join(links, 'via'), 'run']);
    let told = '';
    waiter.child.stderr.on('data', (d: Buffer) => (told += d.toString()));
    for (let i = 0; i < 3000 && !told.includes('waiting for another run'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(told).to.include(`waiting for another run of this workspace to finish (pid ${h.child.pid}, started `);
    process.kill(-h.child.pid!, 'SIGKILL');
    await waitGroupGone(h.child.pid!);
    writeFileSync(h.go, '');
    const w = await waiter.done;
    expect(w.exitCode, w.stderr).to.equal(0);
  });

  it('through a bind mount of the folder (root only): exit 4', async function () {
    if (!isRoot) this.skip(); // mount --bind needs root
    const h = await hold('li-bind');
    const mnt = path.join(tempDir('li-bindmnt'), 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['--bind', h.ws, mnt]);
    try {
      const r = await cli(mnt, ['run', '--no-wait']);
      expect(r.exitCode, r.stderr).to.equal(4);
      expect(r.stderr).to.include(`pid ${h.child.pid}`);
    } finally {
      execFileSync('umount', [mnt]);
      process.kill(-h.child.pid!, 'SIGKILL');
      await waitGroupGone(h.child.pid!);
    }
  });

  it('from another network namespace (unshare --net, root only): exit 4; and the holder inside one blocks runs outside', async function () {
    if (!isRoot || spawnSync('unshare', ['--net', 'true']).status !== 0) this.skip(); // needs root and unshare
    const h = await hold('li-netns');
    const inside = spawnSync('unshare', ['--net', process.execPath, cliPath, 'run', '--no-wait'], { cwd: h.ws, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CI: 'true' } });
    expect(inside.status, inside.stderr).to.equal(4);
    expect(inside.stderr).to.include(`pid ${h.child.pid}`);
    process.kill(-h.child.pid!, 'SIGKILL');
    await waitGroupGone(h.child.pid!);

    // The other way round: the holder in its own network namespace.
    const h2 = holdingWorkspace('li-netns2');
    const holder = spawn('unshare', ['--net', process.execPath, cliPath, 'run'], { cwd: h2.ws, detached: true, stdio: 'ignore' });
    void holder;
    for (let i = 0; i < 3000 && !existsSync(h2.started); i++) await new Promise((r) => setTimeout(r, 10));
    const outside = await cli(h2.ws, ['run', '--no-wait']);
    expect(outside.exitCode, outside.stderr).to.equal(4);
    process.kill(-holder.pid!, 'SIGKILL');
  });
});
