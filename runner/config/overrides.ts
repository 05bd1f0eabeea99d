// `--set [stage.]key=value`: param overrides from the command line, the value parsed as YAML.
//
// Rules:
// - `STAGE.key=v` sets a param the stage sees (its own or a global one) for that stage only.
// - `key=v` (no stage) changes the global param `key`: every stage that takes `key` from the global
//   params sees the new value; a stage that declares `key` in its own params keeps its own value.
// - Stage names may contain `.` and `-`: the longest prefix before a `.` that names a stage wins
//   (`quantize-8.bits=8`, `v1.2.alpha=3` with a stage `v1.2`).
// - A template's name sets the param for every expansion (`quantize.bias_correction=false`), an expansion's name
//   for that one (`quantize@8.…`, or `quantize-8.…` with a `name:` pattern), and wins over the template's whatever
//   their order; a matrix key cannot be set (its values are the list under `matrix:`).
// - Stage overrides win over global ones whatever their order on the command line; among overrides of
//   the same param, the last one wins.
import { createRequire } from 'node:module';
import type * as YamlModule from 'yaml';
import { ConfigError, UsageError, suggestion } from '../core/errors.js';
import { StageNames } from './stage-names.js';
import type { Range } from '../core/diagnostic.js';
import type { ParamOverride, PipelineConfig, SetIn, StageConfig } from './types.js';

const FORM = 'expected --set [STAGE.]KEY=VALUE, e.g. --set fit.alpha=0.2 or --set seed=7';

/** Parses one `--set` argument. The stage/key split is provisional (at the last `.`); applyOverrides resolves it. */
export function parseSetArg(raw: string): ParamOverride {
  return parseOverride(raw, '--set', raw);
}

/** One `KEY=VALUE`, from `--set` or one value of a `--grid` (whose messages name the flag and its whole argument). */
function parseOverride(raw: string, flag: '--set' | '--grid', shown: string): ParamOverride {
  const form = flag === '--set' ? FORM : GRID_FORM;
  const eq = raw.indexOf('=');
  if (eq < 0) throw new UsageError(`${flag} ${shown}: missing \`=\``, form);
  const name = raw.slice(0, eq).trim();
  if (name === '') throw new UsageError(`${flag} ${shown}: empty param name before \`=\``, form);
  if (name.startsWith('.') || name.endsWith('.') || name.includes('..') || /\s/.test(name))
    throw new UsageError(`${flag} ${shown}: \`${name}\` is not a param name`, form);
  const text = raw.slice(eq + 1);
  let value: unknown = plainScalar(text);
  if (value === NOT_PLAIN) try {
    value = loadYaml().parse(text, { prettyErrors: false });
  } catch (err) {
    const what = shown === raw ? 'the value' : `the value \`${text}\``;
    throw new UsageError(
      `${flag} ${shown}: ${what} is not valid YAML (${(err as Error).message.split('\n')[0]})`,
      `${form}; quote strings that contain YAML syntax, e.g. ${flag === '--set' ? `--set 'note="a: b"'` : `--grid 'note="a: b","c,d"'`}`,
    );
  }
  if (value === undefined) value = null; // `key=` sets null, like `key:` in YAML
  const dot = name.lastIndexOf('.');
  return dot < 0 ? { key: name, value, raw } : { stage: name.slice(0, dot), key: name.slice(dot + 1), value, raw };
}

const GRID_FORM = 'expected --grid [STAGE.]KEY=V1,V2,…, e.g. --grid gate.r2_min=0.3,0.4';

// yaml is loaded only for values that need it (it is not needed by a cached config).
const loadYaml = (): typeof YamlModule => createRequire(import.meta.url)('yaml') as typeof YamlModule;

/**
 * `--grid K=V1,V2,…`: the overrides, one per value, each value parsed as `--set` parses one. A list holding quotes,
 * brackets or braces is read as a YAML flow sequence, so `"a,b"` is one value and `[1, 2]` one list; otherwise it is
 * split at its commas.
 */
