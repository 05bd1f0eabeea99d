// pipeline.yaml → a validated, normalized PipelineConfig. Every error names `file:line:col` of the offending
// node (the key for unknown keys, the value for wrong values), the stage and key, and how to fix it.
// Order: YAML syntax → duplicate keys → shapes (zod, config-schema.ts) → meaning (paths, needs, cycles, outs).
//
// Decisions (documented for users in the README):
// - `deps`, `outs`, `needs`, `metrics` take a list or a single string (a one-element list); an empty value
//   (`deps:` with nothing after it) is an empty list, an empty `params:`/`env:` an empty mapping.
// - A `cmd` string is split into argv like a POSIX shell splits words, without running one (splitCommand).
// - Paths are normalized: forward slashes, no `./`, no trailing `/`, inner `..` resolved.
//
// Speed: yaml (~20 ms to load, ~0.5-1 s to parse 10,000 stages) and zod (~35 ms to load) are loaded on first
// use. With `cacheDir`, the normalized result of a text that passed every check is kept under its digest, so an
// unchanged file loads without either (only the module files are checked again, on disk).
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as YamlModule from 'yaml';
import type { Document, LineCounter, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import type { z } from 'zod';
import {
  BUILTIN_COMMANDS,
  EXPECTED,
  schemas,
  STAGE_KEYS,
  TOP_KEYS,
  type RawPipeline,
  type RawStage,
} from './schema.js';
import { ConfigError, UsageError, suggestion } from '../core/errors.js';
import { tempPathFor } from '../core/atomic.js';
import type { Params, PipelineConfig, Position, StageConfig } from './types.js';

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
}

/**
 * Part of every digest: bump it whenever what a given text normalizes to changes (shape rules, path
 * normalization, defaults), so a config cached by an older version is not trusted.
 */
const CONFIG_FORMAT = 'pipeline.yaml normalized 1';
const CACHE_FILE = 'config.json';

let yamlModule: typeof YamlModule | undefined;
/** The yaml library, loaded on first use (synchronously: parseConfigText is synchronous). */
function Y(): typeof YamlModule {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YamlModule);
}

export const CONFIG_NAMES = ['pipeline.yaml', 'pipeline.yml'];
/** Workspace paths that belong to the runner (or to git) and can never be a stage's out. */
const RESERVED_OUTS = ['.pipeline', '.git', 'pipeline.lock', ...CONFIG_NAMES];
/** Variables the runner sets for `cmd:` stages; a stage cannot declare them. */
const RESERVED_ENV = ['PIPELINE_PARAMS', 'PIPELINE_STAGE'];

type KeyPath = (string | number)[];

// ---------------------------------------------------------------------------------------------------
// Loading

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
      if (code === 'EISDIR')
        throw new UsageError(`--config ${opts.configFile} is a folder; pass the YAML file itself`);
      throw new UsageError(`cannot read config file ${abs}: ${(err as Error).message}`);
    }
    return loadSource(new Source(text, displayName(cwd, abs)), abs, opts.cacheDir);
  }
  const found = await searchConfig(cwd);
  if (found === undefined) {
    throw new UsageError(
      `no pipeline.yaml in ${cwd} or its parents; create one (see README) or pass --config FILE`,
      'a minimal one: `version: 1` and `stages: {hello: {cmd: echo hi}}`',
    );
  }
  return loadSource(new Source(found.text, displayName(cwd, found.file)), found.file, opts.cacheDir);
}

/** Parses config text as if read from `file` (the workspace root is its folder). Module files are checked on disk. */
export function parseConfigText(text: string, file: string): PipelineConfig {
  const src = new Source(text, file);
  return buildConfig(src, path.resolve(file), digestOf(text));
}

function digestOf(text: string): string {
  return createHash('sha256').update(CONFIG_FORMAT).update('\0').update(text).digest('hex');
}

type CachedConfig = Pick<PipelineConfig, 'params' | 'stages' | 'commands' | 'ci'>;

function loadSource(src: Source, absFile: string, cacheDir: string | undefined): PipelineConfig {
  const digest = digestOf(src.text);
  if (cacheDir === undefined) return buildConfig(src, absFile, digest);
  const dir = path.resolve(path.dirname(absFile), cacheDir);
  const cachePath = path.join(dir, CACHE_FILE);
  let cached: CachedConfig | undefined;
  try {
    const entry = JSON.parse(readFileSync(cachePath, 'utf8')) as { format?: string; digest?: string; config?: CachedConfig };
    if (entry.format === CONFIG_FORMAT && entry.digest === digest && Array.isArray(entry.config?.stages)) cached = entry.config;
  } catch {
    // no cache yet, or an unreadable one: parse the file
  }
  if (cached) return fromCache(src, absFile, digest, cached);
  const config = buildConfig(src, absFile, digest);
  try {
    const tmp = tempPathFor(cachePath);
    const body: CachedConfig = { params: config.params, stages: config.stages, commands: config.commands, ci: config.ci };
    writeFileSync(tmp, JSON.stringify({ format: CONFIG_FORMAT, digest, config: body }));
    renameSync(tmp, cachePath);
  } catch {
    // best effort: the next load parses again
  }
  return config;
}

