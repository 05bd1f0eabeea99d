// What every command starts with: the config (with --set overrides applied) and the engine over it.
import path from 'node:path';
import { loadConfig } from '../config.js';
import { applyOverrides, parseSetArg } from '../overrides.js';
import type { GlobalOptions } from '../cli.js';
import type { PipelineConfig } from '../types.js';

export async function configFor(globals: GlobalOptions, sets: string[] = []): Promise<PipelineConfig> {
  const cwd = path.resolve(globals.cwd);
  const overrides = sets.map(parseSetArg);
  const config = await loadConfig({ cwd, configFile: globals.config });
  return overrides.length > 0 ? applyOverrides(config, overrides) : config;
}
