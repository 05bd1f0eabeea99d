// pipeline.yaml → a validated, normalized PipelineConfig. The steps, each in its own file:
//   find.ts      where the file is (and the digest cache of the last valid text)
//   yaml.ts      YAML syntax, duplicate keys, reserved names        positions.ts  line:col of any key or value
//   shapes.ts    shapes (zod, schema.ts), worded for this file      stage.ts      one stage, a function per key group
//   matrix.ts    templates (`matrix:`) expanded into their stages    matrix-shape.ts  the shape of `matrix:`
//   workspace-paths.ts  paths normalized and kept inside the workspace, module files found
//   checks.ts    across stages: overlapping outs, cycles, deps written elsewhere, commands
//   command-line.ts  `cmd:` strings → argv without a shell
// Every independent mistake is collected in one pass (a YAML syntax error, an empty file or an unusable
// `stages:` stop early) and thrown as one ConfigError carrying every diagnostic, up to MAX_DIAGNOSTICS; each names
// `file:line:col`, the stage and key, and how to fix it.
//
// Decisions (documented for users in the README):
// - `deps`, `outs`, `needs`, `metrics` take a list or a single string (a one-element list); an empty value
//   (`deps:` with nothing after it) is an empty list, an empty `params:`/`env:` an empty mapping.
// - A `cmd` string is split into argv like a POSIX shell splits words, without running one (splitCommand).
// - Paths are normalized: forward slashes, no `./`, no trailing `/`, inner `..` resolved.
// - A file over MAX_CONFIG_BYTES is refused before it is parsed.
//
// Speed: yaml (~20 ms to load, ~0.5-1 s to parse 10,000 stages) and the zod schema (schema.ts) are loaded on first
// use. With `cacheDir`, the normalized result of a text that passed every check is kept under its digest, so an
// unchanged file loads without either (only the module files are checked again, on disk).
import { readFile as readFileCallback } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, UsageError } from '../core/errors.js';
import { DiagnosticList, MAX_DIAGNOSTICS, type Range } from '../core/diagnostic.js';
import { buildCommands, checkCycles, checkDepsProducedElsewhere, checkOuts, stageDag } from './checks.js';
import { checkInterpolation } from './interpolation-check.js';
import { digestOf, displayName, readCachedConfig, searchConfig, writeCachedConfig, type CachedConfig } from './find.js';
import { Source, type KeyPath } from './positions.js';
import { checkShapes } from './shapes.js';
import { checkMatrixShape } from './matrix-shape.js';
import { expandStages } from './matrix.js';
import type { RawPipeline } from './schema.js';
import { StageNames } from './stage-names.js';
import type { CheckContext } from './check-context.js';
import { buildStage } from './stage.js';
import { checkFile } from './workspace-paths.js';
import type { Params, PipelineConfig, Position } from './types.js';
import { readYaml } from './yaml.js';
import { buildRemote } from './remote.js';

// fs's callback form: node:fs/promises would load with every command (≈ 1.5 ms).
const readFile = promisify(readFileCallback);

export { CONFIG_NAMES } from './find.js';

/** The largest pipeline.yaml accepted (8 MiB, ~100,000 stages); a larger one is refused before it is parsed. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export interface LoadOptions {
  cwd: string;
  configFile?: string;
  /**
   * A folder where the normalized config of the last valid text is kept (`config.json`, keyed by the text's
   * digest); a relative path is taken from the workspace root, e.g. `.pipeline`. An unchanged file then
   * loads without parsing YAML or checking shapes. Written only after a successful load, atomically, and only
   * into a folder that exists (the loader never creates one: a first command that fails leaves a fresh
   * workspace untouched). Best effort. Leave it out for commands that must write nothing.
   */
  cacheDir?: string;
  /** false: read the cache in `cacheDir` but never write it (dry runs write nothing). */
  writeCache?: boolean;
}

/**
 * Finds and parses the config: `configFile` (relative to `cwd`) when given, else `pipeline.yaml` or
 * `pipeline.yml` in `cwd` or the nearest parent folder that has one. The workspace root is the config
 * file's folder. Error positions name the file relative to `cwd`.
 */
export async function loadConfig(opts: LoadOptions): Promise<PipelineConfig> {
  const cwd = path.resolve(opts.cwd);
  if (opts.configFile !== undefined) {
    const abs = path.resolve(cwd, opts.configFile);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR')
        throw new UsageError(`config file ${opts.configFile} not found (looked for ${abs})`, 'check the --config path');
      if (code === 'EISDIR') throw new UsageError(`--config ${opts.configFile} is a folder; pass the YAML file itself`);
      throw new UsageError(`cannot read config file ${abs}: ${(err as Error).message}`);
    }
    return loadSource(new Source(text, displayName(cwd, abs)), abs, opts);
  }
  const found = await searchConfig(cwd);
  if (found === undefined) {
    throw new UsageError(
      `no pipeline.yaml in ${cwd} or its parents; run \`pipeline init\` to create one here, or pass --config FILE`,
      'or by hand, a minimal one: `version: 1` and `stages: {hello: {cmd: echo hi}}`',
    );
  }
  return loadSource(new Source(found.text, displayName(cwd, found.file)), found.file, opts);
}

/** Parses config text as if read from `file` (the workspace root is its folder). Module files are checked on disk. */
export function parseConfigText(text: string, file: string): PipelineConfig {
  const src = new Source(text, file);
  checkSize(src);
  return buildConfig(src, path.resolve(file), digestOf(text));
}