/** A config from the cache: the same text passed every check before; only the files on disk are checked again. */
function fromCache(src: Source, absFile: string, digest: string, cached: CachedConfig): PipelineConfig {
  const root = path.dirname(absFile);
  for (const s of cached.stages) {
    s.pos = { ...s.pos, file: src.display };
    if (s.module !== undefined) checkFile(root, s.module, `stage \`${s.name}\`: module`, () => src.valuePos(['stages', s.name, 'module']));
  }
  for (const [name, file] of Object.entries(cached.commands))
    checkFile(root, file, `command \`${name}\`: module`, () => src.valuePos(['commands', name]));
  return finish(src, { file: absFile, root, version: 1, ...cached, digest });
}

/** Adds the (non-enumerable) positionOf; YAML is parsed only if a position is asked for. */
function finish(src: Source, config: Omit<PipelineConfig, 'positionOf'>): PipelineConfig {
  Object.defineProperty(config, 'positionOf', {
    value: (keyPath: KeyPath): Position => src.valuePos(keyPath),
    enumerable: false,
  });
  return config as PipelineConfig;
}

function displayName(cwd: string, abs: string): string {
  const rel = path.relative(cwd, abs);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
}

/** cosmiconfig search for pipeline.yaml / pipeline.yml from `cwd` up to the filesystem root. */
async function searchConfig(cwd: string): Promise<{ file: string; text: string } | undefined> {
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

// ---------------------------------------------------------------------------------------------------
// YAML source with positions

/** The config text with its YAML document and line positions, parsed on first use. */
class Source {
  private parsed?: { doc: Document.Parsed; lines: LineCounter };

  constructor(
    readonly text: string,
    readonly display: string,
  ) {}

  private get yaml(): { doc: Document.Parsed; lines: LineCounter } {
    if (!this.parsed) {
      const lines = new (Y().LineCounter)();
      const doc = Y().parseDocument(this.text, { lineCounter: lines, uniqueKeys: false, prettyErrors: true });
      this.parsed = { doc, lines };
    }
    return this.parsed;
  }

  get doc(): Document.Parsed {
    return this.yaml.doc;
  }

  /** Pairs of each mapping by key text (first occurrence), built on first lookup: positions stay O(1) for big files. */
  private readonly index = new WeakMap<YAMLMap, Map<string, Pair>>();

  private pair(map: YAMLMap, key: string): Pair | undefined {
    let byKey = this.index.get(map);
    if (!byKey) {
      byKey = new Map();
      for (const p of map.items) {
        const k = keyText(p.key);
        if (k !== undefined && !byKey.has(k)) byKey.set(k, p);
      }
      this.index.set(map, byKey);
    }
    return byKey.get(key);
  }

  at(offset: number): Position {
    const { line, col } = this.yaml.lines.linePos(offset);
    return { file: this.display, line, col };
  }

  start(): Position {
    const r = this.doc.contents?.range;
    return r ? this.at(r[0]) : { file: this.display, line: 1, col: 1 };
  }

  /** Walks `keyPath` as far as it exists; returns the last key and value nodes found. */
  private walk(keyPath: KeyPath): { key?: YamlNode; value?: YamlNode; complete: boolean } {
    let node: unknown = this.doc.contents;
    let key: YamlNode | undefined;
    let value: YamlNode | undefined = node as YamlNode | undefined;
    for (const seg of keyPath) {
      if (Y().isAlias(node)) node = node.resolve(this.doc);
      if (Y().isMap(node)) {
        const pair = this.pair(node, String(seg));
        if (!pair) return { key, value, complete: false };
        key = pair.key as YamlNode;
        node = pair.value;
        value = (pair.value ?? undefined) as YamlNode | undefined;
      } else if (Y().isSeq(node) && Number.isInteger(Number(seg))) {
        const item = node.items[Number(seg)];
        if (item === undefined) return { key, value, complete: false };
        key = undefined;
        node = item;
        value = item as YamlNode;
      } else {
        return { key, value, complete: false };
      }
    }
    return { key, value, complete: true };
  }

  private nodePos(node: YamlNode | undefined): Position | undefined {
    if (!node?.range) return undefined;
    // `key:` with nothing after it parses as an empty scalar placed after the colon: point at the key instead.
    if (Y().isScalar(node) && node.value === null && node.source === '') return undefined;
    return this.at(node.range[0]);
  }

  /** Position of the value at `keyPath` (the key when the value is empty); the nearest existing ancestor otherwise. */
  valuePos(keyPath: KeyPath): Position {
    const w = this.walk(keyPath);
    return this.nodePos(w.value) ?? this.nodePos(w.key) ?? this.start();
  }

  /** Position of the key of `keyPath`'s last segment; the nearest existing ancestor otherwise. */
  keyPos(keyPath: KeyPath): Position {
    const w = this.walk(keyPath);
    if (w.complete && w.key) return this.nodePos(w.key) ?? this.start();
    return this.nodePos(w.value) ?? this.nodePos(w.key) ?? this.start();
  }

  /** Position of character `index` of the string at `keyPath`, when the scalar maps 1:1 onto its source. */
  charPos(keyPath: KeyPath, index: number): Position {
    const w = this.walk(keyPath);
    const node = w.value;
    if (w.complete && Y().isScalar(node) && typeof node.value === 'string' && node.range) {
      const quoted = node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE';
      if (node.type === 'PLAIN' || quoted) {
        const start = node.range[0] + (quoted ? 1 : 0);
        if (this.text.slice(start, start + node.value.length) === node.value) return this.at(start + index);
      }
    }
    return this.valuePos(keyPath);
  }
}

function keyText(key: unknown): string | undefined {
  if (Y().isScalar(key)) return String(key.value);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Building the config

function buildConfig(src: Source, absFile: string, digest: string): PipelineConfig {
  const root = path.dirname(absFile);
  const fail = (pos: Position, detail: string, hint?: string): never => {
    throw new ConfigError(pos, detail, hint);
  };

  // 1. YAML syntax
  const yamlError = src.doc.errors[0];
  if (yamlError) {
    const lp = yamlError.linePos?.[0];
    const pos = lp ? { file: src.display, line: lp.line, col: lp.col } : src.at(yamlError.pos[0]);
    const message =
      yamlError.code === 'MULTIPLE_DOCS'
        ? 'the file holds more than one YAML document (a second `---`)'
        : yamlError.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    fail(pos, `YAML syntax error: ${message}`, yamlHint(yamlError.code, message));
  }
  if (src.doc.contents === null) {
    fail(
      { file: src.display, line: 1, col: 1 },
      'the file is empty',
      'start with `version: 1` and a `stages:` mapping (see README)',
    );
  }

  // 2. Duplicate keys (yaml would only say "Map keys must be unique"; say which and where the first one is)
  const dup = findDuplicateKey(src.doc.contents, []);
  if (dup) {
    const first = formatLineCol(src.keyPos([...dup.path, dup.key]));
    const pos = src.at(dup.node.range![0]);
    if (dup.path.length === 1 && dup.path[0] === 'stages')
      fail(pos, `duplicate stage \`${dup.key}\` (first at ${first})`, 'give each stage a unique name');
    fail(pos, `duplicate key \`${dup.key}\`${where(dup.path)} (first at ${first})`, 'remove one of them');
  }

  let data: unknown;
  try {
    data = src.doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    fail(src.start(), `cannot resolve the YAML: ${(err as Error).message}`, 'check anchors (&name) and aliases (*name)');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    fail(
      src.start(),
      `the top level must be a mapping with \`version: 1\` and \`stages:\`; got ${describe(data)}`,
      'see README for the format of pipeline.yaml',
    );
  }

  // 3. Shapes
  const parsed = schemas().pipelineSchema.safeParse(data);
  if (!parsed.success) throw shapeError(src, data, parsed.error.issues);
  const raw: RawPipeline = parsed.data;

  // 4. Meaning
  const globalParams: Params = raw.params ?? {};
  const names = Object.keys(raw.stages);
  const nameSet = new Set(names);
  const stages: StageConfig[] = names.map((name) => buildStage(src, root, name, raw.stages[name], globalParams, nameSet));
  checkOuts(src, raw, stages);
  checkCycles(src, raw, stages);
  checkDepsProducedElsewhere(src, raw, stages);
  const commands = buildCommands(src, root, raw.commands ?? {});

  return finish(src, { file: absFile, root, version: 1, params: globalParams, stages, commands, ci: raw.ci ?? {}, digest });
}

function yamlHint(code: string, message: string): string {
  if (/^Flow (sequence|mapping)/.test(message))
    return 'a `[` or `{` opened above this point is not closed (or a line inside it is not indented enough)';
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'indent with spaces; YAML does not allow tabs for indentation';
    case 'MULTIPLE_DOCS':
      return 'keep one document in the file (remove the extra `---`)';
    case 'BAD_INDENT':
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'check the indentation: keys of one mapping line up, nested ones are indented by the same number of spaces';
    case 'MISSING_CHAR':
      return 'a quote or bracket opened above this point is never closed';
    default:
      return 'fix the YAML at that position (indentation with spaces, closed brackets and quotes, `key: value` with a space after the colon)';
  }
}

function formatLineCol(pos: Position): string {
  return `${pos.line}:${pos.col}`;
}

function findDuplicateKey(node: unknown, at: KeyPath): { path: KeyPath; key: string; node: YamlNode } | undefined {
  if (Y().isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const k = keyText(pair.key);
      if (k !== undefined) {
        if (seen.has(k)) return { path: at, key: k, node: pair.key as YamlNode };
        seen.add(k);
      }
      const inner = findDuplicateKey(pair.value, k === undefined ? at : [...at, k]);
      if (inner) return inner;
    }
  } else if (Y().isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const inner = findDuplicateKey(node.items[i], [...at, i]);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** " in stage `fit`", " in `params`", " in `stages.fit.env`"... for messages. */
function where(keyPath: KeyPath): string {
  if (keyPath.length === 0) return ' at the top level';
  if (keyPath[0] === 'stages' && keyPath.length >= 2) {
    const rest = keyPath.slice(2);
    return rest.length === 0 ? ` in stage \`${keyPath[1]}\`` : ` in \`${rest.join('.')}\` of stage \`${keyPath[1]}\``;
  }
  return ` in \`${keyPath.join('.')}\``;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 37) + '...' : value)}`;
  }
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `\`${value}\``;
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function valueAt(data: unknown, keyPath: KeyPath): unknown {
  let v = data;
  for (const seg of keyPath) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg as string];
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------
// Shape errors (zod issues → one message at the earliest position in the file)

