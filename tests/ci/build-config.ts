// PipelineConfig objects for the CI tests, parsed from YAML text by the real config loader.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../runner/config/load.js';
import type { PipelineConfig } from '../../runner/config/types.js';

/** The repository root: module stages named in test YAML (stages/load.ts, ...) resolve against it by default. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function configFromYaml(text: string, file = path.join(repoRoot, 'pipeline.yaml')): PipelineConfig {
  return parseConfigText(text, file);
}
