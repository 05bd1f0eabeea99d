// One run per workspace, however it is reached. The lock is an flock(2) on the workspace folder itself: a lock on
// its inode, so a path through a symlink, a bind mount or another mount of the same folder meets the same lock,
// and unlike an abstract socket it is not confined to one network namespace (a container sharing the folder);
// taking it writes nothing. Node cannot call flock itself: this process opens the folder and util-linux `flock`
// locks that open file (handed to it as fd 3) and exits. The lock belongs to the open file, which only this
// process then holds: closing it releases the lock, and when this process ends in any way (even SIGKILL) the
// kernel closes it and drops the lock at once, with no stale-file guessing and no helper process left running.
// Who holds it is written to `.pipeline/run-holder.json` (or, before .pipeline/ exists, to a file in the temp
// folder named after the folder's device and inode).
// Where `flock` is not installed the lock falls back to a listening unix socket named after the workspace's
// device and inode (in the abstract namespace on Linux: per network namespace only).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { removeFile, writeFileAtomic } from '../core/atomic.js';
import { BusyError } from '../core/errors.js';
import { withIo } from '../store/io-error.js';
import { runHelper } from './launch.js';

export interface RunLock {
  release(): void;
}

/** Who holds the lock (written beside it while held). */
export interface Holder {
  pid: number;
  started: string;
  command: string;
}

const BUSY = 75;

/** The fresh record, which whoever takes the lock drops (fresh-record.ts). */
export { FRESH_RECORD } from './fresh-record.js';

/**
 * `flock` on the open folder `fd`: 'locked' once this process's open file holds the lock, 'busy' (only when not
 * waiting), or 'no-flock' when the command is not installed.
 */
async function flockOnce(fd: number, wait: boolean): Promise<'locked' | 'busy' | 'no-flock'> {
  const r = await runHelper('flock', [...(wait ? [] : ['-n']), '-E', String(BUSY), '3'], { fds: [fd], timeoutMs: 0 });
  if (r.error === 'ENOENT') return 'no-flock';
  if (r.code === 0) return 'locked';
  if (r.code === BUSY) return 'busy';
  throw new Error(`flock on the workspace folder failed (${r.error ?? `exit ${r.code}`}): ${r.stderr.trim()}`);
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
  /** Told who holds the lock, once, when this one starts waiting for it. */
  onWait?: (holder: Holder) => void;
}

/** A first attempt at the run lock, without waiting, under way: its `flock` process runs while this one goes on. */
export interface LockAttempt {
  /** The lock (waiting behind another run if `options.wait`, else a BusyError says who holds it). */
  acquire(options: LockOptions): Promise<RunLock>;
  /** Not taking it after all (the command failed before): the lock is released if the attempt got it. */
  abandon(): Promise<void>;
}

/** What the first attempt found: the lock, another run holding it (the open folder kept to wait on), or no `flock`. */
type FirstAttempt = { lock: RunLock } | { busy: number; holderFiles: string[] } | 'no-flock';

/**
 * Start taking the workspace's run lock without waiting for another run (on Linux the `flock` process starts now);
 * `acquire` goes on from its answer. Nothing but who holds the lock is written.
 */
export function startRunLock(root: string, command: string): LockAttempt {
  const info: Holder = { pid: process.pid, started: new Date().toISOString(), command };
  const first = process.platform === 'linux' ? firstAttempt(root, info) : Promise.resolve<FirstAttempt>('no-flock');
  // Until acquire or abandon looks at it, a failed attempt is not an unhandled rejection.
  first.catch(() => undefined);
  return {
    acquire: async (options) => lockWorkspace(root, info, options, await first),
    abandon: async () => {
      const attempt = await first.catch(() => undefined);
      if (attempt === undefined || attempt === 'no-flock') return;
      if ('lock' in attempt) attempt.lock.release();
      else closeSync(attempt.busy);
    },
  };
}

async function firstAttempt(root: string, info: Holder): Promise<FirstAttempt> {
  const fd = withIo('open', root, () => openSync(root, 'r'));
  try {
    const st = fstatSync(fd);
    const holderFiles = [path.join(root, '.pipeline', 'run-holder.json'), path.join(os.tmpdir(), `pipeline-run-${st.dev}-${st.ino}.json`)];
    const state = await flockOnce(fd, false);
    if (state === 'locked') return { lock: holdLock(fd, holderFiles, info) };
    if (state === 'busy') return { busy: fd, holderFiles };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  closeSync(fd);
  return 'no-flock';
}

async function lockWorkspace(root: string, info: Holder, options: LockOptions, first: FirstAttempt): Promise<RunLock> {
  if (first === 'no-flock') return acquireSocketLock(root, info, options);
  if ('lock' in first) return first.lock;
  const { busy: fd, holderFiles } = first;
  let state: Awaited<ReturnType<typeof flockOnce>>;
  try {
    const holder = readHolder(holderFiles);
    if (!options.wait) throw new BusyError(`another run holds this workspace (pid ${holder.pid}, \`${holder.command}\`, started ${holder.started})`);
    options.onWait?.(holder);
    state = await flockOnce(fd, true);
    if (state === 'locked') return holdLock(fd, holderFiles, info);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  closeSync(fd);
  return acquireSocketLock(root, info, options);
}

/** The lock is held through `fd`: say who holds it, and release it by closing `fd`. */
function holdLock(fd: number, holderFiles: string[], info: Holder): RunLock {
  const holderFile = existsSync(path.dirname(holderFiles[0])) ? holderFiles[0] : holderFiles[1];
  try {
    writeFileAtomic(holderFile, JSON.stringify(info));
    for (const other of holderFiles) if (other !== holderFile) removeFile(other);
  } catch {
    // a read-only place: a waiting run cannot say who holds the lock, nothing else is lost
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      // Who holds the lock is said only while it is held: the file goes before the lock does.
      try {
        removeFile(holderFile);
      } catch {
        // a read-only place: the file was never written
      }
      closeSync(fd);
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