type Issue = z.core.$ZodIssue;

function shapeError(src: Source, data: unknown, issues: Issue[]): ConfigError {
  // A missing required key is reported last: a misspelled key elsewhere usually explains it.
  const missing = (i: Issue) => (i.path.length === 1 && valueAt(data, i.path as KeyPath) === undefined ? 1 : 0);
  const errors = issues
    .map((issue) => ({ err: shapeIssue(src, data, issue), missing: missing(issue) }))
    .sort((a, b) => a.missing - b.missing || cmpPos(a.err.pos, b.err.pos));
  return errors[0].err;
}

/** The deepest failing path inside a union (e.g. the bad entry of a list), to point at the exact node. */
function deepestPath(issue: Issue): KeyPath {
  let best: KeyPath = issue.path as KeyPath;
  if (issue.code === 'invalid_union') {
    for (const branch of issue.errors) {
      for (const sub of branch) {
        const p = [...(issue.path as KeyPath), ...deepestPath(sub)];
        if (p.length > best.length) best = p;
      }
    }
  }
  return best;
}

function shapeIssue(src: Source, data: unknown, issue: Issue): ConfigError {
  const p = issue.path as KeyPath;
  const inStage = p[0] === 'stages' && p.length >= 2;
  const stagePrefix = inStage ? `stage \`${p[1]}\`: ` : '';

  if (issue.code === 'unrecognized_keys') {
    const allowed = p.length === 0 ? TOP_KEYS : p[0] === 'stages' && p.length === 2 ? STAGE_KEYS : [];
    const keys = [...issue.keys].sort((a, b) => cmpPos(src.keyPos([...p, a]), src.keyPos([...p, b])));
    const key = keys[0];
    const pos = src.keyPos([...p, key]);
    if (p.length === 0) {
      const hint = STAGE_KEYS.includes(key)
        ? `\`${key}\` is a stage setting: put it under \`stages:\` → the stage's name`
        : `top-level keys are: ${TOP_KEYS.join(', ')}`;
      const guess = STAGE_KEYS.includes(key) ? '' : suggestion(key, allowed);
      return new ConfigError(pos, `unknown top-level key \`${key}\`${guess}`, hint);
    }
    return new ConfigError(
      pos,
      `${stagePrefix}unknown key \`${key}\`${suggestion(key, allowed)}`,
      allowed.length ? `stage keys are: ${allowed.join(', ')}` : undefined,
    );
  }

  if (issue.code === 'invalid_key') {
    const key = String(p[p.length - 1]);
    const parent = p.slice(0, -1);
    const pos = src.keyPos(p);
    if (parent.length === 1 && parent[0] === 'stages')
      return new ConfigError(
        pos,
        `stage name \`${key}\` is not allowed`,
        'use letters, digits, `_`, `.` and `-`, starting with a letter or digit (no `/`, no `..`, no spaces)',
      );
    if (parent.length === 1 && parent[0] === 'commands')
      return new ConfigError(
        pos,
        `command name \`${key}\` is not allowed`,
        'use letters, digits, `_`, `.` and `-`, starting with a letter or digit',
      );
    return new ConfigError(
      pos,
      `${stagePrefix}\`${key}\` is not a valid environment variable name`,
      'use letters, digits and `_`, not starting with a digit',
    );
  }

  const deep = deepestPath(issue);
  const got = valueAt(data, deep);
  const pos = src.valuePos(deep);

  if (p.length === 0) return new ConfigError(pos, `the top level must be a mapping; got ${describe(data)}`);
  if (p.length === 1 && got === undefined && (p[0] === 'version' || p[0] === 'stages')) {
    return new ConfigError(
      src.start(),
      p[0] === 'version' ? 'missing `version: 1`' : 'missing `stages:`',
      p[0] === 'version'
        ? 'add `version: 1` as the first line (the only version of this format so far)'
        : 'add a `stages:` mapping of stage names to stages',
    );
  }
  if (p.length === 1 && p[0] === 'version')
    return new ConfigError(pos, `\`version\` must be 1; got ${describe(got)}`, 'this pipeline understands `version: 1` only');
  if (p.length === 1)
    return new ConfigError(pos, `\`${p[0]}\` must be ${EXPECTED[p[0]]}; got ${describe(got)}`, TOP_HINTS[p[0]]);
  if (p[0] === 'commands')
    return new ConfigError(pos, `command \`${p[1]}\` must be ${EXPECTED.module}; got ${describe(got)}`, TOP_HINTS.commands);
  if (inStage && p.length === 2)
    return new ConfigError(
      pos,
      `stage \`${p[1]}\` must be ${EXPECTED.stage}; got ${describe(got)}`,
      'e.g. `hello: {cmd: echo hi}`',
    );
  if (inStage) {
    const field = String(p[2]);
    const entry = deep.length > 3 ? deep.slice(3) : [];
    let detail = `\`${field}\` must be ${EXPECTED[field] ?? 'something else'}; got ${describe(got)}`;
    if (field === 'env' && entry.length >= 1)
      detail = `\`env.${entry[0]}\` must be a string, number or boolean; got ${describe(got)}`;
    else if (entry.length === 1 && typeof entry[0] === 'number')
      detail = `\`${field}\` must be ${EXPECTED[field]}; entry ${entry[0] + 1} is ${describe(got)}`;
    return new ConfigError(pos, stagePrefix + detail, fieldHint(field));
  }
  return new ConfigError(pos, `\`${p.join('.')}\` is invalid: ${issue.message}`);
}

