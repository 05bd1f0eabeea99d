// Experiments on a remote. Each is one object under a key made from its name alone (`exp-` and the sha256 of the
// name), signed like a run record when a key is set: two teammates pushing different experiments never write the
// same object, so neither push can undo the other's. Which experiments a remote holds:
//   - where the store can list (a folder, S3), the listing of `exp-` keys: exact, whatever pushes ran at once;
//   - always also the index, an object naming experiments that is only a hint: read and merged by every pull, and
//     rewritten as the union by every push (and by a pull that found names it lacked). On a store that cannot list
//     (HTTP) it is all there is; a push reads it back after writing and writes the union again when its names are
//     missing (another push wrote in between), so only a push whose index write lands after the other's read-back
//     can drop a name from it, and any later push of that experiment puts it back. Pulling by name never needs it.
import { createHash } from 'node:crypto';
import { EXPERIMENT_NAME } from '../experiments.js';
import { UsageError } from '../../core/errors.js';
import { IntegrityError } from './backend.js';
import type { Remote } from './remote.js';

const hashOf = (what: string) => createHash('sha256').update(`pipeline-dag ${what}`).digest('hex');
/** The prefix of every experiment's key (what a listing looks for). */
export const EXPERIMENT_KEY_PREFIX = 'exp-';
export const EXPERIMENTS_INDEX_KEY = hashOf('experiments index');
export const experimentKey = (name: string): string => `${EXPERIMENT_KEY_PREFIX}${hashOf(`experiment ${name}`)}`;

/** How many times a push writes the index again after reading it back without its names. */
const INDEX_REWRITES = 5;

/** The names in the remote's index (names that are not valid are dropped). */
export async function indexedNames(remote: Remote): Promise<string[]> {
  const got = await remote.getSigned(EXPERIMENTS_INDEX_KEY, `the experiments index on ${remote.describe()}`);
  const names = got?.value.names;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string' && EXPERIMENT_NAME.test(n)) : [];
}

/** Add names to the index: read, union, write; read back, and again while another writer's index lacks them. */
export async function addToIndex(remote: Remote, names: string[]): Promise<void> {
  let known = await indexedNames(remote);
  for (let i = 0; i <= INDEX_REWRITES; i++) {
    await remote.putSigned(EXPERIMENTS_INDEX_KEY, { names: [...new Set([...known, ...names])].sort() });
    known = await indexedNames(remote);
    const have = new Set(known);
    if (names.every((n) => have.has(n))) return;
  }
}

/** Write one experiment's object (the record as pushed, without local marks). */
export async function putExperiment(remote: Remote, record: { name: string }): Promise<void> {
  await remote.putSigned(experimentKey(record.name), record);
}

/** One experiment's object by name, and whether its signature verifies; undefined when absent. */
export async function getExperiment(remote: Remote, name: string): Promise<{ value: Record<string, unknown>; signed: boolean } | undefined> {
  return getByKey(remote, experimentKey(name), `experiment \`${name}\` on ${remote.describe()}`);
}

function getByKey(remote: Remote, key: string, what: string): Promise<{ value: Record<string, unknown>; signed: boolean } | undefined> {
  return remote.getSigned(key, what);
}

/**
 * Every experiment name the remote holds, sorted: the index's names and, where the store lists, the name of every
 * `exp-` object (read to learn it; one whose recorded name does not hash to its key is named in `problems`). When
 * the listing found names the index lacks, the index is rewritten as the union.
 */
export async function remoteExperimentNames(remote: Remote): Promise<{ names: string[]; problems: string[] }> {
  const indexed = await indexedNames(remote);
  const names = new Set(indexed);
  const problems: string[] = [];
  const keys = await remote.keys('ac', EXPERIMENT_KEY_PREFIX);
  const byKey = new Set(indexed.map(experimentKey));
  for (const key of keys ?? []) {
    if (byKey.has(key)) continue;
    const what = `the experiment object ${key} on ${remote.describe()}`;
    let got: Awaited<ReturnType<typeof getByKey>>;
    try {
      got = await getByKey(remote, key, what);
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      problems.push(err.message);
      continue;
    }
    const name = got?.value.name;
    if (got === undefined) continue; // removed since it was listed
    if (typeof name !== 'string' || !EXPERIMENT_NAME.test(name) || experimentKey(name) !== key) problems.push(`${what}: it names no experiment of that key`);
    else names.add(name);
  }
  if (names.size > indexed.length) await addToIndex(remote, [...names]);
  return { names: [...names].sort(), problems };
}

/**
 * Remove experiments from the remote (a store that can remove: a folder, S3): the index first (rewritten without
 * them), then each one's object, so a pull never finds a name the index keeps whose object is gone. When a name is
 * not there, nothing is removed and the names not there are returned. Their stage results stay until `gc --remote` finds nothing else naming them.
 */
export async function removeFromRemote(remote: Remote, names: string[]): Promise<{ missing: string[] }> {
  const { backend } = remote;
  if (!backend.remove) {
    throw new UsageError(
      `remote ${remote.describe()} cannot remove what it holds (the HTTP cache layout has no deletion)`,
      'expire old entries on the server itself, or use an S3 or folder remote',
    );
  }
  const missing: string[] = [];
  for (const name of names) if (!(await backend.has('ac', experimentKey(name)))) missing.push(name);
  if (missing.length > 0) return { missing };
  const doomed = new Set(names);
  const indexed = await indexedNames(remote);
  if (indexed.some((n) => doomed.has(n))) await remote.putSigned(EXPERIMENTS_INDEX_KEY, { names: indexed.filter((n) => !doomed.has(n)) });
  for (const name of names) await backend.remove('ac', experimentKey(name));
  return { missing };
}
