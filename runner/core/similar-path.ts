// "Did you mean" for a path that does not exist (`data/house.csv` → `data/houses.csv`): a path some stage declares
// (an out not written yet), else the path on disk whose names are each the closest to the missing one's, one folder
// at a time from the first name that does not exist.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { didYouMean } from './errors.js';

/** At most this many names of one folder are compared (a folder of 100,000 files is not read into a suggestion). */
const MAX_ENTRIES = 5000;

/**
 * A path like `rel` (relative to `root`, `/`-separated, or absolute) that exists or is declared, or undefined.
 * `declared` are workspace-relative paths that will exist (the outs of stages).
 */
export function similarPath(root: string, rel: string, declared: Iterable<string> = []): string | undefined {
  const onDisk = similarOnDisk(root, rel);
  // The closer of the two: the path on disk, or an out not written yet.
  return didYouMean(rel, [...(onDisk === undefined ? [] : [onDisk]), ...[...declared].filter((d) => d !== rel)]);
}

/** The path on disk whose names are each the closest to `rel`'s, from the first name that does not exist. */
function similarOnDisk(root: string, rel: string): string | undefined {
  const absolute = path.isAbsolute(rel);
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  const fixed: string[] = [];
  for (const part of parts) {
    const dir = path.resolve(absolute ? '/' : root, ...fixed);
    if (part === '..' || existsSync(path.join(dir, part))) {
      fixed.push(part);
      continue;
    }
    const best = didYouMean(part, namesIn(dir, part));
    if (best === undefined) return undefined;
    fixed.push(best);
  }
  const found = `${absolute ? '/' : ''}${fixed.join('/')}`;
  return found !== rel && existsSync(path.resolve(root, found)) ? found : undefined;
}

/** The names in a folder (hidden ones only for a hidden name), or none when it cannot be read. */
function namesIn(dir: string, name: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.slice(0, MAX_ENTRIES).filter((n) => !n.startsWith('.') || name.startsWith('.'));
}
