// A figure of the benchmark: measured rows (one per tool or variant), the targets it is held to,
// correctness checks, and notes on method.
import type { Stats } from './stats.js';

export interface Row {
  label: string;
  unit: string;
  /** Repeated measurement (median/min/max). */
  stats?: Stats;
  /** A single derived value (a ratio, a throughput). */
  value?: number;
  note?: string;
}

export interface Target {
  what: string;
  value: number;
  limit: number;
  /** `max`: value must be ≤ limit (or < with `strict`); `min`: value must be ≥ limit. */
  dir: 'max' | 'min';
  strict?: boolean;
  unit: string;
}

export interface Check {
  what: string;
  ok: boolean;
  detail?: string;
}

export interface Figure {
  title: string;
  rows: Row[];
  targets: Target[];
  checks: Check[];
  notes: string[];
}

export function met(t: Target): boolean {
  if (!Number.isFinite(t.value)) return false;
  if (t.dir === 'min') return t.value >= t.limit;
  return t.strict ? t.value < t.limit : t.value <= t.limit;
}

/** More than 10× off its target: what --quick fails on. */
export function wildlyOff(t: Target): boolean {
  if (!Number.isFinite(t.value)) return true;
  return t.dir === 'min' ? t.value * 10 < t.limit : t.value > t.limit * 10;
}

export function newFigure(title: string): Figure {
  return { title, rows: [], targets: [], checks: [], notes: [] };
}

/** A figure that could not be measured (missing data, a command that failed). */
export function failedFigure(title: string, err: unknown): Figure {
  const f = newFigure(title);
  f.checks.push({ what: 'measured', ok: false, detail: (err as Error)?.message ?? String(err) });
  return f;
}
