// A dep under /proc, /sys or /dev (but /dev/shm) can never be hashed (store/places.ts): refused when the file is
// read, at the dep's place, whether written literally or produced by a `${param}` (then naming the `--set` too).
// A symlink or a mount leading there is found when the dep is hashed: the stage fails with the same message.
import path from 'node:path';
import { unhashableTree, UNHASHABLE_HINT } from '../store/places.js';
import { isExternalDep } from '../core/paths.js';

/** Why a dep (normalized, relative to `root` or absolute) cannot be hashed, by its path alone; undefined when it may. */
export function unhashableDep(root: string, dep: string): string | undefined {
  return isExternalDep(dep) ? unhashableTree(path.resolve(root, dep)) : undefined;
}

export { UNHASHABLE_HINT };
