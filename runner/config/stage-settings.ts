// How a stage runs once it may: `timeout`, `retries`, `retryOn`, `cache`, `gate` and `desc` (their shapes are all zod
// checks; a `retryOn` without retries is reported).
import type { StageInput } from './check-context.js';
import type { StageConfig } from './types.js';

export type StageSettings = Pick<StageConfig, 'timeoutMs' | 'retries' | 'retryOn' | 'cache' | 'gate' | 'desc' | 'group'>;

/** `timeout`, `retries` (absent when 0), `retryOn`, `cache` (default true), `gate` (default false), `desc`. */
export function stageSettings(s: StageInput): StageSettings {
  const { raw } = s;
  const retries = raw.retries ?? 0;
  if (raw.retryOn !== undefined && retries === 0)
    s.fail('retry-unused', s.at('retryOn'), '`retryOn` without `retries`: the stage is never retried', 'add `retries: N` (how many times to retry), or remove `retryOn`');
  else if (raw.retryOn !== undefined && raw.gate)
    s.fail('retry-unused', s.at('retryOn'), 'a gate stage\'s exit is its verdict, never retried: `retryOn` would match nothing', 'remove `retryOn` (`retries` still retries a gate killed by a signal or its timeout)');
  return {
    ...(raw.timeout !== undefined ? { timeoutMs: durationMs(raw.timeout) } : {}),
    ...(retries > 0 ? { retries } : {}),
    ...(raw.retryOn !== undefined ? { retryOn: raw.retryOn } : {}),
    cache: raw.cache ?? true,
    gate: raw.gate ?? false,
    ...(raw.desc !== undefined ? { desc: raw.desc } : {}),
    ...(raw.group !== undefined ? { group: raw.group } : {}),
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
