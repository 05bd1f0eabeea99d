// Metrics: the numbers in the JSON files a stage lists under `metrics:`, flattened to dotted keys.
import { readFileSync } from 'node:fs';
import type { Engine } from '../plan/engine.js';

/** file → dotted key → value. */
export type MetricsSnapshot = Record<string, Record<string, number>>;

function flatten(value: unknown, prefix: string, into: Record<string, number>): void {
  if (typeof value === 'number') into[prefix] = value;
  else if (Array.isArray(value)) value.forEach((v, i) => flatten(v, prefix ? `${prefix}.${i}` : String(i), into));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, into);
  }
}

export function collectMetrics(engine: Engine): MetricsSnapshot {
  const snapshot: MetricsSnapshot = {};
  for (const name of engine.graph.order) {
    for (const file of engine.graph.stage(name).metrics) {
      try {
        const values: Record<string, number> = {};
        flatten(JSON.parse(readFileSync(engine.ws.abs(file), 'utf8')), '', values);
        snapshot[file] = values;
      } catch {
        // missing or not JSON: nothing to show for it yet
      }
    }
  }
  return snapshot;
}

export interface MetricChange {
  file: string;
  key: string;
  old?: number;
  new?: number;
}

export function diffMetrics(before: MetricsSnapshot, after: MetricsSnapshot, all: boolean): MetricChange[] {
  const rows: MetricChange[] = [];
  for (const file of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = before[file] ?? {};
    const b = after[file] ?? {};
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (all || a[key] !== b[key]) rows.push({ file, key, old: a[key], new: b[key] });
    }
  }
  return rows;
}

export function sameMetrics(a: MetricsSnapshot, b: MetricsSnapshot): boolean {
  return diffMetrics(a, b, false).length === 0;
}
