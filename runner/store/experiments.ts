// Experiment records: what `pipeline exp run` recorded of each variant of a sweep, one small JSON file per
// experiment in .pipeline/experiments/NAME.json (so `exp show` reads a thousand of them in a few milliseconds and a
// removal is one unlink). Every record is untrusted input (hand-edited, pulled from a remote): it is checked
// before use, and one that fails the check is named, not used.
import { readdirSync, readFileSync, rmSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { joinUnder } from '../core/paths.js';
import { writeFileAtomic } from '../core/atomic.js';
import { HASH_PATTERN } from './hash.js';
import { Cache, defaultCacheDir, validOutRecords, type OutRecord } from './cache.js';
import { writeRoots } from './uses.js';

export const EXPERIMENT_SCHEMA_VERSION = 1;
/** Names: file names and shell words as they are, never a path. */
export const EXPERIMENT_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export type ExperimentStatus = 'ok' | 'failed';

export interface ExperimentStage {
  name: string;
  /** The stage's outcome in the variant's run: ran, restored, fresh, failed, blocked, skipped. */
  outcome: string;
  fingerprint?: string;
  outs: OutRecord[];
}

export interface ExperimentRecord {
  schemaVersion: number;
  name: string;
  status: ExperimentStatus;
  /** Why it failed: the first failed stage and its cause, in words. */
  reason?: string;
  /** The exit code a plain run of this variant would give. */
  exitCode: number;
  /** The git commit the workspace was at (null outside git). */
  commit: string | null;
  /** Every effective param, `"stage.param": value` (matrix keys included). */
  params: Record<string, unknown>;
  /** The params this experiment set (`--set` and `--grid`), `"stage.param": value`. */
  changed: Record<string, unknown>;
  /** file → dotted key → value, as `pipeline metrics --json`. */
  metrics: Record<string, Record<string, number>>;
  stages: ExperimentStage[];
  createdAt: string;
  durationMs: number;
  /** Pulled from a remote: whether its signature was checked (an unsigned one is shown, and re-run by `exp apply`). */
  pulled?: { signed: boolean };
}

export function experimentsDir(root: string): string {
  return path.join(root, '.pipeline', 'experiments');
}

/** A name given on the command line, checked (exit 2 naming it). */
export function checkExperimentName(name: string): string {
  if (!EXPERIMENT_NAME.test(name) || name === '.' || name === '..') {
    throw new UsageError(`experiment name \`${name}\` is not allowed`, 'use 1 to 100 of A-Z a-z 0-9 _ . - (no `/`, not `.` or `..`)');
  }
  return name;
}

function fileOf(root: string, name: string): string {
  return path.join(experimentsDir(root), `${checkExperimentName(name)}.json`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function validMetrics(v: unknown): boolean {
  return isObject(v) && Object.values(v).every((m) => isObject(m) && Object.values(m).every((n) => typeof n === 'number'));
}

function validStage(v: unknown): boolean {
  if (!isObject(v) || typeof v.name !== 'string' || typeof v.outcome !== 'string') return false;
  if (v.fingerprint !== undefined && !(typeof v.fingerprint === 'string' && HASH_PATTERN.test(v.fingerprint))) return false;
  return validOutRecords(v.outs);
}

/**
 * Why `v` is not an experiment record, or undefined when it is one. `summary`: the stages (fingerprints and outs,
 * most of a record's bytes) are not looked at — for a table of params and metrics, which never uses them.
 */
export function experimentProblem(v: unknown, summary = false): string | undefined {
  if (!isObject(v)) return 'not a JSON object';
  if (v.schemaVersion !== EXPERIMENT_SCHEMA_VERSION) return `schemaVersion ${JSON.stringify(v.schemaVersion)} (expected ${EXPERIMENT_SCHEMA_VERSION})`;
  if (typeof v.name !== 'string' || !EXPERIMENT_NAME.test(v.name) || v.name === '.' || v.name === '..') return 'its name is not a valid experiment name';
  if (v.status !== 'ok' && v.status !== 'failed') return 'status is neither ok nor failed';
  if (typeof v.exitCode !== 'number' || !(v.commit === null || typeof v.commit === 'string')) return 'exitCode or commit is malformed';
  if (!isObject(v.params) || !isObject(v.changed)) return 'params or changed is not an object';
  if (!validMetrics(v.metrics)) return 'metrics is not file → key → number';
  if (!Array.isArray(v.stages) || (!summary && !v.stages.every(validStage))) return 'a stage entry is malformed (name, outcome, fingerprint, outs)';
  if (typeof v.createdAt !== 'string' || typeof v.durationMs !== 'number') return 'createdAt or durationMs is malformed';
  return undefined;
}

export function hasExperiment(root: string, name: string): boolean {
  try {
    readFileSync(fileOf(root, name));
    return true;
  } catch {
    return false;
  }
}

export function writeExperiment(root: string, record: ExperimentRecord): void {
  // One line: a record is read far more often (`exp show` reads them all) than by people.
  writeFileAtomic(fileOf(root, record.name), `${JSON.stringify(record)}\n`);
}

/** One experiment by name; a usage error naming it when there is none or it is damaged. */
export function readExperiment(root: string, name: string): ExperimentRecord {
  const file = fileOf(root, name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    const known = listExperiments(root).records.map((r) => r.name);
    throw new UsageError(`no experiment \`${name}\``, known.length > 0 ? `experiments: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}` : 'record one with `pipeline exp run --grid STAGE.PARAM=A,B`');
  }
  return parseExperiment(file, text);
}

export function parseExperiment(file: string, text: string, summary = false): ExperimentRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is damaged: ${(err as Error).message}`, 'remove it with `pipeline exp remove NAME`');
  }
  const problem = experimentProblem(value, summary);
  if (problem) throw new UsageError(`${file} is not an experiment record: ${problem}`, 'remove it with `pipeline exp remove NAME`');
  return value as ExperimentRecord;
}

/** Oldest first (then by name): the order of every list of experiments. A collator compares as localeCompare does, without making one per call. */
export function byCreation(records: ExperimentRecord[]): ExperimentRecord[] {
  // ISO 8601 times of one format sort as text; code-point order (no locale's collator to load, ≈ 15 ms).
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return records.sort((a, b) => compare(a.createdAt, b.createdAt) || compare(a.name, b.name));
}

/** Every readable experiment, oldest first, and the files that are not experiment records (with why). */
export function listExperiments(root: string): { records: ExperimentRecord[]; damaged: { file: string; problem: string }[] } {
  const dir = experimentsDir(root);
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return { records: [], damaged: [] };
  }
  const records: ExperimentRecord[] = [];
  const damaged: { file: string; problem: string }[] = [];
  for (const f of names) {
    const file = path.join(dir, f);
    try {
      const r = parseExperiment(file, readFileSync(file, 'utf8'));
      if (`${r.name}.json` === f) records.push(r);
      else damaged.push({ file, problem: `it records the name \`${r.name}\`` });
    } catch (err) {
      damaged.push({ file, problem: (err as Error).message });
    }
  }
  return { records: byCreation(records), damaged };
}

