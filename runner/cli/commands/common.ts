// What every command starts with: the config (with --set overrides applied) and the engine over it.
import path from 'node:path';
import { loadConfig } from '../../config/load.js';
import { applyOverrides, parseSetArg } from '../../config/overrides.js';
import { interpolate } from '../../config/interpolate.js';
import { applyLocalParams } from '../../config/local-params.js';
import { scopeParams } from '../../plan/params.js';
import type { GlobalOptions } from '../options.js';
import type { PipelineConfig } from '../../config/types.js';

/**
 * The normalized config is kept in .pipeline/state keyed by the file's digest, so an unchanged pipeline.yaml
 * loads without parsing; `readOnly` (dry runs) reads that cache but never writes it. pipeline.local.yaml's params
 * are applied after that cache (read on every command, so an edit to it is never missed), then the `--set`s.
 */
export async function configFor(globals: GlobalOptions, sets: string[] = [], options: { readOnly?: boolean } = {}): Promise<PipelineConfig> {
  const overrides = sets.map(parseSetArg);
  const config = await uninterpolatedConfigFor(globals, options);
  return interpolate(overrides.length > 0 ? applyOverrides(config, overrides) : config);
}

/**
 * The config with pipeline.local.yaml's params but before any `--set` and before `${param}`s are put into `cmd`,
 * `deps` and `env`: what a caller applying its own overrides starts from (each variant of a sweep), so that the
 * values it sets reach the commands.
 */
export async function uninterpolatedConfigFor(globals: GlobalOptions, options: { readOnly?: boolean } = {}): Promise<PipelineConfig> {
  const cwd = path.resolve(globals.cwd);
  return applyLocalParams(await loadConfig({ cwd, configFile: globals.config, cacheDir: '.pipeline/state', writeCache: !options.readOnly }));
}

/** The config for commands that plan or run: every param value checked against its stage's schema, and each stage given exactly the params it reads. */
export async function plannedConfigFor(globals: GlobalOptions, sets: string[] = [], options: { readOnly?: boolean } = {}): Promise<PipelineConfig> {
  return scopeParams(await configFor(globals, sets, options), options);
}
