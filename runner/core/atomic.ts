// Every file the engine writes goes through a temp file in the same folder and a rename,
// so a crash at any moment leaves either the old bytes or the new ones, never a mix.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Whether a process with this id exists (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the temp files of `target` left by processes that died before renaming them into place (a crash, a
 * SIGKILL): `.NAME.PID.HEX.tmp` (tempPathFor) and `NAME.PID.restore.tmp` (a folder being restored). Those of
 * live processes are left alone.
 */
export function removeStaleTemps(target: string): void {
  const dir = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    let pid: string | undefined;
    if (name.startsWith(`.${base}.`) && name.endsWith('.tmp')) pid = /^(\d+)\.[0-9a-f]{8}$/.exec(name.slice(base.length + 2, -4))?.[1];
    else if (name.startsWith(`${base}.`) && name.endsWith('.restore.tmp')) pid = /^(\d+)$/.exec(name.slice(base.length + 1, -12))?.[1];
    if (pid !== undefined && !processAlive(Number(pid))) rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

export function writeFileAtomic(target: string, data: string | Uint8Array, options: { fsync?: boolean } = {}): void {
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      if (options.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