/** The `*.json` files of .pipeline/experiments/ (sorted by name), each with its stat or why it has none. */
export interface RecordFiles {
  dir: string;
  /** Each record file: its name in `dir`, its path, and its stat (or why it has none). */
  files: { name: string; file: string; stat: Stats | Error }[];
}

/** Read the folder and stat every record file once (`exp show` keys its kept output and lists through the index from one look); undefined when there is no folder. */
export function statRecordFiles(root: string): RecordFiles | undefined {
  const dir = experimentsDir(root);
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return undefined;
  }
  return {
    dir,
    files: names.map((name) => {
      // A name readdir gave: joined without path.join's normalising (1,000 records: ≈ 20 ms of an `exp show`).
      const file = joinUnder(dir, name);
      try {
        return { name, file, stat: statSync(file) };
      } catch (err) {
        return { name, file, stat: err as Error };
      }
    }),
  };
}

export function removeExperiment(root: string, name: string): void {
  if (!hasExperiment(root, name)) readExperiment(root, name); // throws the usage error naming it
  rmSync(fileOf(root, name), { force: true });
}

/** What gc keeps for experiments: each stage's fingerprint and outs. */
export function experimentRoots(root: string): { fingerprint: string; outs: OutRecord[] }[] {
  return listExperiments(root).records.flatMap((r) => r.stages.filter((s) => s.fingerprint !== undefined).map((s) => ({ fingerprint: s.fingerprint!, outs: s.outs })));
}

/**
 * Tell a shared store (PIPELINE_CACHE_DIR) what this workspace's experiments reference, so that `gc` run in another
 * workspace on it keeps them too (store/uses.ts); called after experiments are recorded, pulled or removed.
 */
export function recordExperimentRoots(root: string): void {
  writeRoots(new Cache(defaultCacheDir(root)), root, experimentRoots(root), 'experiments');
}
