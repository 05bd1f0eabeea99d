// One workspace, one lock, however it is reached: while a run holds the workspace, a second run through a
// symlinked path (-C and cwd), a bind mount of the folder, or from another network namespace (unshare --net)
// is refused with exit 4 under --no-wait, or waits saying for whom; a SIGKILLed holder's lock is free at once.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, killGroup, runCli, startCli, tempDir, waitFor, waitForOutput, waitGroupGone } from '../helpers/workspace.js';

const isRoot = process.getuid?.() === 0;

function holdingWorkspace(prefix: string) {
  const started = path.join(tempDir(`${prefix}-marks`), 'started');
  const go = `${started}.go`;
  const ws = writerWorkspace(prefix, `version: 1
stages:
  hold:
    cmd: ${JSON.stringify(['node', 'tools/writer.mjs', '--out', 'build/hold.bin', '--kb', '16', '--seed', 'hold', '--started', started, '--wait-for', go])}
    outs: [build/hold.bin]
`);
  return { ws, started, go };
}

async function hold(prefix: string) {
  const h = holdingWorkspace(prefix);
  const child = startCli(h.ws, ['run'], { detached: true });
  await waitFor(() => existsSync(h.started), 30_000, 'the holder to start its stage', child);
  return { ...h, child };
}

describe('torture: one workspace, one lock, however it is reached', function () {
  after(cleanupAll);

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
      const r = await runCli(cwd, [...args]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).to.equal(4);
      expect(r.stderr).to.include(`another run holds this workspace (pid ${h.child.pid}`);
    }
    // Waiting says for whom, then gets the lock once the holder is SIGKILLed (at once, no stale guessing).
    const waiter = startCli(links, ['-C', path.join(links, 'via'), 'run']);
    const told = await waitForOutput(waiter, 'waiting for another run', 'the second run to say it waits');
    expect(told).to.include(`waiting for another run of this workspace to finish (pid ${h.child.pid}, started `);
    killGroup(h.child, 'SIGKILL');
    await waitGroupGone(h.child);
    writeFileSync(h.go, '');
    const w = await waiter.result;
    expect(w.exitCode, w.stderr).to.equal(0);
  });

  it('through a bind mount of the folder (root only): exit 4', async function () {
    if (!isRoot) this.skip(); // mount --bind needs root
    const h = await hold('li-bind');
    const mnt = path.join(tempDir('li-bindmnt'), 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['--bind', h.ws, mnt]);
    try {
      const r = await runCli(mnt, ['run', '--no-wait']);
      expect(r.exitCode, r.stderr).to.equal(4);
      expect(r.stderr).to.include(`pid ${h.child.pid}`);
    } finally {
      execFileSync('umount', [mnt]);
      killGroup(h.child, 'SIGKILL');
      await waitGroupGone(h.child);
    }
  });

  it('from another network namespace (unshare --net, root only): exit 4; and the holder inside one blocks runs outside', async function () {
    if (!isRoot || spawnSync('unshare', ['--net', 'true']).status !== 0) this.skip(); // needs root and unshare
    const h = await hold('li-netns');
    const inside = await runCli(h.ws, ['run', '--no-wait'], { via: ['unshare', '--net'] });
    expect(inside.exitCode, inside.stderr).to.equal(4);
    expect(inside.stderr).to.include(`pid ${h.child.pid}`);
    killGroup(h.child, 'SIGKILL');
    await waitGroupGone(h.child);

    // The other way round: the holder in its own network namespace.
    const h2 = holdingWorkspace('li-netns2');
    const holder = startCli(h2.ws, ['run'], { via: ['unshare', '--net'], detached: true });
    await waitFor(() => existsSync(h2.started), 30_000, 'the holder in its namespace to start its stage', holder);
    const outside = await runCli(h2.ws, ['run', '--no-wait']);
    expect(outside.exitCode, outside.stderr).to.equal(4);
    killGroup(holder, 'SIGKILL');
    await waitGroupGone(holder);
  });
});
