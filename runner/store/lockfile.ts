// pipeline.lock: the committed record of the last successful state of every stage — its fingerprint,
// definition, params, and the hashes of what it read and wrote (the analogue of dvc.lock). JSON, stages in
// pipeline order, written atomically and flushed to disk. A committed file, so untrusted input: an entry of the
// wrong shape is ignored (its stage is re-checked) and listed in `ignored`, for the command to warn about, and the
// outs an entry lists are checked against the stage's declared outs before anything is restored from them
// (checkRecordedOuts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validOutRecords, type OutRecord } from './cache.js';
import { withIo } from './io-error.js';
import { removeStaleTemps, writeFileAtomic } from '../core/atomic.js';
import { UsageError } from '../core/errors.js';

export const LOCK_VERSION = 1;
export const LOCK_FILE = 'pipeline.lock';

/** What a stage read, by content: the three parts that, with its definition, decide its outputs. */
export interface StageInputs {
  /** Module stages: the module and its local imports, file → hash. */
  code: Record<string, string>;
  /** Declared deps (patterns expanded), file or folder → hash. */
  deps: Record<string, string>;
  /** Upstream outs, `stage:out` → hash. */
  upstream: Record<string, string>;
}

/** The parts of a stage's definition that can change what it writes. */
export interface StageDefinition {
  kind: 'cmd' | 'module';
  cmd?: string[];
  shell?: boolean;
  module?: string;
  params: Record<string, unknown>;
  env: Record<string, string>;
  outs: string[];
}

/** Where an expansion of a template comes from: the template's name and the expansion's matrix values. */
export interface LockTemplate {
  name: string;
  matrix: Record<string, string | number | boolean>;
}

export interface LockEntry extends StageInputs {
  fingerprint: string;
  definition: StageDefinition;
  outs: OutRecord[];
  /** For an expansion of a template (`matrix:`): which template and values; written from the config, never read for a decision. */
  template?: LockTemplate;
}

export interface LockData {
  version: number;
  stages: Record<string, LockEntry>;
}

/** An entry of pipeline.lock that could not be used. */
export interface IgnoredEntry {
  stage: string;
  problem: string;
}

export class LockFile {
  private data: LockData = { version: LOCK_VERSION, stages: {} };
  private dirty = false;
  /** Entries of the wrong shape, ignored when the file was read: each stage is checked again. */
  readonly ignored: IgnoredEntry[] = [];

  constructor(readonly file: string) {}

  static load(root: string): LockFile {
    const lock = new LockFile(path.join(root, LOCK_FILE));
    let text: string;
    try {
      text = readFileSync(lock.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return lock;
      return withIo('read', lock.file, () => {
        throw err;
      });
    }
    return LockFile.parse(lock.file, text);
  }

  /** A lock from its text, as if read from `file` (which names it in every message): e.g. the lock at a git revision. */
  static parse(file: string, text: string): LockFile {
    const lock = new LockFile(file);
    const remedy =
      'restore it from version control (`git checkout -- pipeline.lock`), or delete it: the next run rebuilds it, ' +
      'restoring from the store every stage whose inputs it has seen and running the others';
    if (text.trim() === '') throw new UsageError(`${lock.file} is damaged: it is empty (an interrupted write or copy)`, remedy);
    let parsed: LockData;
    try {
      parsed = JSON.parse(text) as LockData;
    } catch (err) {
      throw new UsageError(`${lock.file} is damaged: not valid JSON, ${text.length} bytes, truncated or edited (${(err as Error).message})`, remedy);
    }
    if (parsed === null || typeof parsed !== 'object' || parsed.version !== LOCK_VERSION || typeof parsed.stages !== 'object' || parsed.stages === null) {
      throw new UsageError(`${lock.file}: unsupported or damaged lock format (version ${String((parsed as LockData | null)?.version)})`, remedy);
    }
    const stages: Record<string, LockEntry> = {};
    for (const [name, entry] of Object.entries(parsed.stages)) {
      const problem = entryProblem(entry);
      if (problem) lock.ignored.push({ stage: name, problem });
      else stages[name] = withTemplateChecked(entry);
    }
    lock.data = { version: LOCK_VERSION, stages };
    return lock;
  }

  get(stage: string): LockEntry | undefined {
    return Object.hasOwn(this.data.stages, stage) ? this.data.stages[stage] : undefined;
  }

  set(stage: string, entry: LockEntry): void {
    this.data.stages[stage] = entry;
    this.dirty = true;
  }

  /**
   * Write the file if anything changed, stages in the given order (pipeline order); unknown stages are dropped.
   * `templateOf` says where each expansion of a template comes from (its entry's `template`).
   */
  save(order: string[], templateOf: (stage: string) => LockTemplate | undefined = () => undefined): boolean {
    // A killed run may have left its temp copy of the lock even when this run has nothing new to write.
    removeStaleTemps(this.file);
    for (const name of order) {
      const entry = this.get(name);
      const want = templateOf(name);
      if (!entry || JSON.stringify(entry.template) === JSON.stringify(want)) continue;
      delete entry.template;
      if (want) entry.template = want;
      this.dirty = true;
    }
    if (!this.dirty) return false;
    const stages: Record<string, LockEntry> = {};
    for (const name of order) {
      const entry = this.get(name);
      if (entry) stages[name] = entry;
    }
    withIo('write', this.file, () => writeFileAtomic(this.file, `${JSON.stringify({ version: LOCK_VERSION, stages }, null, 2)}\n`, { durable: true }));
    this.dirty = false;
    return true;
  }

  /** The stages it has an entry for, in the file's order. */
  names(): string[] {
    return Object.keys(this.data.stages);
  }

  /** Every entry, for the store's record of what this workspace references. */
  entries(): LockEntry[] {
    return Object.values(this.data.stages);
  }
}

/** Why an entry of pipeline.lock cannot be used, or undefined when its shape is right. */
function entryProblem(entry: unknown): string | undefined {
  const e = entry as Partial<LockEntry> | null;
  if (typeof e !== 'object' || e === null) return 'not an object';
  if (typeof e.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(e.fingerprint)) return 'no valid fingerprint';
  if (typeof e.definition !== 'object' || e.definition === null) return 'no definition';
  if (!validOutRecords(e.outs)) return 'its `outs` are malformed (unsafe paths, unknown types or bad hashes)';
  for (const part of ['deps', 'code', 'upstream'] as const) {
    const v = e[part];
    if (v !== undefined && (typeof v !== 'object' || v === null || Object.values(v).some((h) => typeof h !== 'string'))) return `its \`${part}\` are malformed`;
  }
  return undefined;
}

/** An entry's `template` is kept only in its own shape (it is rewritten from the config at the next save anyway). */
function withTemplateChecked(entry: LockEntry): LockEntry {
  const t = entry.template as Partial<LockTemplate> | undefined;
  if (t === undefined) return entry;
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (typeof t === 'object' && t !== null && typeof t.name === 'string' && typeof t.matrix === 'object' && t.matrix !== null && Object.values(t.matrix).every(scalar)) return entry;
  const { template: _dropped, ...rest } = entry;
  return rest;
}
