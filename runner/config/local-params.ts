// pipeline.local.yaml: machine-local param values beside pipeline.yaml (git-ignored by `init`), so a local data
// path is not retyped on every command. Its only key is `params:`, a mapping whose keys work exactly like `--set`
// names (`load.source: …` for a stage's param, `seed: 7` for a global one, a template's name for every expansion).
// Precedence: pipeline.yaml < pipeline.local.yaml < `--set`. The file is read on every command (never cached with
// pipeline.yaml's parsed config), through fs, so the fresh record sees an edit to it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, UsageError } from '../core/errors.js';
import { diagnostic, DiagnosticList } from '../core/diagnostic.js';
import { applyOverrides } from './overrides.js';
import { Source } from './positions.js';
import { readYaml } from './yaml.js';
import type { ParamOverride, PipelineConfig } from './types.js';

export const LOCAL_PARAMS_FILE = 'pipeline.local.yaml';

/** The overrides of pipeline.local.yaml beside the config, applied; the config itself when there is no such file. */
export function applyLocalParams(config: PipelineConfig): PipelineConfig {
  const file = path.join(config.root, LOCAL_PARAMS_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return config;
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, `fix its permissions or remove it`);
  }
  const overrides = readLocalParams(new Source(text, LOCAL_PARAMS_FILE));
  if (overrides.length === 0) return config;
  // Each key is checked alone, so every bad key is reported with its own position in one pass.
  const out = new DiagnosticList();
  for (const o of overrides) {
    try {
      applyOverrides(config, [o]);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      const detail = (err instanceof ConfigError ? err.detail : err.message).replace(`--set ${o.raw}`, `\`params.${o.name}\``);
      out.add(diagnostic(err instanceof ConfigError ? err.code : 'unknown-key', o.at!, detail, err.hint));
    }
  }
  if (out.size > 0) throw ConfigError.of(out.items, out.omitted);
  return applyOverrides(config, overrides);
}

type LocalOverride = ParamOverride & { name: string };

function readLocalParams(src: Source): LocalOverride[] {
  const out = new DiagnosticList();
  const data = src.text.trim() === '' ? {} : readYaml(src, out);
  if (out.size > 0 || data === undefined) throw ConfigError.of(out.items, out.omitted);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw ConfigError.of([diagnostic('not-a-mapping', src.start(), `${LOCAL_PARAMS_FILE} must be a mapping with a \`params:\` key`, 'e.g. `params: {load.source: ../data/cal_housing.data}`')]);
  }
  for (const key of Object.keys(data).filter((k) => k !== 'params'))
    out.add(diagnostic('unknown-key', src.keyRange([key]), `unknown key \`${key}\` in ${LOCAL_PARAMS_FILE}; its only key is \`params\``, 'put param values under `params:` (`STAGE.KEY: value` or `KEY: value`, like --set); everything else belongs in pipeline.yaml'));
  const params = data.params;
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params)))
    out.add(diagnostic('not-a-mapping', src.valueRange(['params']), '`params` must be a mapping of `[STAGE.]KEY: value`', 'e.g. `params: {load.source: ../data/cal_housing.data, seed: 7}`'));
  if (out.size > 0) throw ConfigError.of(out.items, out.omitted);
  const result: LocalOverride[] = [];
  for (const [name, value] of Object.entries((params ?? {}) as Record<string, unknown>)) {
    const at = src.keyRange(['params', name]);
    if (name.startsWith('.') || name.endsWith('.') || name.includes('..') || /\s/.test(name)) {
      out.add(diagnostic('invalid-name', at, `\`${name}\` is not a param name`, 'write `STAGE.KEY: value` or `KEY: value`, like --set'));
      continue;
    }
    const dot = name.lastIndexOf('.');
    const raw = `${name}=${JSON.stringify(value ?? null)}`;
    const base = { key: dot < 0 ? name : name.slice(dot + 1), value: value ?? null, raw, name, at: src.valueRange(['params', name]), from: LOCAL_PARAMS_FILE };
    result.push(dot < 0 ? base : { ...base, stage: name.slice(0, dot) });
  }
  if (out.size > 0) throw ConfigError.of(out.items, out.omitted);
  return result;
}