const TOP_HINTS: Record<string, string> = {
  params: 'e.g. `params: {seed: 42}`',
  stages: 'e.g. `stages: {hello: {cmd: echo hi}}`: each stage is a key under `stages:`, not a list item',
  commands: 'e.g. `commands: {report: tools/report.ts}`',
  ci: 'e.g. `ci: {node: 20}`',
};

function fieldHint(field: string): string | undefined {
  switch (field) {
    case 'outs':
    case 'deps':
    case 'metrics':
      return `e.g. \`${field}: [build/result.json]\``;
    case 'needs':
      return 'e.g. `needs: [prepare]`';
    case 'cmd':
      return 'e.g. `cmd: node scripts/prepare.js --out build` or `cmd: [node, scripts/prepare.js]`';
    case 'timeout':
      return 'e.g. `timeout: 90` (seconds) or `timeout: 10m`';
    case 'env':
      return 'e.g. `env: {OMP_NUM_THREADS: 1}`';
    case 'cache':
    case 'gate':
    case 'shell':
      return `write \`${field}: true\` or \`${field}: false\``;
    default:
      return undefined;
  }
}

function cmpPos(a: Position, b: Position): number {
  return a.line - b.line || a.col - b.col;
}

// ---------------------------------------------------------------------------------------------------
// Stages

