// The last answer of `pipeline exp show`, kept beside the records: its output, under a key made of everything the
// output is computed from — the name and stat identity (inode, size, mtime, ctime) of every `*.json` file in
// .pipeline/experiments/, the workspace's row, the flags, and the code that printed it. A repeated `exp show` with
// nothing changed prints it after a readdir and a stat per record, without reading the table index. Like the index it
// is a cache, never a source: none is kept while any record file changed within the racy window (a file rewritten
// within the timestamps' granularity could keep its stat), and one that is damaged or of another key is ignored.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/atomic.js';
import { RACY_NS } from './stat-cache.js';
import { experimentsDir, statRecordFiles } from './experiments.js';

const FILE = '.show-output';
const FORMAT = 'pipeline-dag exp show output 1';

export interface ShownOutput {
  stdout: string;
  stderr: string;
}

/** The code that prints the table (the bundle or the source file running now), as its stat. */
function codeIdentity(): string {
  try {
    const st = statSync(fileURLToPath(import.meta.url));
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return 'unknown';
  }
}

/**
 * The key of an output made from the records as they are now and `inputs` (the workspace row, the flags), or
 * undefined when a record file changed within the racy window or cannot be stat'ed (then nothing is kept). `look`:
 * the records' stats when the caller already has them.
 */
export function outputKey(root: string, inputs: unknown, now = Date.now(), look = statRecordFiles(root)): string | undefined {
  if (look === undefined) return undefined;
  const racyBefore = now - Number(RACY_NS / 1_000_000n);
  const hash = createHash('sha256').update(FORMAT).update('\0').update(codeIdentity()).update('\0').update(JSON.stringify(inputs) ?? '');
  for (const { name, stat: st } of look.files) {
    if (st instanceof Error || !(st.mtimeMs < racyBefore && st.ctimeMs < racyBefore)) return undefined;
    hash.update(`\0${name}\0${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`);
  }
  return hash.digest('hex');
}

/** The output kept under `key`, if that is the one kept. */
export function readOutput(root: string, key: string): ShownOutput | undefined {
  try {
    const kept = JSON.parse(readFileSync(path.join(experimentsDir(root), FILE), 'utf8')) as { key?: unknown; stdout?: unknown; stderr?: unknown };
    if (kept.key !== key || typeof kept.stdout !== 'string' || typeof kept.stderr !== 'string') return undefined;
    return { stdout: kept.stdout, stderr: kept.stderr };
  } catch {
    return undefined;
  }
}

/** Keep an output under `key` (best effort: a read-only workspace keeps none). */
export function keepOutput(root: string, key: string, output: ShownOutput): void {
  try {
    writeFileAtomic(path.join(experimentsDir(root), FILE), JSON.stringify({ key, ...output }));
  } catch {
    // only ever a cache
  }
}
