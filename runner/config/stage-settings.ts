// How a stage runs once it may: `timeout`, `cache`, `gate` and `desc` (their shapes are all zod checks).
import type { StageInput } from './check-context.js';
import type { StageConfig } from './types.js';

export type StageSettings = Pick<StageConfig, 'timeoutMs' | 'cache' | 'gate' | 'desc'>;

/** `timeout`, `cache` (default true), `gate` (default false), `desc`. */
export function stageSettings({ raw }: StageInput): StageSettings {
  return {
    ...(raw.timeout !== undefined ? { timeoutMs: durationMs(raw.timeout) } : {}),
    cache: raw.cache ?? true,
    gate: raw.gate ?? false,
    ...(raw.desc !== undefined ? { desc: raw.desc } : {}),
  };
}

/** `30` (seconds), `"30s"`, `"10m"`, `"1h"`, `"500ms"` → milliseconds. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}
