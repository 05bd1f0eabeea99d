// The variants of a sweep: `--grid STAGE.PARAM=V1,V2,…` (each value parsed as `--set` parses one) crossed into their
// cartesian product, the `--set`s applied to all; every variant's config checked against the stages' params
// schemas before anything runs (all problems of all variants at once, exit 2, each naming the value), and named.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ConfigError, UsageError } from '../../core/errors.js';
import type { Diagnostic } from '../../core/diagnostic.js';
import { applyOverrides, parseGridArg, parseSetArg } from '../../config/overrides.js';
import { interpolate } from '../../config/interpolate.js';
import type { ParamOverride, PipelineConfig } from '../../config/types.js';
import { scopeParams } from '../../plan/params.js';
import { canonicalJson } from '../../store/hash.js';
import { checkExperimentName } from '../../store/experiments.js';

export interface Variant {
  name: string;
  overrides: ParamOverride[];
  /** The variant's config, every param checked and scoped. */
  config: PipelineConfig;
  /** Every effective param, `"stage.param": value`. */
  params: Record<string, unknown>;
  /** What the sweep set, `"stage.param": value` (per stage, as applied). */
  changed: Record<string, unknown>;
}

/** The cartesian product of the grids, each combination after the `--set`s. */
export function combinations(sets: ParamOverride[], grids: ParamOverride[][]): ParamOverride[][] {
  let out: ParamOverride[][] = [sets];
  for (const grid of grids) out = out.flatMap((prefix) => grid.map((o) => [...prefix, o]));
  return out;
}

function effectiveParams(config: PipelineConfig): { params: Record<string, unknown>; changed: Record<string, unknown> } {
  const params: Record<string, unknown> = {};
  const changed: Record<string, unknown> = {};
  for (const s of config.stages) {
    for (const [k, v] of Object.entries(s.params)) {
      params[`${s.name}.${k}`] = v;
      if (s.setBy?.[k] !== undefined) changed[`${s.name}.${k}`] = v;
    }
  }
  return { params, changed };
}

/** `exp-` and 8 hex digits of the effective params: the same params, the same name. */
export function generatedName(params: Record<string, unknown>): string {
  return `exp-${createHash('sha256').update(canonicalJson(params)).digest('hex').slice(0, 8)}`;
}

/**
 * Every variant checked and named; every problem of every variant in one ConfigError (exit 2) before anything runs.
 * `base` is the config before its `${param}`s are put in (commands/common.ts `uninterpolatedConfigFor`): each
 * variant's values go into its own `cmd`, `deps` and `env`, checked as a `--set` is.
 */
export async function planVariants(base: PipelineConfig, sets: string[], grids: string[], name: string | undefined): Promise<Variant[]> {
  const combos = combinations(sets.map(parseSetArg), grids.map(parseGridArg));
  const problems: Diagnostic[] = [];
  const variants: Variant[] = [];
  for (const overrides of combos) {
    try {
      const config = await scopeParams(interpolate(applyOverrides(base, overrides)));
      variants.push({ name: '', overrides, config, ...effectiveParams(config) });
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.diagnostics);
      else throw err;
    }
  }
  if (problems.length > 0) throw ConfigError.of([...new Map(problems.map((d) => [JSON.stringify(d), d])).values()]);
  const seen = new Map<string, string>();
  for (const v of variants) {
    const hash = generatedName(v.params);
    const again = seen.get(hash);
    if (again !== undefined) throw new UsageError(`two variants have the same params (${again} and ${describe(v.overrides)})`, 'list each grid value once');
    seen.set(hash, describe(v.overrides));
    v.name = name === undefined ? hash : variants.length === 1 ? checkExperimentName(name) : checkExperimentName(`${name}-${hash.slice(4)}`);
  }
  return variants;
}

function describe(overrides: ParamOverride[]): string {
  return overrides.map((o) => `${o.stage ? `${o.stage}.` : ''}${o.key}=${JSON.stringify(o.value)}`).join(' ') || 'no change';
}

/** The commit the workspace is at, or null outside git (or before the first commit). */
export function gitCommit(root: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}
