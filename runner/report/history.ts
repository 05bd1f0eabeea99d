// The workspace's run history (.pipeline/history/): per run, the fingerprint each stage ended with and the
// metrics it left. `gc` keeps the objects of the last N runs; `metrics --diff` compares against an earlier one.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
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
  mkdirSync(dir, { recursive: true });
  const fingerprints: Record<string, string> = {};
  for (const name of engine.graph.order) {
    const entry = engine.lock.get(name);
    if (entry) fingerprints[name] = entry.fingerprint;
  }
  const entry: HistoryEntry = { startedAt: startedAt.toISOString(), exitCode: summary.exitCode, fingerprints, metrics };
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  writeFileAtomic(path.join(dir, `${stamp}-${process.pid}.json`), JSON.stringify(entry));
  const names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  for (const old of names.slice(0, Math.max(0, names.length - KEEP_ENTRIES))) rmSync(path.join(dir, old), { force: true });
  return entry;
}
