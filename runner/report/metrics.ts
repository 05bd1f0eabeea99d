// Metrics: the numbers in the JSON or YAML files a stage lists under `metrics:`, flattened to dotted keys.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Yaml from 'yaml';
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

export interface MetricsRead {
  snapshot: MetricsSnapshot;
  /** Declared metrics files absent from the workspace (the stage has not run, or its outs were removed). */
  missing: { stage: string; file: string }[];
  /** Present but not readable as metrics: what is wrong with each. */
  unreadable: { stage: string; file: string; problem: string }[];
}

function parseMetrics(file: string, text: string): unknown {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return JSON.parse(text);
  if (ext === '.yaml' || ext === '.yml') {
    // require(): loaded only for YAML metrics, and synchronously (the run records metrics as it ends).
    const { parse } = createRequire(import.meta.url)('yaml') as typeof Yaml;
    return parse(text);
  }
  throw new Error(`a metrics file must be JSON (.json) or YAML (.yaml, .yml), not \`${ext || 'no extension'}\``);
}

/** The numbers of a metrics file's text, by dotted key; throws (the first line says why) when it is not metrics. */
export function metricsFromText(file: string, text: string): Record<string, number> {
  const values: Record<string, number> = {};
  flatten(parseMetrics(file, text), '', values);
  return values;
}

/** Every declared metrics file: its numbers, or why there are none. */
export function readMetrics(engine: Engine): MetricsRead {
  const read: MetricsRead = { snapshot: {}, missing: [], unreadable: [] };
  for (const stage of engine.graph.order) {
    for (const file of engine.graph.stage(stage).metrics) {
      let text: string;
      try {
        text = readFileSync(engine.ws.abs(file), 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') read.missing.push({ stage, file });
        else read.unreadable.push({ stage, file, problem: (err as Error).message });
        continue;
      }
      try {
        const values: Record<string, number> = {};
        flatten(parseMetrics(file, text), '', values);
        read.snapshot[file] = values;
      } catch (err) {
        read.unreadable.push({ stage, file, problem: (err as Error).message.split('\n')[0] });
      }
    }
  }
  return read;
}

export function collectMetrics(engine: Engine): MetricsSnapshot {
  return readMetrics(engine).snapshot;
}

/** What to say instead of a table when no metrics file could be read. */
export function noMetricsMessage(engine: Engine, read: MetricsRead): string {
  const declared = engine.graph.order.some((s) => engine.graph.stage(s).metrics.length > 0);
  if (!declared) return 'no metrics: no stage declares `metrics:` files (JSON or YAML among its outs)';
  const lines: string[] = [];
  if (read.missing.length > 0) {
    const stages = [...new Set(read.missing.map((m) => m.stage))];
    lines.push(`metrics files missing: ${read.missing.map((m) => `${m.file} (stage \`${m.stage}\`)`).join(', ')}; \`pipeline run ${stages.join(' ')}\` writes them`);
  }
  for (const u of read.unreadable) lines.push(`metrics file ${u.file} (stage \`${u.stage}\`) is unreadable: ${u.problem}`);
  return lines.join('\n');
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

/**
 * What `metrics --diff` compares the current metrics with: the newest recorded run whose metrics differ from them (a
 * run that recorded none is no baseline: every row would read "— → new"), or, when there is nothing to compare, the
 * one line that says why instead.
 */
export function metricsBaseline(
  engine: Engine,
  read: MetricsRead,
  history: readonly { metrics: MetricsSnapshot }[],
): { baseline: MetricsSnapshot } | { nothing: string } {
  const current = read.snapshot;
  const files = Object.keys(current).length;
  if (files === 0) return { nothing: noMetricsMessage(engine, read) };
  for (let i = history.length - 1; i >= 0; i--) {
    const m = history[i].metrics;
    if (Object.keys(m).length > 0 && !sameMetrics(m, current)) return { baseline: m };
  }
  const count = Object.values(current).reduce((n, values) => n + Object.keys(values).length, 0);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return {
    nothing: `nothing to compare: no recorded run has other metrics than the current ones (${plural(count, 'metric')} in ${plural(files, 'file')}; \`pipeline metrics\` lists them)`,
  };
}

export function sameMetrics(a: MetricsSnapshot, b: MetricsSnapshot): boolean {
  return diffMetrics(a, b, false).length === 0;
}