function list(v: string | string[] | null | undefined): string[] {
  return v === undefined || v === null ? [] : typeof v === 'string' ? [v] : v;
}

/** Key path of entry `i` of a field that may be written as a single string or as a list. */
function entryPath(stage: string, field: string, value: string | string[] | null | undefined, i: number): KeyPath {
  return typeof value === 'string' ? ['stages', stage, field] : ['stages', stage, field, i];
}

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * Normalizes a workspace-relative path (forward slashes, no `./`, no trailing `/`) or fails with a message
 * naming `what` (e.g. "stage `fit`: out").
 */
function normalizePath(raw: string, what: string, pos: Position, opts: { glob: boolean }): string {
  const fail = (detail: string, hint?: string): never => {
    throw new ConfigError(pos, `${what} \`${raw.replace(/\0/g, '\\0')}\` ${detail}`, hint);
  };
  if (raw.includes('\0')) fail('contains a NUL character', 'remove the `\\0` from the path');
  if (raw.trim() === '') fail('is empty');
  const slashed = raw.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed))
    fail('is an absolute path', 'write paths relative to the folder of pipeline.yaml (the workspace)');
  if (slashed.startsWith('~')) fail('starts with `~`, which is not expanded', 'write paths relative to the workspace');
  const norm = path.posix.normalize(slashed).replace(/\/+$/, '');
  if (norm === '..' || norm.startsWith('../'))
    fail('points outside the workspace (`..`)', 'inputs and outputs must live inside the folder of pipeline.yaml');
  if (norm === '.' || norm === '') fail('is the workspace itself', 'name a file or folder inside the workspace');
  if (!opts.glob && GLOB_CHARS.test(norm)) fail('is a glob pattern', 'only `deps` may use patterns; name the exact path');
  return norm;
}

function isInside(child: string, parent: string): boolean {
  return child.startsWith(parent + '/');
}

