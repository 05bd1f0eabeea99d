// One run per workspace, however it is reached. The lock is an flock(2) on the workspace folder itself: a lock on
// its inode, so a path through a symlink, a bind mount or another mount of the same folder meets the same lock,
// and unlike an abstract socket it is not confined to one network namespace (a container sharing the folder);
// taking it writes nothing. Node cannot call flock itself; util-linux `flock` holds it for us, running `cat` on a pipe from this
// process: when this process ends in any way (even SIGKILL) the pipe closes, cat and flock exit and the kernel
// drops the lock at once, with no stale-file guessing. Who holds it is written to `.pipeline/run-holder.json` (or,
// before .pipeline/ exists, to a file in the temp folder named after the folder's device and inode).
// Where `flock` is not installed the lock falls back to a listening unix socket named after the workspace's
// device and inode (in the abstract namespace on Linux: per network namespace only).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { BusyError } from '../core/errors.js';
import { withIo } from '../store/io-error.js';
import { stopLeftovers } from './leftovers.js';

export interface RunLock {
  release(): void;
}

interface Holder {
  pid: number;
  started: string;
  command: string;
}

const BUSY = 75;
let flockAvailable: boolean | undefined;

function hasFlock(): boolean {
  if (process.platform !== 'linux') return false;
  return (flockAvailable ??= spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0);
}

/** Start `flock` on the lock file: resolves to the holding child once locked, or 'busy' (only when not waiting). */
function flockOnce(file: string, wait: true): Promise<ChildProcess>;
function flockOnce(file: string, wait: boolean): Promise<ChildProcess | 'busy'>;
function flockOnce(file: string, wait: boolean): Promise<ChildProcess | 'busy'> {
  return new Promise((resolve, reject) => {
    const args = [...(wait ? [] : ['-n']), '-E', String(BUSY), file, 'sh', '-c', 'echo locked; exec cat >/dev/null'];
    const child = spawn('flock', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let settled = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!settled && out.includes('locked')) {
        settled = true;
        child.stdout.destroy();
        child.stderr.destroy();
        child.unref();
        (child.stdin as net.Socket).unref();
        resolve(child);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      if (!settled) reject(e);
    });
    child.on('exit', (code) => {
      if (settled) return;
      settled = true;
      if (code === BUSY) resolve('busy');
      else reject(new Error(`flock on ${file} failed (exit ${code}): ${err.trim()}`));
    });
  });
}

function readHolder(files: string[]): Holder {
  for (const file of files) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Holder;
    } catch {
      // not there: the next place
    }
  }
  return { pid: 0, started: '?', command: '?' };
}

export interface LockOptions {
  wait: boolean;
  command: string;
  onWait?: (holder: Holder) => void;
  /** Told what an earlier, killed run had left running and this one stopped (default: a warning on stderr). */
  onLeftover?: (what: string) => void;
}

/**
 * Take the workspace's run lock, then stop whatever an earlier run that was killed left running in it (its stages'
 * process groups and cluster jobs), before the caller touches anything.
 */
export async function acquireRunLock(root: string, options: LockOptions): Promise<RunLock> {
  const lock = await lockWorkspace(root, options);
  try {
    const tell = options.onLeftover ?? ((what: string) => process.stderr.write(`warning: ${what}\n`));
    for (const what of await stopLeftovers(root)) tell(what);
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}

async function lockWorkspace(root: string, options: LockOptions): Promise<RunLock> {
  const info: Holder = { pid: process.pid, started: new Date().toISOString(), command: options.command };
  if (!hasFlock()) return acquireSocketLock(root, info, options);
  const st = withIo('open', root, () => statSync(root));
  const holderFiles = [path.join(root, '.pipeline', 'run-holder.json'), path.join(os.tmpdir(), `pipeline-run-${st.dev}-${st.ino}.json`)];
  let child = await flockOnce(root, false);
  if (child === 'busy') {
    const holder = readHolder(holderFiles);
    const busy = `another run holds this workspace (pid ${holder.pid}, \`${holder.command}\`, started ${holder.started})`;
    if (!options.wait) throw new BusyError(busy);
    options.onWait?.(holder);
    child = await flockOnce(root, true);
  }
  const held = child;
  const holderFile = existsSync(path.dirname(holderFiles[0])) ? holderFiles[0] : holderFiles[1];
  try {
    writeFileAtomic(holderFile, JSON.stringify(info));
    for (const other of holderFiles) if (other !== holderFile) rmSync(other, { force: true });
  } catch {
    // a read-only place: a waiting run cannot say who holds the lock, nothing else is lost
  }
  return {
    release: () => {
      // Who holds the lock is said only while it is held: the file goes before the lock does.
      try {
        rmSync(holderFile, { force: true });
      } catch {
        // a read-only place: the file was never written
      }
      held.stdin!.end();
    },
  };
}

// The fallback: a listening socket. The kernel releases it when its process dies, even by SIGKILL.

function socketPath(root: string): string {
  const st = statSync(root);
  const id = createHash('sha256').update(`${st.dev}:${st.ino}`).digest('hex').slice(0, 32);
  return process.platform === 'linux' ? `\0pipeline-run-${id}` : path.join(root, '.pipeline', 'run.sock');
}

function tryListen(address: string, info: Holder): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.end(JSON.stringify(info));
    });
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(undefined);
      else reject(err);
    });
    server.listen({ path: address, exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/** Ask the holder who it is; undefined when nobody answers (a socket file left by a dead process). */
function whoHolds(address: string): Promise<Holder | undefined> {
  return new Promise((resolve) => {
    let data = '';
    const socket = net.connect({ path: address });
    socket.setTimeout(1000);
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => {
      try {
        resolve(JSON.parse(data) as Holder);
      } catch {
        resolve({ pid: 0, started: '?', command: '?' });
      }
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve({ pid: 0, started: '?', command: '?' });
    });
    socket.on('error', () => resolve(undefined));
  });
}

async function acquireSocketLock(
  root: string,
  info: Holder,
  options: { wait: boolean; onWait?: (holder: Holder) => void },
): Promise<RunLock> {
  const address = socketPath(root);
  if (!address.startsWith('\0')) mkdirSync(path.dirname(address), { recursive: true });
  let told = false;
  for (;;) {
    const server = await tryListen(address, info);
    if (server) {
      return {
        release: () => {
          server.close();
          if (!address.startsWith('\0')) rmSync(address, { force: true });
        },
      };
    }
    const holder = await whoHolds(address);
    if (!holder) {
      // A socket file whose process is gone: take it over.
      if (!address.startsWith('\0')) rmSync(address, { force: true });
      continue;
    }
    if (!options.wait) {
      throw new BusyError(`another run holds this workspace (pid ${holder.pid}, \`${holder.command}\`, started ${holder.started})`);
    }
    if (!told) {
      options.onWait?.(holder);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
