// The fresh record (bin/fresh.js): a no-op `run` answered by stat, written only by a run holding the workspace's
// lock that found everything up to date. Whoever takes the lock may change what a no-op would find, so taking the
// workspace drops it first: it answers no run from then on until a run writes it again.
import { rmSync } from 'node:fs';
import path from 'node:path';

export const FRESH_RECORD = path.join('.pipeline', 'state', 'fresh.json');

export function dropFreshRecord(root: string): void {
  try {
    rmSync(path.join(root, FRESH_RECORD), { force: true });
  } catch {
    // a read-only place: no record was written there either
  }
}