function buildStage(
  src: Source,
  root: string,
  name: string,
  raw: RawStage,
  globalParams: Params,
  names: Set<string>,
): StageConfig {
  const at = (...p: KeyPath) => src.valuePos(['stages', name, ...p]);
  const keyAt = (...p: KeyPath) => src.keyPos(['stages', name, ...p]);
  const fail = (pos: Position, detail: string, hint?: string): never => {
    throw new ConfigError(pos, `stage \`${name}\`: ${detail}`, hint);
  };

  // cmd or module
  if (raw.cmd !== undefined && raw.module !== undefined)
    fail(keyAt('module'), 'has both `cmd` and `module`', 'keep one: `cmd` runs a command, `module` runs a TypeScript stage');
  if (raw.cmd === undefined && raw.module === undefined)
    fail(
      src.keyPos(['stages', name]),
      'has neither `cmd` nor `module`',
      'add `cmd: <command line>` to run a command, or `module: <path>.ts` to run a TypeScript stage',
    );
  const shell = raw.shell ?? false;
  let cmd: string[] | undefined;
  let module: string | undefined;
  if (raw.cmd !== undefined) {
    if (shell) {
      if (typeof raw.cmd !== 'string')
        fail(at('cmd'), 'with `shell: true`, `cmd` must be one string (the shell command line)', 'write `cmd: "a | b"`');
      cmd = [raw.cmd as string];
    } else if (typeof raw.cmd === 'string') {
      try {
        cmd = splitCommand(raw.cmd);
      } catch (err) {
        if (!(err instanceof CommandSyntaxError)) throw err;
        fail(src.charPos(['stages', name, 'cmd'], err.index), `cmd: ${err.message}`, err.hint);
      }
      if (cmd!.length === 0) fail(at('cmd'), '`cmd` is empty', fieldHint('cmd'));
    } else {
      cmd = [...raw.cmd];
      if (cmd[0] === '') fail(at('cmd', 0), '`cmd` starts with an empty program name', fieldHint('cmd'));
    }
  } else {
    if (raw.shell !== undefined) fail(keyAt('shell'), '`shell` applies to `cmd` stages only', 'remove `shell`');
    module = normalizePath(raw.module!, `stage \`${name}\`: module`, at('module'), { glob: false });
    checkFile(root, module, `stage \`${name}\`: module`, at('module'));
  }

  // paths
  const deps = list(raw.deps).map((d, i) =>
    normalizePath(d, `stage \`${name}\`: dep`, src.valuePos(entryPath(name, 'deps', raw.deps, i)), { glob: true }),
  );
  const outs = list(raw.outs).map((o, i) =>
    normalizePath(o, `stage \`${name}\`: out`, src.valuePos(entryPath(name, 'outs', raw.outs, i)), { glob: false }),
  );
  outs.forEach((o, i) => {
    const top = o.split('/')[0];
    if (RESERVED_OUTS.includes(o) || top === '.pipeline' || top === '.git')
      fail(src.valuePos(entryPath(name, 'outs', raw.outs, i)), `out \`${o}\` is reserved for the runner`, 'write outputs elsewhere, e.g. under build/');
  });
  const metrics = list(raw.metrics).map((m, i) =>
    normalizePath(m, `stage \`${name}\`: metrics file`, src.valuePos(entryPath(name, 'metrics', raw.metrics, i)), {
      glob: false,
    }),
  );

  // an out that is also read by the same stage
  deps.forEach((d, i) => {
    const o = outs.find((out) => out === d || isInside(d, out) || isInside(out, d));
    if (o !== undefined) {
      const detail =
        o === d ? `\`${d}\` is both a dep and an out` : isInside(d, o) ? `dep \`${d}\` is inside its out \`${o}\`` : `dep \`${d}\` contains its out \`${o}\``;
      fail(
        src.valuePos(entryPath(name, 'deps', raw.deps, i)),
        detail,
        'a stage cannot read what it writes (its fingerprint would change every run); split it into two stages',
      );
    }
  });

  // metrics among outs
  metrics.forEach((m, i) => {
    if (!outs.some((o) => o === m || isInside(m, o)))
      fail(
        src.valuePos(entryPath(name, 'metrics', raw.metrics, i)),
        `metrics file \`${m}\` is not among its outs`,
        `add \`${m}\` to \`outs\` (metrics are JSON files the stage writes)`,
      );
  });

  // needs
  const needs: string[] = [];
  list(raw.needs).forEach((n, i) => {
    const pos = src.valuePos(entryPath(name, 'needs', raw.needs, i));
    if (n === name) fail(pos, `needs itself`, 'remove it from its own `needs`');
    if (!names.has(n))
      fail(
        pos,
        `needs unknown stage \`${n}\`${suggestion(n, [...names].filter((s) => s !== name))}`,
        names.size <= 20 ? `stages are: ${[...names].join(', ')}` : 'check the spelling against the stage names under `stages:`',
      );
    if (!needs.includes(n)) needs.push(n);
  });

  // env
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.env ?? {})) {
    if (RESERVED_ENV.includes(k))
      fail(src.keyPos(['stages', name, 'env', k]), `\`${k}\` is set by the runner and cannot be declared in \`env\``, 'use params instead');
    env[k] = String(v);
  }

  // params: global, overridden by the stage's own
  const own = raw.params ?? {};
  const params: Params = { ...structuredClone(globalParams), ...own };

  const stage: StageConfig = {
    name,
    kind: cmd !== undefined ? 'cmd' : 'module',
    ...(cmd !== undefined ? { cmd } : {}),
    shell,
    ...(module !== undefined ? { module } : {}),
    deps,
    needs,
    params,
    ownParams: Object.keys(own),
    outs,
    metrics,
    env,
    ...(raw.timeout !== undefined ? { timeoutMs: durationMs(raw.timeout) } : {}),
    cache: raw.cache ?? true,
    gate: raw.gate ?? false,
    ...(raw.desc !== undefined ? { desc: raw.desc } : {}),
    pos: src.keyPos(['stages', name]),
  };
  return stage;
}

