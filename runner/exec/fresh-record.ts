// The fresh record (bin/fresh.js): a no-op `run` answered by stat, written only by a run holding the workspace's
// lock that found everything up to date, signed with the workspace's key (FRESH_KEY). Whoever takes the lock may
// change what a no-op would find, so taking the workspace drops it first, and every run drops it again when its
// stages are done (what a stage wrote there is not the runner's): it answers no run until a run writes it again.
import path from 'node:path';
import { removeFile } from '../core/atomic.js';

export const FRESH_RECORD = path.join('.pipeline', 'state', 'fresh.json');
/** The per-workspace secret (mode 0600) the record's HMAC is keyed by; bin/fresh.js creates it. */
export const FRESH_KEY = path.join('.pipeline', 'state', 'fresh-key');

export function dropFreshRecord(root: string): void {
  try {
    removeFile(path.join(root, FRESH_RECORD));
  } catch {
    // a read-only place: no record was written there either
  }
}
