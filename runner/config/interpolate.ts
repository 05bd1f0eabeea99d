// `${name}` in `deps`, `cmd` and `env`: replaced by the stage's param `name` (its own, a global one, or a `--set`),
// after the overrides are applied, so a value such as a data source is written once. A reference to a param the
// stage does not have, or to one that is not a string, number or boolean, is a config error at its place.
// A dep that a reference produced is then classified like any dep: a workspace path, a path outside the workspace
// (absolute or `../`) or an `http(s)://` URL.
import path from 'node:path';
import { diagnostic, type Diagnostic } from '../core/diagnostic.js';
import { ConfigError, suggestion } from '../core/errors.js';
import { isExternalDep, isGlobPattern, isUrlDep } from '../core/paths.js';
import type { PipelineConfig, Position, StageConfig } from './types.js';

const REF = /\$\{([^}]*)\}/g;

/** Single-quoted for /bin/sh, so a value never becomes shell syntax. */
function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

export function interpolate(config: PipelineConfig): PipelineConfig {
  const problems: Diagnostic[] = [];
  const stages = config.stages.map((s) => interpolateStage(config, s, problems));
  if (problems.length > 0) throw ConfigError.of(problems);
  if (stages.every((s, i) => s === config.stages[i])) return config;
  const next = { ...config, stages } as PipelineConfig;
  const rangeOf = config.rangeOf?.bind(config);
  Object.defineProperty(next, 'positionOf', { value: (p: (string | number)[]) => config.positionOf(p), enumerable: false });
  if (rangeOf) Object.defineProperty(next, 'rangeOf', { value: (p: (string | number)[], part?: 'key' | 'value') => rangeOf(p, part), enumerable: false });
  return next;
}

function interpolateStage(config: PipelineConfig, stage: StageConfig, problems: Diagnostic[]): StageConfig {
  const has = (t: string) => t.includes('${');
  if (!stage.deps.some(has) && !(stage.cmd ?? []).some(has) && !Object.values(stage.env).some(has)) return stage;
  const where = (keyPath: (string | number)[]): Position => config.rangeOf?.(keyPath) ?? config.positionOf(keyPath);
  const resolve = (text: string, at: (string | number)[], quote = false): string =>
    text.replace(REF, (whole, name: string) => {
      if (!Object.hasOwn(stage.params, name)) {
        const known = Object.keys(stage.params);
        problems.push(
          diagnostic(
            'unknown-interpolation',
            where(at),
            `stage \`${stage.name}\`: \`${whole}\` names no param of this stage${suggestion(name, known)}`,
            known.length ? `its params are: ${known.join(', ')} (own, global, or listed in \`uses\`)` : 'declare it under the stage\'s `params:` or the global `params:`',
          ),
        );
        return whole;
      }
      const v = stage.params[name];
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        problems.push(diagnostic('unknown-interpolation', where(at), `stage \`${stage.name}\`: \`${whole}\` is ${JSON.stringify(v)}; only a string, number or boolean can be put into a text`, `set \`${name}\` to a scalar`));
        return whole;
      }
      return quote ? shellQuote(String(v)) : String(v);
    });

  const deps = stage.deps.map((d, i) => {
    if (!has(d)) return d;
    const at = ['stages', stage.name, 'deps', i];
    const value = resolve(d, at);
    return classifyDep(value, (message, hint) => problems.push(diagnostic('bad-path', where(at), `stage \`${stage.name}\`: dep \`${d}\` is \`${value}\`, ${message}`, hint)));
  });
  const cmd = stage.cmd?.map((w) => (has(w) ? resolve(w, ['stages', stage.name, 'cmd'], stage.shell) : w));
  const env = Object.fromEntries(Object.entries(stage.env).map(([k, v]) => [k, has(v) ? resolve(v, ['stages', stage.name, 'env', k]) : v]));
  return { ...stage, deps, ...(cmd ? { cmd } : {}), env };
}

/** A dep value as the engine keeps it, or why it cannot be one. */
function classifyDep(value: string, fail: (message: string, hint: string) => void): string {
  if (isUrlDep(value)) return value;
  const norm = path.posix.normalize(value.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (value.trim() === '' || value.includes('\0') || norm === '.' || value.startsWith('~')) {
    fail('which is not a file, folder or URL', 'set the param to a path (inside or outside the workspace) or an http(s):// URL');
    return value;
  }
  if (isExternalDep(norm) && isGlobPattern(norm)) fail('a glob pattern outside the workspace', 'name the file or folder itself');
  return norm;
}