/** `30` (seconds), `"30s"`, `"10m"`, `"1h"`, `"500ms"` → milliseconds. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** A module file must exist, be a file, and stay inside the workspace after following symlinks. */
function checkFile(root: string, rel: string, what: string, where: Position | (() => Position)): void {
  const pos = () => (typeof where === 'function' ? where() : where);
  const abs = path.join(root, rel);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new ConfigError(pos(), `${what} \`${rel}\` not found (looked for ${abs})`, 'check the path: it is relative to the folder of pipeline.yaml');
  }
  if (!st.isFile()) throw new ConfigError(pos(), `${what} \`${rel}\` is not a file`, 'name the module file itself');
  const real = realpathSync(abs);
  const realRoot = realpathSync(root);
  if (!isInside(real, realRoot))
    throw new ConfigError(pos(), `${what} \`${rel}\` resolves to ${real}, outside the workspace`, 'keep modules inside the workspace');
}

/** Position of entry `i` of a stage's list field (written as a list or as a single string). */
function entryPos(src: Source, raw: RawPipeline, stage: string, field: 'deps' | 'outs' | 'needs' | 'metrics', i: number): Position {
  return src.valuePos(entryPath(stage, field, raw.stages[stage][field], i));
}

/** No two stages write the same path, and no out lies inside another out (same stage or not). */
function checkOuts(src: Source, raw: RawPipeline, stages: StageConfig[]): void {
  const owner = new Map<string, { stage: string; index: number }>();
  const dirs = new Map<string, { stage: string; out: string; index: number }>(); // proper ancestors of outs
  const lc = (stage: string, index: number) => formatLineCol(entryPos(src, raw, stage, 'outs', index));
  const hint = 'outs may not overlap: each file or folder out belongs to one stage as a whole';
  for (const s of stages) {
    s.outs.forEach((out, i) => {
      const fail = (detail: string): never => {
        throw new ConfigError(entryPos(src, raw, s.name, 'outs', i), `stage \`${s.name}\`: ${detail}`, hint);
      };
      const other = (o: { stage: string; index: number }) =>
        o.stage === s.name ? `another of its outs (at ${lc(o.stage, o.index)})` : `an out of stage \`${o.stage}\` (at ${lc(o.stage, o.index)})`;
      const same = owner.get(out);
      if (same)
        fail(
          same.stage === s.name
            ? `out \`${out}\` is listed twice (first at ${lc(s.name, same.index)})`
            : `out \`${out}\` is also written by stage \`${same.stage}\` (at ${lc(same.stage, same.index)})`,
        );
      const parts = out.split('/');
      for (let k = parts.length - 1; k >= 1; k--) {
        const dir = parts.slice(0, k).join('/');
        const o = owner.get(dir);
        if (o) fail(`out \`${out}\` is inside \`${dir}\`, ${other(o)}`);
      }
      const inner = dirs.get(out);
      if (inner) fail(`out \`${out}\` contains \`${inner.out}\`, ${other(inner)}`);
      owner.set(out, { stage: s.name, index: i });
      for (let k = parts.length - 1; k >= 1; k--) {
        const dir = parts.slice(0, k).join('/');
        if (!dirs.has(dir)) dirs.set(dir, { stage: s.name, out, index: i });
      }
    });
  }
}

/**
 * A cycle through `needs`, printed as `a → b → c → a` at the `needs` entry that closes it. Iterative on
 * purpose: graphlib's isAcyclic/findCycles recurse once per stage and overflow the stack on a chain of
 * ~10,000 stages.
 */