function loadSource(src: Source, absFile: string, opts: Pick<LoadOptions, 'cacheDir' | 'writeCache'>): PipelineConfig {
  checkSize(src);
  const digest = digestOf(src.text);
  if (opts.cacheDir === undefined) return buildConfig(src, absFile, digest);
  const dir = path.resolve(path.dirname(absFile), opts.cacheDir);
  const cached = readCachedConfig(dir, digest);
  if (cached) return fromCache(src, absFile, digest, cached);
  const config = buildConfig(src, absFile, digest);
  if (opts.writeCache !== false) writeCachedConfig(dir, digest, config);
  return config;
}

function checkSize(src: Source): void {
  const bytes = Buffer.byteLength(src.text);
  if (bytes > MAX_CONFIG_BYTES)
    throw new ConfigError(
      { file: src.display, line: 1, col: 1 },
      `the file is ${(bytes / 1024 / 1024).toFixed(1)} MiB; pipeline.yaml may be at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB`,
      'keep data out of pipeline.yaml: put large params in a file that a stage lists in `deps`',
      'file-too-large',
    );
}

/** A config from the cache: the same text passed every check before; only the files on disk are checked again. */
function fromCache(src: Source, absFile: string, digest: string, cached: CachedConfig): PipelineConfig {
  const root = path.dirname(absFile);
  const out = new DiagnosticList();
  const ctx = { root, out };
  for (const s of cached.stages) if (s.template) src.alias(s.name, { template: s.template.name, index: s.template.index });
  for (const s of cached.stages) {
    s.pos = { ...s.pos, file: src.display };
    if (s.module !== undefined) checkFile(ctx, s.module, `stage \`${s.template?.name ?? s.name}\`: module`, () => src.valueRange(['stages', s.name, 'module']));
  }
  for (const [name, file] of Object.entries(cached.commands))
    checkFile(ctx, file, `command \`${name}\`: module`, () => src.valueRange(['commands', name]));
  if (out.size > 0) throw ConfigError.of(out.items, out.omitted);
  return finish(src, { file: absFile, root, version: 1, ...cached, digest });
}

/**
 * Adds the (non-enumerable) positionOf and rangeOf; YAML is parsed only if a position is asked for. The places of
 * an expansion are its template's.
 */
function finish(src: Source, config: Omit<PipelineConfig, 'positionOf'>): PipelineConfig {
  for (const s of config.stages) if (s.template) src.alias(s.name, { template: s.template.name, index: s.template.index });
  Object.defineProperty(config, 'positionOf', {
    value: (keyPath: KeyPath): Position => src.valuePos(keyPath),
    enumerable: false,
  });
  Object.defineProperty(config, 'rangeOf', {
    value: (keyPath: KeyPath, part: 'key' | 'value' = 'value'): Range => (part === 'key' ? src.keyRange(keyPath) : src.valueRange(keyPath)),
    enumerable: false,
  });
  return config as PipelineConfig;
}

/** Checks the text of a file whose size was checked (checkSize). */
function buildConfig(src: Source, absFile: string, digest: string): PipelineConfig {
  const root = path.dirname(absFile);
  const out = new DiagnosticList();
  const ctx: CheckContext = { src, root, out };
  const fail = (): never => {
    throw ConfigError.of(out.items, out.omitted);
  };

  // 1. YAML: syntax, duplicate keys, reserved names
  const data = readYaml(src, out);
  if (data === undefined) fail();

  // 2. Shapes
  const shaped = checkShapes(src, data!, out);
  if (shaped === undefined) fail();
  const { raw: written, names, badMatrix } = shaped!;
  for (const name of badMatrix) checkMatrixShape(src, name, (data!.stages as Record<string, { matrix?: unknown }>)[name].matrix, out);

  // 3. Templates expanded: from here on, every stage is a stage of the file or one expansion of a template
  const globalParams: Params = written.params ?? {};
  const { entries, templates } = expandStages(ctx, written.stages, names, globalParams);
  const raw: RawPipeline = { ...written, stages: Object.fromEntries(entries.map((e) => [e.name, e.raw])) };
  // Stages left out for a wrong shape are still names (a need of one is not reported as unknown).
  const stageNames = new StageNames([...entries.map((e) => e.name), ...names.filter((n) => !Object.hasOwn(templates, n))], templates);

  // 4. Meaning: each stage, then across stages
  const built = entries.map((e) => buildStage(ctx, e, globalParams, stageNames));
  // The top-level `inheritEnv` for every stage that does not set its own.
  const stages = built.map((b) => (raw.inheritEnv !== undefined && b.stage.inheritEnv === undefined ? Object.assign(b.stage, { inheritEnv: raw.inheritEnv }) : b.stage));
  checkOuts(ctx, raw, built);
  const dag = stageDag(stages);
  checkCycles(ctx, raw, dag, MAX_DIAGNOSTICS, stageNames);
  checkDepsProducedElsewhere(ctx, raw, built, dag);
  checkInterpolation(ctx, raw.stages, built);
  const commands = buildCommands(ctx, raw.commands ?? {});
  const remote = buildRemote(ctx, raw.remote);

  if (out.size > 0) fail();
  return finish(src, {
    file: absFile,
    root,
    version: 1,
    ...(raw.executor ? { executor: raw.executor } : {}),
    ...(raw.slurm?.mode ? { slurm: { mode: raw.slurm.mode } } : {}),
    params: globalParams,
    stages,
    ...(Object.keys(templates).length > 0 ? { templates } : {}),
    commands,
    ci: raw.ci ?? {},
    ...(remote ? { remote } : {}),
    ...(raw.gitignore !== undefined ? { gitignore: raw.gitignore } : {}),
    digest,
  });
}
