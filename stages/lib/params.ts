// Typed access to a stage's params with messages that say which param, what was given and what is expected.
import type { StageContext } from 'pipeline-dag/stage';

function bad(ctx: StageContext, name: string, value: unknown, expected: string): Error {
  return new Error(`${ctx.stage}.${name} is ${JSON.stringify(value)}; expected ${expected}. Set it in pipeline.yaml or with --set ${ctx.stage}.${name}=VALUE`);
}

export function numberParam(ctx: StageContext, name: string, fallback: number): number {
  const v = ctx.params[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(ctx, name, v, 'a number');
  return v;
}

export function intParam(ctx: StageContext, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = ctx.params[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(ctx, name, v, `a whole number from ${min} to ${max}`);
  return v;
}

export function stringParam(ctx: StageContext, name: string, fallback?: string): string | undefined {
  const v = ctx.params[name] ?? fallback;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(ctx, name, v, 'a string');
  return v;
}
