// Every file the engine writes goes through a temp file in the same folder and a rename,
// so a crash at any moment leaves either the old bytes or the new ones, never a mix. This module is the one
// place that names those temp files (`.NAME.PID.HEX.tmp` beside NAME), so one sweep finds the leftovers of
// killed processes wherever they are. Durable writes (objects, run records, pipeline.lock) are flushed to disk
// before the rename, so a power loss cannot leave a renamed but empty file.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { close, closeSync, constants, copyFileSync, existsSync, fsync, fsyncSync, mkdirSync, open, openSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/** A fresh temp name beside `target` for a file or a folder about to be renamed onto it. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** The pid of the process that made a temp name (of `tempPathFor`, or a legacy `NAME.PID.restore.tmp`), if it is one. */
export function tempOwner(name: string): number | undefined {
  const m = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name) ?? /^.+\.(\d+)\.restore\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
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
 * SIGKILL): `.NAME.PID.HEX.tmp` (tempPathFor) and the legacy `NAME.PID.restore.tmp`. Those of live processes
 * are left alone.
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
    if (pid === undefined || processAlive(Number(pid))) continue;
    try {
      rmSync(path.join(dir, name), { recursive: true, force: true });
    } catch {
      // a read-only folder: the leftover stays until a run can write there
    }
  }
}

/**
 * Remove a file if it is there, as `rmSync(file, { force: true })` does for a file, in one unlink(2): Node 20's rmSync
 * goes through its rimraf (loaded at first use, ≈ 1 ms, then an lstat before each unlink). A folder is refused.
 */
export function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
}

/** fsync a file by path. */
export function flushFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync files by path, all at once on libuv's threads (the filesystem commits concurrent flushes together). */
export async function flushFiles(files: string[]): Promise<void> {
  const flushed = await Promise.allSettled(files.map(flushFileAsync));
  const failed = flushed.find((r) => r.status === 'rejected');
  if (failed) throw Object.assign(failed.reason as Error, { flushing: files[flushed.indexOf(failed)] });
}

/**
 * fsync a file by path in libuv's thread pool: the event loop goes on with other work while the disk catches up.
 * On fs's callbacks: node:fs/promises would load with every command that imports this module (≈ 1.5 ms).
 */
export function flushFileAsync(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    open(file, 'r+', (openError, fd) => {
      if (openError) return reject(openError);
      fsync(fd, (syncError) =>
        close(fd, (closeError) => {
          const failed = syncError ?? closeError;
          if (failed) reject(failed);
          else resolve();
        }),
      );
    });
  });
}

/**
 * syncfs of the filesystem holding `file` (`sync -f`), the event loop free while it works: false where that is
 * missing or failed (then each file is flushed on its own).
 */
export function syncFileSystemOf(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('sync', ['-f', file], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/**
 * `writeFileAtomic(target, data, { durable: true })` with the flush off the event loop (flushFileAsync): the same
 * bytes reach the disk before the rename, and other stages of the run go on meanwhile.
 */
export async function writeFileDurably(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = writeTemp(target, data, false);
  await namingTarget(target, tmp, async () => {
    await flushFileAsync(tmp);
    renameSync(tmp, target);
  });
}

/** Write `data` to `target` atomically; `durable` flushes the bytes to disk before the rename. */
export function writeFileAtomic(target: string, data: string | Uint8Array, options: { durable?: boolean } = {}): void {
  const tmp = writeTemp(target, data, options.durable ?? false);
  namingTarget(target, tmp, () => renameSync(tmp, target));
}

/** `data` in a fresh temp file beside `target` (flushed when `flush`): its path. Nothing is left when it fails. */
function writeTemp(target: string, data: string | Uint8Array, flush: boolean): string {
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  namingTarget(target, tmp, () => {
    // 'wx': a fresh file, never one (or a symlink) already at the temp name
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      if (flush) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
  return tmp;
}

/**
 * Run a step of writing `target` through `tmp`; when it fails, `tmp` is removed and the error names `target` (a
 * failed write(2) names no file: the message can then say which one, store/io-error.ts).
 */
function namingTarget<T>(target: string, tmp: string, step: () => T): T {
  const failed = (err: unknown): never => {
    rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e === 'object' && e.code !== undefined && e.path === undefined) e.path = target;
    throw err;
  };
  try {
    const result = step();
    return result instanceof Promise ? (result.catch(failed) as T) : result;
  } catch (err) {
    return failed(err);
  }
}

/** Copy `source` onto `target` atomically (a reflink where the filesystem can); `durable` as for writeFileAtomic. */
export function copyFileAtomic(source: string, target: string, options: { durable?: boolean } = {}): void {
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    copyFileSync(source, tmp, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
    if (options.durable) flushFile(tmp);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Rename `from` to `to`, making `to`'s folder only when the rename finds it missing (one syscall when it is there). */
export function renameMakingFolder(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(from)) throw err;
    mkdirSync(path.dirname(to), { recursive: true });
    renameSync(from, to);
  }
}
