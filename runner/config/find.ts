// Where the config is: `--config FILE`, or pipeline.yaml / pipeline.yml in the folder or its nearest parent
// (cosmiconfig walks the parents). And the digest cache: the normalized config of the last valid text, kept under
// the text's digest so an unchanged file loads without parsing YAML or checking shapes. A config with credentials in a
// URL (`remote:`, a URL dep) is never cached: nothing under .pipeline/ holds them.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PipelineConfig } from './types.js';
import { tempPathFor } from '../core/atomic.js';
import { hasUrlCredentials } from '../core/url-credentials.js';
import { LOCAL_PARAMS_FILE } from './local-params.js';

export const CONFIG_NAMES = ['pipeline.yaml', 'pipeline.yml'];

/**
 * Part of every digest: bump it whenever what a given text normalizes to changes (shape rules, path
 * normalization, defaults), so a config cached by an older version is not trusted.
 */
const CONFIG_FORMAT = 'pipeline.yaml normalized 5';
const CACHE_FILE = 'config.json';

export function digestOf(text: string): string {
  return createHash('sha256').update(CONFIG_FORMAT).update('\0').update(text).digest('hex');
}

/** The file's name as shown in messages: relative to `cwd` when inside it, else absolute. */
export function displayName(cwd: string, abs: string): string {
  const rel = path.relative(cwd, abs);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
}

export type CachedConfig = Pick<PipelineConfig, 'executor' | 'slurm' | 'params' | 'stages' | 'templates' | 'commands' | 'ci' | 'remote' | 'gitignore'>;

/** The cached normalized config of the text with `digest`, if `dir` holds one. */
export function readCachedConfig(dir: string, digest: string): CachedConfig | undefined {
  try {
    const entry = JSON.parse(readFileSync(path.join(dir, CACHE_FILE), 'utf8')) as { format?: string; digest?: string; config?: CachedConfig };
    if (entry.format === CONFIG_FORMAT && entry.digest === digest && Array.isArray(entry.config?.stages) && !carriesCredentials(entry.config)) return entry.config;
  } catch {
    // no cache yet, or an unreadable one: parse the file
  }
  return undefined;
}

/** Whether a URL of the config (the remote's, a URL dep) carries credentials. */
function carriesCredentials(config: Pick<PipelineConfig, 'stages' | 'remote'>): boolean {
  return (config.remote !== undefined && hasUrlCredentials(config.remote.url)) || config.stages.some((s) => s.deps.some(hasUrlCredentials));
}

/**
 * Keeps a config that passed every check, atomically, only in a folder that exists. Best effort. One with
 * credentials in a URL is not kept (and a kept one is removed).
 */
export function writeCachedConfig(dir: string, digest: string, config: PipelineConfig): void {
  const cachePath = path.join(dir, CACHE_FILE);
  if (carriesCredentials(config)) {
    try {
      rmSync(cachePath, { force: true });
    } catch {
      // best effort, as below
    }
    return;
  }
  try {
    const tmp = tempPathFor(cachePath);
    const body: CachedConfig = { executor: config.executor, ...(config.slurm ? { slurm: config.slurm } : {}), params: config.params, stages: config.stages, ...(config.templates ? { templates: config.templates } : {}), commands: config.commands, ci: config.ci, ...(config.remote ? { remote: config.remote } : {}), ...(config.gitignore !== undefined ? { gitignore: config.gitignore } : {}) };
    writeFileSync(tmp, JSON.stringify({ format: CONFIG_FORMAT, digest, config: body }), { flag: 'wx' });
    renameSync(tmp, cachePath);
  } catch {
    // best effort: the next load parses again
  }
}

/**
 * The paths loading the config from `cwd` reads: `--config`'s file, or pipeline.yaml / pipeline.yml in `cwd` and each
 * parent up to the folder of the one found (those not found are lookups: a config created there is found instead),
 * then the parsed-config cache and pipeline.local.yaml beside it.
 */
export function configReads(cwd: string, configFile: string | undefined, found: string): { kind: 'config' | 'lookup' | 'state'; file: string }[] {
  const reads: { kind: 'config' | 'lookup' | 'state'; file: string }[] = [];
  const root = path.dirname(found);
  if (configFile === undefined) {
    for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
      for (const name of CONFIG_NAMES) reads.push({ kind: 'lookup', file: path.join(dir, name) });
      if (dir === root || path.dirname(dir) === dir) break;
    }
  }
  reads.push({ kind: 'config', file: found }, { kind: 'config', file: path.join(root, LOCAL_PARAMS_FILE) }, { kind: 'state', file: path.join(root, '.pipeline', 'state', CACHE_FILE) });
  return reads;
}

/** cosmiconfig search for pipeline.yaml / pipeline.yml from `cwd` up to the filesystem root. */
export async function searchConfig(cwd: string): Promise<{ file: string; text: string } | undefined> {
  // The common case, a pipeline.yaml in the folder itself, costs one read; cosmiconfig (~10 ms) walks the parents.
  for (const name of CONFIG_NAMES) {
    try {
      const file = path.join(cwd, name);
      return { file, text: readFileSync(file, 'utf8') };
    } catch {
      // not here (or not readable): let the search decide
    }
  }
  const { cosmiconfig } = await import('cosmiconfig');
  const none = () => null;
  // The YAML is parsed later, by Source (parseDocument + LineCounter), and only when needed: positions survive
  // and an unchanged, cached config is not parsed at all. cosmiconfig also looks in a global config folder
  // (config.yaml etc.): only our own names count there.
  const yamlLoader = (filepath: string, content: string) =>
    CONFIG_NAMES.includes(path.basename(filepath)) ? { text: content } : null;
  const explorer = cosmiconfig('pipeline', {
    searchPlaces: CONFIG_NAMES,
    searchStrategy: 'global',
    stopDir: path.parse(cwd).root,
    cache: false,
    ignoreEmptySearchPlaces: false,
    loaders: {
      '.yaml': yamlLoader,
      '.yml': yamlLoader,
      '.json': none,
      '.js': none,
      '.ts': none,
      '.cjs': none,
      '.mjs': none,
      noExt: none,
    },
  });
  const result = await explorer.search(cwd);
  if (result === null) return undefined;
  const config = result.config as { text: string } | undefined; // undefined: an empty file
  return { file: result.filepath, text: config?.text ?? '' };
}
