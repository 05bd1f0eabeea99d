// Warnings of the commands that run no stages (status, update, metrics, push, verify, …): on stderr, worded as a
// run's are (report/notices.ts); a run says them through its event stream instead (session.ts).
import type { Warning } from '../../exec/events.js';
import type { PipelineConfig } from '../../config/types.js';
import { openEngine, type Engine } from '../../plan/engine.js';
import { noticeLine } from '../../report/notices.js';
import type { LockFile } from '../../store/lockfile.js';

export function printWarning(warning: Warning): void {
  process.stderr.write(noticeLine({ type: 'warning', warning })!);
}

/** pipeline.lock's entries that were ignored, each a warning. */
export function printLockWarnings(lock: LockFile): void {
  for (const { stage, problem } of lock.ignored) printWarning({ code: 'lock-entry-ignored', file: lock.file, stage, problem });
}

/** The engine over a config for a command that runs no stages, pipeline.lock's warnings printed. */
export function openEngineWarned(config: PipelineConfig): Engine {
  const engine = openEngine(config);
  printLockWarnings(engine.lock);
  return engine;
}
