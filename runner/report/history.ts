// The workspace's run history (.pipeline/history/): per run, the fingerprint each stage ended with and the
// metrics it left. `gc` keeps the objects of the last N runs; `metrics --diff` compares against an earlier one.
import { lstatSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { removeFile, writeFileAtomic } from '../core/atomic.js';
import { IoError } from '../store/io-error.js';
import type { Engine } from '../plan/engine.js';
import type { MetricsSnapshot } from './metrics.js';
import type { RunSummary } from '../exec/events.js';

export interface HistoryEntry {
  startedAt: string;
  exitCode: number;
  fingerprints: Record<string, string>;
  metrics: MetricsSnapshot;
}

export const KEEP_ENTRIES = 200;

function historyDir(engine: Engine): string {
  return path.join(engine.stateDir, 'history');
}

export function readHistory(engine: Engine): HistoryEntry[] {
  const dir = historyDir(engine);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const entries: HistoryEntry[] = [];
  for (const n of names) {
    try {
      entries.push(JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as HistoryEntry);
    } catch {
      // a damaged entry is skipped
    }
  }
  return entries;
}

/** Add the run's entry (the fingerprints and metrics it ended with) to the history, keeping the last KEEP_ENTRIES; returns it. */
export function appendHistory(engine: Engine, startedAt: Date, summary: RunSummary, metrics: MetricsSnapshot): HistoryEntry {
  const dir = historyDir(engine);
  ownFolder(dir);
  const fingerprints: Record<string, string> = {};
  for (const name of engine.graph.order) {
    const entry = engine.lock.get(name);
    if (entry) fingerprints[name] = entry.fingerprint;
  }
  const entry: HistoryEntry = { startedAt: startedAt.toISOString(), exitCode: summary.exitCode, fingerprints, metrics };
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  writeFileAtomic(path.join(dir, `${stamp}-${process.pid}.json`), JSON.stringify(entry));
  const names = readdirSync(dir).filter((n) => ENTRY_NAME.test(n)).sort();
  for (const old of names.slice(0, Math.max(0, names.length - KEEP_ENTRIES))) removeFile(path.join(dir, old));
  return entry;
}

/** The names history entries are written under (`<startedAt, : and . as ->-<pid>.json`): only those are pruned. */
export const ENTRY_NAME = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-\d+\.json$/;

/** The history folder, created when missing; a symlink or a file there is refused (pruning never leaves .pipeline/). */
function ownFolder(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) {
    mkdirSync(dir, { recursive: true });
    return;
  }
  if (!st.isDirectory()) {
    throw new IoError(
      `\`${path.join('.pipeline', 'history')}\` is ${st.isSymbolicLink() ? 'a symlink' : 'not a folder'}: the run history is kept only in a folder of the workspace's own`,
      'remove it (`rm .pipeline/history`); the next run makes the folder',
      'ENOTDIR',
    );
  }
}
