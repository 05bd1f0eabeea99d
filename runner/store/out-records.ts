// Out records (what a stage's out is: path, type, hash, size) and the checks of those read from untrusted places (a
// run record, pipeline.lock, a remote's record): their shape, that they are exactly a stage's declared outs, and
// where two lists of one fingerprint disagree.
import { printable } from '../core/printable.js';
import { HASH_PATTERN, unsafeRelPath } from './hash.js';

export interface OutRecord {
  /** Workspace-relative out path as declared. */
  path: string;
  type: 'file' | 'dir';
  /** File: sha256 of the bytes. Folder: sha256 of its manifest (stored as an object too). */
  hash: string;
  size: number;
  /** A file out that is executable (by its owner); restored with mode 0755. */
  x?: true;
}

/** Whether `outs` is a list of well-formed out records (paths safe, types known, hashes sha256). */
export function validOutRecords(outs: unknown): outs is OutRecord[] {
  if (!Array.isArray(outs)) return false;
  return outs.every((o: Partial<OutRecord> | null) => {
    if (typeof o !== 'object' || o === null) return false;
    return (
      unsafeRelPath(o.path) === undefined &&
      (o.type === 'file' || o.type === 'dir') &&
      typeof o.hash === 'string' &&
      HASH_PATTERN.test(o.hash) &&
      typeof o.size === 'number' &&
      o.size >= 0 &&
      (o.x === undefined || o.x === true)
    );
  });
}

/**
 * Why recorded outs (from a run record or pipeline.lock, both untrusted) may not be restored for a stage whose
 * declared outs are `declared`: an out it does not declare, a declared one missing, one listed twice.
 * Undefined when they are exactly the declared outs.
 */
export function checkRecordedOuts(declared: readonly string[], outs: readonly OutRecord[], via: string): string | undefined {
  const want = new Set(declared);
  const seen = new Set<string>();
  for (const o of outs) {
    if (!want.has(o.path)) return `${via} lists out \`${o.path}\`, which the stage does not declare: refused, the stage runs instead`;
    if (seen.has(o.path)) return `${via} lists out \`${o.path}\` twice: refused, the stage runs instead`;
    seen.add(o.path);
  }
  const missing = declared.find((d) => !seen.has(d));
  if (missing !== undefined) return `${via} does not list out \`${missing}\`: refused, the stage runs instead`;
  return undefined;
}

/**
 * Where two out lists of one fingerprint disagree (a path, a type, a hash, an executable bit), named for a message
 * (`out/data.txt: 1a2b3c4d5e6f in pipeline.lock, 9f8e7d6c5b4a in the record`); undefined when they agree.
 */
export function outsDisagreement(trusted: readonly OutRecord[], other: readonly OutRecord[], names: [string, string]): string | undefined {
  const byPath = new Map(other.map((o) => [o.path, o]));
  const short = (o: OutRecord | undefined) => (o ? `${o.type === 'dir' ? 'folder ' : ''}${o.hash.slice(0, 12)}${o.x ? ' (executable)' : ''}` : 'nothing');
  for (const t of trusted) {
    const o = byPath.get(t.path);
    if (!o || o.type !== t.type || o.hash !== t.hash || Boolean(o.x) !== Boolean(t.x)) return printable(`\`${t.path}\`: ${short(t)} in ${names[0]}, ${short(o)} in ${names[1]}`);
  }
  // A path only the other list has came from outside: printed neutralised.
  const extra = other.find((o) => !trusted.some((t) => t.path === o.path));
  return extra ? printable(`\`${extra.path}\`: nothing in ${names[0]}, ${short(extra)} in ${names[1]}`) : undefined;
}