export function parseGridArg(raw: string): ParamOverride[] {
  const eq = raw.indexOf('=');
  if (eq < 0) throw new UsageError(`--grid ${raw}: missing \`=\``, GRID_FORM);
  const key = raw.slice(0, eq);
  const list = raw.slice(eq + 1);
  const texts = /["'[\]{}]/.test(list) ? flowItems(raw, list) : list.split(',');
  if (texts.some((v) => v.trim() === '')) throw new UsageError(`--grid ${raw}: an empty value in the list`, `${GRID_FORM}; separate values with single commas`);
  return texts.map((v) => ({ ...parseOverride(`${key}=${v}`, '--grid', raw), raw: `${key}=${v} (from --grid ${raw})` }));
}

/** The source text of each item of `[list]` read as a YAML flow sequence. */
function flowItems(raw: string, list: string): string[] {
  const source = `[${list}]`;
  const doc = loadYaml().parseDocument(source, { prettyErrors: false });
  const items = doc.contents !== null && 'items' in doc.contents && Array.isArray(doc.contents.items) ? (doc.contents.items as { range?: [number, number, number] }[]) : undefined;
  if (doc.errors.length > 0 || items === undefined || !doc.contents || doc.contents.range?.[1] !== source.length) {
    const why = doc.errors[0]?.message.split('\n')[0] ?? 'not one list';
    throw new UsageError(`--grid ${raw}: the values are not a valid list (${why})`, `${GRID_FORM}; quote a value that holds a comma or a quote: --grid 'note="a,b",c'`);
  }
  return items.map((item) => (item.range ? source.slice(item.range[0], item.range[1]) : ''));
}

const NOT_PLAIN = Symbol('not plain');
const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;
// Words only: no YAML indicator, no leading dot, sign or digit (those can be numbers, .inf or .nan), no space.
const WORD = /^(?:\.\.?\/|[A-Za-z_/])[A-Za-z0-9_./-]*$/;
const YAML_WORDS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'null', 'Null', 'NULL']);

/**
 * The values most `--set`s carry — decimal numbers, true/false/null, and plain words or paths — read exactly as
 * YAML 1.2's core schema reads them, without loading the YAML parser; anything else returns NOT_PLAIN.
 */
function plainScalar(text: string): unknown {
  if (DECIMAL.test(text)) return Number(text);
  if (text === 'true' || text === 'True' || text === 'TRUE') return true;
  if (text === 'false' || text === 'False' || text === 'FALSE') return false;
  if (text === 'null' || text === 'Null' || text === 'NULL') return null;
  if (WORD.test(text) && !YAML_WORDS.has(text)) return text;
  return NOT_PLAIN;
}

/** Records who set a param last: a `--set` argument, or a file (pipeline.local.yaml) with the value's place. */
function mark(setBy: Record<string, string>, setIn: Record<string, SetIn>, r: Resolved): void {
  setBy[r.key] = r.raw;
  if (r.from !== undefined && r.at !== undefined) setIn[r.key] = { from: r.from, at: r.at };
  else delete setIn[r.key];
}

interface Resolved {
  /** The stages a `STAGE.key` applies to: the stage, or every expansion of a template; none for a global param. */
  stages?: StageConfig[];
  /** The name as typed before `.key` (a stage, an expansion or a template). */
  target?: string;
  key: string;
  value: unknown;
  raw: string;
  from?: string;
  at?: Range;
}

function resolve(config: PipelineConfig, o: ParamOverride): Resolved {
  const name = o.stage === undefined ? o.key : `${o.stage}.${o.key}`;
  const names = StageNames.of(config);
  const byName = new Map(config.stages.map((s) => [s.name, s]));
  // Longest prefix (ending before a `.`) that names a stage or a template, leaving a non-empty key.
  for (let i = name.lastIndexOf('.'); i > 0; i = name.lastIndexOf('.', i - 1)) {
    const target = name.slice(0, i);
    const meant = names.meaning(target);
    if (meant) return checkKey(config, { stages: meant.map((n) => byName.get(n)!), target, key: name.slice(i + 1), value: o.value, raw: o.raw, from: o.from, at: o.at });
  }
  if (!name.includes('.') || Object.hasOwn(config.params, name))
    return checkKey(config, { key: name, value: o.value, raw: o.raw, from: o.from, at: o.at });
  const stageName = name.slice(0, name.lastIndexOf('.'));
  throw new UsageError(`--set ${o.raw}: unknown stage \`${stageName}\`${suggestion(stageName, names.all())}`, `stages are: ${names.listing()}`);
}