function checkCycles(src: Source, raw: RawPipeline, stages: StageConfig[]): void {
  // Kahn's algorithm over "needs": settle every stage whose needs are all settled.
  const waiting = new Map(stages.map((s) => [s.name, s.needs.length]));
  const neededBy = new Map<string, string[]>(stages.map((s) => [s.name, []]));
  for (const s of stages) for (const n of s.needs) neededBy.get(n)!.push(s.name);
  const ready = stages.filter((s) => s.needs.length === 0).map((s) => s.name);
  let settled = 0;
  while (ready.length) {
    const x = ready.pop()!;
    settled++;
    for (const d of neededBy.get(x)!) {
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  if (settled === stages.length) return;
  // Every unsettled stage needs an unsettled stage: following those needs from any of them closes a cycle.
  const byName = new Map(stages.map((s) => [s.name, s]));
  const unsettled = (n: string) => waiting.get(n)! > 0;
  const walk: string[] = [];
  const seenAt = new Map<string, number>();
  let x = stages.find((s) => unsettled(s.name))!.name;
  while (!seenAt.has(x)) {
    seenAt.set(x, walk.length);
    walk.push(x);
    x = byName.get(x)!.needs.find(unsettled)!;
  }
  let cycle = walk.slice(seenAt.get(x)!);
  // Start the cycle at its stage declared first, so the message does not depend on where the walk began.
  const order = new Map(stages.map((s, i) => [s.name, i]));
  const first = cycle.reduce((best, n, i) => (order.get(n)! < order.get(cycle[best])! ? i : best), 0);
  cycle = [...cycle.slice(first), ...cycle.slice(0, first)];
  const closing = cycle[cycle.length - 1];
  const pos = entryPos(src, raw, closing, 'needs', list(raw.stages[closing].needs).indexOf(cycle[0]));
  throw new ConfigError(
    pos,
    `stage \`${closing}\`: needs form a cycle: ${[...cycle, cycle[0]].join(' → ')}`,
    'each stage needs the next one; remove one of these `needs` so the stages can run in order',
  );
}

/** A dep written by another stage must come from an upstream stage (else the order between them is undefined). */
function checkDepsProducedElsewhere(src: Source, raw: RawPipeline, stages: StageConfig[]): void {
  const owner = new Map<string, string>();
  const dirs = new Map<string, string>();
  for (const s of stages)
    for (const out of s.outs) {
      owner.set(out, s.name);
      const parts = out.split('/');
      for (let k = 1; k < parts.length; k++) {
        const d = parts.slice(0, k).join('/');
        if (!dirs.has(d)) dirs.set(d, s.name);
      }
    }
  const byName = new Map(stages.map((s) => [s.name, s]));
  /** Whether `name` needs `target`, directly or through other stages (a search that stops when found). */
  const needsTransitively = (name: string, target: string): boolean => {
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length) {
      for (const n of byName.get(stack.pop()!)!.needs) {
        if (n === target) return true;
        if (!seen.has(n)) {
          seen.add(n);
          stack.push(n);
        }
      }
    }
    return false;
  };
  for (const s of stages) {
    s.deps.forEach((dep, i) => {
      if (GLOB_CHARS.test(dep)) return;
      let producer = owner.get(dep) ?? dirs.get(dep);
      const parts = dep.split('/');
      for (let k = parts.length - 1; k >= 1 && producer === undefined; k--) producer = owner.get(parts.slice(0, k).join('/'));
      if (producer === undefined || producer === s.name || needsTransitively(s.name, producer)) return;
      throw new ConfigError(
        entryPos(src, raw, s.name, 'deps', i),
        `stage \`${s.name}\`: dep \`${dep}\` is written by stage \`${producer}\`, which it does not need`,
        `add \`${producer}\` to its \`needs\` (its outs then become this stage's inputs)`,
      );
    });
  }
}

function buildCommands(src: Source, root: string, raw: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, file] of Object.entries(raw)) {
    if ((BUILTIN_COMMANDS as readonly string[]).includes(name))
      throw new ConfigError(
        src.keyPos(['commands', name]),
        `command \`${name}\` collides with the built-in \`pipeline ${name}\``,
        `choose another name; built-in commands are: ${BUILTIN_COMMANDS.join(', ')}`,
      );
    const pos = src.valuePos(['commands', name]);
    const rel = normalizePath(file, `command \`${name}\`: module`, pos, { glob: false });
    checkFile(root, rel, `command \`${name}\`: module`, pos);
    out[name] = rel;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// cmd strings → argv, without a shell

export class CommandSyntaxError extends Error {
  constructor(
    message: string,
    /** 0-based index of the offending character in the command line. */
    readonly index: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CommandSyntaxError';
  }
}

const SHELL_HINT = 'the command runs without a shell: quote the character to pass it literally, or set `shell: true`';

/**
 * Splits a command line into argv the way a POSIX shell would split words, without running one:
 * whitespace separates words; '...' is literal; "..." allows \" \\ \$ \` escapes; a backslash outside
 * quotes escapes the next character. Shell syntax that would need a shell (pipes, redirections, `;`, `&`,
 * `$VAR`, `$(...)`, backquotes) is an error, as are unbalanced quotes and a trailing backslash.
 */
export function splitCommand(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) args.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CommandSyntaxError('unbalanced single quote', i, "close it with another ' (or escape it as \\')");
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      const open = i;
      i++;
      inWord = true;
      for (;;) {
        if (i >= n) throw new CommandSyntaxError('unbalanced double quote', open, 'close it with another " (or escape it as \\")');
        const d = line[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < n && '"\\$`\n'.includes(line[i + 1])) {
          if (line[i + 1] !== '\n') cur += line[i + 1];
          i += 2;
        } else if (d === '$' && /[A-Za-z_{(]/.test(line[i + 1] ?? '')) {
          throw new CommandSyntaxError('`$` expansion needs a shell', i, SHELL_HINT + " (or use '...' quotes)");
        } else if (d === '`') {
          throw new CommandSyntaxError('backquote substitution needs a shell', i, SHELL_HINT);
        } else {
          cur += d;
          i++;
        }
      }
    } else if (c === '\\') {
      if (i + 1 >= n) throw new CommandSyntaxError('trailing backslash', i, 'remove it, or write \\\\ for a literal backslash');
      if (line[i + 1] !== '\n') {
        cur += line[i + 1];
        inWord = true;
      }
      i += 2;
    } else if (c === '`') {
      throw new CommandSyntaxError('backquote substitution needs a shell', i, SHELL_HINT);
    } else if ('|&;<>()'.includes(c)) {
      throw new CommandSyntaxError(`\`${c}\` is shell syntax`, i, SHELL_HINT);
    } else if (c === '$' && /[A-Za-z_{(]/.test(line[i + 1] ?? '')) {
      throw new CommandSyntaxError('`$` expansion needs a shell', i, SHELL_HINT);
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) args.push(cur);
  return args;
}
