// pipeline.lock: the committed record of the last successful state of every stage — its fingerprint,
// definition, params, and the hashes of what it read and wrote (the analogue of dvc.lock). JSON, stages in
// pipeline order, written atomically.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { OutRecord } from './cache.js';
import { removeStaleTemps, writeFileAtomic } from '../core/atomic.js';
import { UsageError } from '../core/errors.js';
import type { StageDefinition, StageInputs } from '../plan/fingerprint.js';

export const LOCK_VERSION = 1;
export const LOCK_FILE = 'pipeline.lock';

export interface LockEntry extends StageInputs {
  fingerprint: string;
  definition: StageDefinition;
  outs: OutRecord[];
}

export interface LockData {
  version: number;
  stages: Record<string, LockEntry>;
}

export class LockFile {
  private data: LockData = { version: LOCK_VERSION, stages: {} };
  private dirty = false;

  constructor(readonly file: string) {}

  static load(root: string): LockFile {
    const lock = new LockFile(path.join(root, LOCK_FILE));
    if (existsSync(lock.file)) {
      let parsed: LockData;
      try {
        parsed = JSON.parse(readFileSync(lock.file, 'utf8')) as LockData;
      } catch (err) {
        throw new UsageError(
          `${lock.file}: not valid JSON (${(err as Error).message})`,
          `restore it from version control, or delete it to rebuild it (every stage then re-checks its outputs)`,
        );
      }
      if (parsed.version !== LOCK_VERSION || typeof parsed.stages !== 'object' || parsed.stages === null) {
        throw new UsageError(`${lock.file}: unsupported lock format (version ${String(parsed.version)})`, 'delete it to rebuild it');
      }
      lock.data = parsed;
    }
    return lock;
  }

  get(stage: string): LockEntry | undefined {
    return Object.hasOwn(this.data.stages, stage) ? this.data.stages[stage] : undefined;
  }

  set(stage: string, entry: LockEntry): void {
    this.data.stages[stage] = entry;
    this.dirty = true;
  }

  /** Write the file if anything changed, stages in the given order (pipeline order); unknown stages are dropped. */
  save(order: string[]): void {
    if (!this.dirty) return;
    const stages: Record<string, LockEntry> = {};
    for (const name of order) {
      const entry = this.get(name);
      if (entry) stages[name] = entry;
    }
    removeStaleTemps(this.file);
    writeFileAtomic(this.file, `${JSON.stringify({ version: LOCK_VERSION, stages }, null, 2)}\n`);
    this.dirty = false;
  }
}