function checkKey(config: PipelineConfig, r: Resolved): Resolved {
  if (r.stages) {
    const stage = r.stages[0];
    const template = stage.template;
    if (template && Object.hasOwn(template.matrix, r.key)) {
      const values = config.templates?.[template.name]?.length ?? 0;
      throw new ConfigError(
        config.rangeOf?.(['stages', template.name, 'matrix', r.key], 'key') ?? config.positionOf(['stages', template.name, 'matrix', r.key]),
        `--set ${r.raw}: \`${r.key}\` is a matrix key of template \`${template.name}\` (${values} expansion${values === 1 ? '' : 's'}); its values are the list under \`matrix:\`, not a param to set`,
        `edit the list of \`${r.key}\` in \`matrix:\` to change which values run; to run some of them, name their stages (\`pipeline run ${stage.name}\`)`,
        'matrix-key-set',
      );
    }
    if (!Object.hasOwn(stage.params, r.key)) {
      const known = Object.keys(stage.params);
      const what = template && r.target === template.name ? `template \`${template.name}\`` : `stage \`${stage.name}\``;
      throw new ConfigError(
        config.positionOf(['stages', stage.name, 'params']),
        `--set ${r.raw}: ${what} has no param \`${r.key}\`${suggestion(r.key, known)}`,
        known.length
          ? `its params are: ${known.join(', ')} (declared here or in the global \`params\`)`
          : `it has no params; declare \`${r.key}\` under its \`params:\` first`,
        'unknown-param',
      );
    }
  } else if (!Object.hasOwn(config.params, r.key)) {
    const known = Object.keys(config.params);
    const stageParams = config.stages.filter((s) => s.ownParams.includes(r.key)).map((s) => `${s.template?.name ?? s.name}.${r.key}`);
    throw new ConfigError(
      config.positionOf(['params']),
      `--set ${r.raw}: no global param \`${r.key}\`${suggestion(r.key, known)}`,
      stageParams.length
        ? `it is a stage param: use --set ${stageParams[0]}=...`
        : known.length
          ? `global params are: ${known.join(', ')}; stage params are set with --set STAGE.KEY=VALUE`
          : 'there are no global params; stage params are set with --set STAGE.KEY=VALUE',
      'unknown-param',
    );
  }
  return r;
}

/** Returns a new config with the overrides applied (the input is not modified). Throws UsageError/ConfigError. */
export function applyOverrides(config: PipelineConfig, sets: ParamOverride[]): PipelineConfig {
  if (sets.length === 0) return config;
  const resolved = sets.map((o) => resolve(config, o));
  const globals = resolved.filter((r) => !r.stages);
  const perStage = resolved.filter((r) => r.stages);

  const params = { ...config.params };
  const setBy: Record<string, string> = { ...config.setBy };
  const setIn: Record<string, SetIn> = { ...config.setIn };
  for (const g of globals) {
    params[g.key] = structuredClone(g.value);
    mark(setBy, setIn, g);
  }

  const stages = config.stages.map((s) => {
    const fromGlobal = globals.filter((g) => !s.ownParams.includes(g.key) && Object.hasOwn(s.params, g.key));
    // A template's override first: one naming the expansion itself wins whatever the order.
    const own = perStage.filter((r) => r.stages!.some((x) => x.name === s.name)).sort((a, b) => Number(a.target === s.name) - Number(b.target === s.name));
    if (fromGlobal.length === 0 && own.length === 0) return s;
    const p = { ...s.params };
    const by: Record<string, string> = { ...s.setBy };
    const inFile: Record<string, SetIn> = { ...s.setIn };
    for (const g of fromGlobal) {
      p[g.key] = structuredClone(g.value);
      mark(by, inFile, g);
    }
    for (const r of own) {
      p[r.key] = structuredClone(r.value);
      mark(by, inFile, r);
    }
    return { ...s, params: p, setBy: by, setIn: inFile };
  });

  const next = { ...config, params, stages, setBy, setIn } as PipelineConfig;
  Object.defineProperty(next, 'positionOf', { value: config.positionOf, enumerable: false });
  Object.defineProperty(next, 'rangeOf', { value: config.rangeOf, enumerable: false });
  return next;
}

