// Operating-system errors of the store and the workspace (a full disk, a read-only mount, a permission, a file
// where a folder should be) as messages naming the path and the remedy, never a stack trace. Found before
// anything runs they exit 2 (like config errors); found while a stage runs or is recorded, that stage fails.
import { UsageError } from '../core/errors.js';

const REMEDIES: Record<string, (p: string) => string> = {
  ENOSPC: () => 'the disk is full: free space (e.g. `pipeline gc`), or point PIPELINE_CACHE_DIR at a larger disk',
  EDQUOT: () => 'the disk quota is exhausted: free space (e.g. `pipeline gc`), or point PIPELINE_CACHE_DIR elsewhere',
  EROFS: () => 'the filesystem is mounted read-only: remount it read-write, or point PIPELINE_CACHE_DIR at a writable place',
  EACCES: (p) => `no permission: give this user access to \`${p}\` (chmod/chown), or run as its owner`,
  EPERM: (p) => `operation not permitted: check the ownership and attributes of \`${p}\``,
  ENOTDIR: (p) => `a file stands where a folder is expected on the way to \`${p}\`: move that file away`,
  EISDIR: (p) => `a folder stands where a file is expected at \`${p}\`: move that folder away`,
  EMFILE: () => 'too many open files: raise the limit (`ulimit -n`)',
  EIO: () => 'the device reported an I/O error: check the disk',
};

export class IoError extends UsageError {
  constructor(
    message: string,
    hint: string,
    readonly code: string,
  ) {
    super(message, hint);
    this.name = 'IoError';
  }
}

/** `err` as an IoError when it is an OS error with a known remedy; anything else is returned unchanged. */
export function ioError(err: unknown, doing: string, file: string): unknown {
  const e = err as NodeJS.ErrnoException;
  const remedy = e && typeof e.code === 'string' ? REMEDIES[e.code] : undefined;
  if (!remedy || err instanceof UsageError) return err;
  const where = file;
  return new IoError(`cannot ${doing} \`${where}\`: ${e.code} (${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')})`, remedy(where), e.code!);
}

/**
 * `err` as an IoError worded from what the error itself says (its system call and path), for errors caught far from
 * the call that failed; anything else is returned unchanged.
 */
export function ioErrorOf(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  const doing = e?.syscall === 'unlink' || e?.syscall === 'rmdir' ? 'remove' : (e?.syscall ?? 'use');
  return ioError(err, doing, e?.path ?? 'a file of the stage');
}

/** withIo for work that awaits. */
export async function withIoAsync<T>(doing: string, file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw ioError(err, doing, file);
  }
}

/** Run `fn`, turning OS errors into IoErrors naming `file`. */
export function withIo<T>(doing: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw ioError(err, doing, file);
  }
}
