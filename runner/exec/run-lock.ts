// One run per workspace. The lock is a listening socket named after the workspace: the kernel releases it
// when its process dies, even by SIGKILL, so a lock left by a killed run is taken over with no stale-file
// guessing. Linux uses the abstract socket namespace; elsewhere a socket file in .pipeline/.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BusyError } from '../core/errors.js';

export interface RunLock {
  release(): void;
}

interface Holder {
  pid: number;
  started: string;
  command: string;
}

function socketPath(root: string): string {
  const id = createHash('sha256').update(root).digest('hex').slice(0, 32);
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

export async function acquireRunLock(
  root: string,
  options: { wait: boolean; command: string; onWait?: (holder: Holder) => void },
): Promise<RunLock> {
  const address = socketPath(root);
  if (!address.startsWith('\0')) mkdirSync(path.dirname(address), { recursive: true });
  const info: Holder = { pid: process.pid, started: new Date().toISOString(), command: options.command };
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
      throw new BusyError(
        `another run holds this workspace (pid ${holder.pid}, \`${holder.command}\`, started ${holder.started})`,
      );
    }
    if (!told) {
      options.onWait?.(holder);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
