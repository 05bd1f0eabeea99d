// Checks of the store made before anything runs (exit 2 when they fail): a store inside a stage's out would be
// wiped by that stage; a store path that is a file, lies below a file, or cannot be written would fail only
// after a stage ran and its previous outs were cleared.
import { accessSync, closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { removeFile, tempPathFor } from '../core/atomic.js';
import { UsageError } from '../core/errors.js';
import type { Cache } from './cache.js';
import { ioError } from './io-error.js';

const MOVE_IT = 'set PIPELINE_CACHE_DIR to a folder outside every out (unset, it is .pipeline/cache)';

export function checkStore(cache: Cache, root: string, outs: { stage: string; out: string }[]): void {
  const dir = path.resolve(cache.dir);
  for (const { stage, out } of outs) {
    const rel = path.relative(path.resolve(root, out), dir);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
      throw new UsageError(`the store \`${cache.dir}\` lies inside out \`${out}\` of stage \`${stage}\`: the stage would wipe it`, MOVE_IT);
    }
  }
  // The nearest existing ancestor must be a folder (a file there: ENOTDIR for everything below).
  for (let probe = dir; ; probe = path.dirname(probe)) {
    let st;
    try {
      st = lstatSync(probe, { throwIfNoEntry: false });
    } catch {
      st = undefined; // ENOTDIR: a file further up, found on the way
    }
    if (st) {
      if (!statSync(probe).isDirectory()) {
        throw new UsageError(
          probe === dir ? `the store \`${dir}\` is a file, not a folder` : `the store \`${dir}\` lies below \`${probe}\`, which is a file`,
          `move that file away, or ${MOVE_IT}`,
        );
      }
      break;
    }
    if (path.dirname(probe) === probe) break;
  }
  // Writable: create, write and remove a probe file where objects go (root passes permission bits, a read-only mount
  // not). Named as a temp file (core/atomic.ts), so one a killed run left is swept with the others.
  try {
    mkdirSync(cache.objectsDir, { recursive: true });
    const probe = tempPathFor(path.join(cache.objectsDir, 'probe'));
    const fd = openSync(probe, 'wx');
    try {
      writeSync(fd, 'probe');
    } finally {
      closeSync(fd);
      removeFile(probe);
    }
  } catch (err) {
    const e = ioError(err, 'write to the store', cache.dir);
    if (e instanceof UsageError) throw new UsageError(`the store is not usable: ${e.message}`, e.hint);
    throw e;
  }
}

/**
 * The workspace's state folder (`.pipeline`: logs, run records in progress, history) must be writable before
 * anything runs: a stage's log could not be opened otherwise. Each folder that exists is checked, else the one it
 * would be created in (one access(2) each: no cost to a no-op).
 */
export function checkStateDir(stateDir: string, subdirs: string[]): void {
  const root = path.dirname(stateDir);
  const nearest = (dir: string) => (existsSync(dir) ? dir : existsSync(stateDir) ? stateDir : root);
  for (const dir of new Set([stateDir, ...subdirs.map((d) => path.join(stateDir, d))].map(nearest))) {
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (err) {
      const e = ioError(err, 'write to', dir);
      if (e instanceof UsageError) {
        throw new UsageError(`the workspace's state folder is not usable: ${e.message}`, e.hint);
      }
      throw e;
    }
  }
}
