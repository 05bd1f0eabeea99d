// Stage templates: a stage with `matrix: {bits: [8, 16]}` stands for one stage per combination of its values
// (the cartesian product, keys in the order written), each key a param of its expansion. Expansions are named
// `STAGE@8` (one key) or `STAGE@8-pow2` (values in key order), or by the template's `name:` pattern
// (`quantize-${bits}`). `${key}` in `outs`, `metrics` and `name:` takes the matrix values here, when the file is
// read (what a stage writes must be known before anything runs); in `deps`, `cmd` and `env` a key is a param like
// any other (interpolate.ts). Each expansion's positions are its template's (Source.alias).
//
// Every problem is a diagnostic at its place: a reference to no matrix key, a value that cannot be part of a default
// name, a name pattern that references no key or gives an invalid name, a matrix key that is also a param the stage
// reads, and a name taken twice (with both places).
import { diagnostic, related, type DiagnosticCode, type Range } from '../core/diagnostic.js';
import { suggestion } from '../core/errors.js';
import type { CheckContext } from './check-context.js';
import { NAME_RE, NAME_VALUE_RE } from './keys.js';
import { textRange, type KeyPath } from './positions.js';
import { ESCAPE_HINT, refsOf, scanRefs, substitute } from './refs.js';
import type { RawStage } from './schema.js';
import type { MatrixValue, Params, TemplateOrigin } from './types.js';

/** At most this many expansions per template. */
export const MAX_EXPANSIONS = 10_000;
/** The longest expansion name (it names files: the stage's log, its CI manifest). */
export const MAX_EXPANSION_NAME = 200;

/** Entries of `outs` and `metrics` (by index in the file) whose references name no matrix key: reported, left out. */
export interface Unresolved {
  outs: number[];
  metrics: number[];
}

/** One stage as the rest of the checks see it: a stage of the file, or one expansion of a template. */
export interface StageEntry {
  name: string;
  /** Its keys, `matrix` and `name` removed, `${key}` in `outs` and `metrics` replaced by its values. */
  raw: RawStage;
  template?: TemplateOrigin;
  unresolved?: Unresolved;
}

export interface Expanded {
  entries: StageEntry[];
  /** Template name → the names of its expansions. */
  templates: Record<string, string[]>;
}

/** The stages of the file with every template expanded; `names` holds every stage name the file declares. */
export function expandStages(ctx: CheckContext, stages: Record<string, RawStage>, names: string[], globals: Params): Expanded {
  const taken = new Map<string, Owner>(names.map((n) => [n, { stage: n }]));
  const entries: StageEntry[] = [];
  const templates: Record<string, string[]> = {};
  for (const [key, raw] of Object.entries(stages)) {
    if (raw.matrix === undefined) {
      if (raw.name !== undefined)
        report(ctx, 'expansion-name', ctx.src.keyRange(['stages', key, 'name']), key, '`name` names the expansions of a template, and this stage has no `matrix`', 'remove `name`, or add a `matrix:` (the stage name is its key under `stages:`)');
      entries.push({ name: key, ...withPaths(ctx, key, raw, {}) });
      continue;
    }
    const expansions = expandTemplate(ctx, key, raw, globals, taken);
    templates[key] = expansions.map((e) => e.name);
    entries.push(...expansions);
  }
  return { entries, templates };
}

/** Who has a name: a stage of the file, or an expansion of a template with these values. */
interface Owner {
  stage: string;
  values?: Record<string, MatrixValue>;
  /** The index of each value in its list. */
  index?: Record<string, number>;
  /** The template has a `name:` pattern (its place is the place of the name). */
  named?: boolean;
}

function report(ctx: CheckContext, code: DiagnosticCode, at: Range, stage: string, message: string, hint?: string, rel: ReturnType<typeof related>[] = []): void {
  ctx.out.add(diagnostic(code, at, `stage \`${stage}\`: ${message}`, hint, rel));
}

const shown = (values: Record<string, MatrixValue>) =>
  Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
    .join(', ');

/** The expansions of one template, each one's name checked and registered in `taken`. */
function expandTemplate(ctx: CheckContext, key: string, raw: RawStage, globals: Params, taken: Map<string, Owner>): StageEntry[] {
  const matrix = raw.matrix as Record<string, MatrixValue[]>;
  const keys = Object.keys(matrix);
  if (keys.length === 0) {
    report(ctx, 'matrix-shape', ctx.src.valueRange(['stages', key, 'matrix']), key, '`matrix` has no keys', 'list each key with its values, e.g. `matrix: {bits: [8, 16]}`; for a single stage, remove `matrix`');
    return [];
  }
  checkParamClash(ctx, key, raw, keys, globals);
  const combos = keys.reduce((n, k) => n * matrix[k].length, 1);
  if (combos > MAX_EXPANSIONS) {
    report(ctx, 'matrix-shape', ctx.src.valueRange(['stages', key, 'matrix']), key, `the matrix has ${combos} combinations; a template may have at most ${MAX_EXPANSIONS}`, 'split it into several templates, or sweep fewer values');
    return [];
  }
  const namer = raw.name === undefined ? defaultNamer(ctx, key, matrix) : patternNamer(ctx, key, raw.name, keys);
  const rest: RawStage = { ...raw };
  delete rest.matrix;
  delete rest.name;
  const entries: StageEntry[] = [];
  for (const index of product(keys.map((k) => matrix[k].length))) {
    const at = Object.fromEntries(keys.map((k, i) => [k, index[i]]));
    const values = Object.fromEntries(keys.map((k) => [k, matrix[k][at[k]]]));
    const named = namer?.(values);
    // A name taken already is reported (the first one is checked); an expansion that has no valid name (reported) is
    // still checked, under a name no stage can have.
    if (named !== undefined && !claim(ctx, key, raw, named, { stage: key, values, index: at, named: raw.name !== undefined }, taken)) continue;
    const name = named ?? `${key}@#${index.join('.')}`;
    ctx.src.alias(name, { template: key, index: at });
    entries.push({ name, ...withPaths(ctx, key, rest, values), template: { name: key, matrix: values, index: at } });
  }
  return entries;
}

/** Every combination of indexes, the first list outermost. */
function* product(lengths: number[]): Generator<number[]> {
  const index = lengths.map(() => 0);
  if (lengths.some((n) => n === 0)) return;
  for (;;) {
    yield [...index];
    let k = lengths.length - 1;
    while (k >= 0 && ++index[k] === lengths[k]) index[k--] = 0;
    if (k < 0) return;
  }
}

/** A matrix key is a param of each expansion: it may not also be a param the stage reads (its own or a global one). */
function checkParamClash(ctx: CheckContext, key: string, raw: RawStage, keys: string[], globals: Params): void {
  const own = raw.params ?? {};
  const uses = raw.uses === undefined || raw.uses === null ? undefined : typeof raw.uses === 'string' ? [raw.uses] : raw.uses;
  for (const k of keys) {
    const at = ctx.src.keyRange(['stages', key, 'matrix', k]);
    if (Object.hasOwn(own, k))
      report(ctx, 'matrix-param-clash', at, key, `matrix key \`${k}\` is also one of its params`, `a matrix key is the param of each expansion: remove \`${k}\` from \`params:\`, or rename one of them`, [
        related(ctx.src.keyRange(['stages', key, 'params', k]), `the param \`${k}\``),
      ]);
    else if (Object.hasOwn(globals, k) && (uses === undefined || uses.includes(k)))
      report(
        ctx,
        'matrix-param-clash',
        at,
        key,
        `matrix key \`${k}\` is also a global param the stage reads`,
        `rename the matrix key, or ${uses === undefined ? 'list the global params it reads in `uses:` (without this one)' : `remove \`${k}\` from \`uses\``}`,
        [related(ctx.src.keyRange(['params', k]), `the global param \`${k}\``)],
      );
  }
}

type Namer = (values: Record<string, MatrixValue>) => string | undefined;

/** `STAGE@v1-v2…`; every value must be made of `[A-Za-z0-9_.-]` (else a `name:` pattern is needed). */
function defaultNamer(ctx: CheckContext, key: string, matrix: Record<string, MatrixValue[]>): Namer | undefined {
  let ok = true;
  for (const [k, values] of Object.entries(matrix))
    values.forEach((v, i) => {
      if (NAME_VALUE_RE.test(String(v))) return;
      ok = false;
      report(
        ctx,
        'expansion-name',
        ctx.src.valueRange(['stages', key, 'matrix', k, i]),
        key,
        `matrix value ${JSON.stringify(String(v))} of \`${k}\` cannot be part of a stage name`,
        `give the template a \`name:\` pattern (e.g. \`name: ${key}-\${${k}}\` with values made of letters, digits, \`_\`, \`.\`, \`-\`), or change the value`,
      );
    });
  if (!ok) return undefined;
  return (values) => {
    const name = `${key}@${Object.values(values).map(String).join('-')}`;
    if (!name.includes('..') && name.length <= MAX_EXPANSION_NAME) return name;
    report(ctx, 'expansion-name', ctx.src.keyRange(['stages', key]), key, `the expansion for ${shown(values)} would be named \`${name.slice(0, 60)}${name.length > 60 ? '…' : ''}\`, ${name.includes('..') ? 'which holds `..`' : `longer than ${MAX_EXPANSION_NAME} characters`}`, 'give the template a `name:` pattern');
    return undefined;
  };
}

/** A `name:` pattern: it references matrix keys only, at least one, and every name it gives is a valid stage name. */
function patternNamer(ctx: CheckContext, key: string, pattern: string, keys: string[]): Namer | undefined {
  const keyPath: KeyPath = ['stages', key, 'name'];
  if (!checkRefs(ctx, key, keyPath, pattern, keys, '`name:`')) return undefined;
  if (!refsOf(pattern).some((r) => keys.includes(r.name))) {
    report(ctx, 'expansion-name', ctx.src.valueRange(keyPath), key, `name pattern \`${pattern}\` references no matrix key: every expansion would have the same name`, `reference the keys that tell expansions apart, e.g. \`name: ${key}-${keys.map((k) => `\${${k}}`).join('-')}\``);
    return undefined;
  }
  return (values) => {
    const name = substitute(pattern, (ref) => String(values[ref.name]));
    if (NAME_RE.test(name) && name.length <= MAX_EXPANSION_NAME) return name;
    report(
      ctx,
      'expansion-name',
      ctx.src.valueRange(keyPath),
      key,
      `name pattern \`${pattern}\` gives ${JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name)} for ${shown(values)}, which is not a valid stage name`,
      `a stage name is letters, digits, \`_\`, \`.\` and \`-\`, starts with a letter or digit, has no \`..\` and at most ${MAX_EXPANSION_NAME} characters: change the pattern or the value`,
    );
    return undefined;
  };
}

/** Takes `name` for an expansion, or reports who has it already (with both places) and returns false. */
function claim(ctx: CheckContext, key: string, raw: RawStage, name: string, me: Owner, taken: Map<string, Owner>): boolean {
  const other = taken.get(name);
  if (other === undefined) {
    taken.set(name, me);
    return true;
  }
  const values = me.values!;
  const placeOf = (o: Owner) => (o.named ? ctx.src.valueRange(['stages', o.stage, 'name']) : ctx.src.keyRange(['stages', o.stage]));
  if (other.stage === key) {
    // Two expansions of this template: a value listed twice, or a name that does not tell values apart.
    const repeated = Object.keys(values).find((k) => other.index![k] !== me.index![k] && other.values![k] === values[k]);
    const differ = Object.keys(values).some((k) => other.values![k] !== values[k]);
    const at = (o: Owner) => (repeated !== undefined && !differ ? ctx.src.valueRange(['stages', key, 'matrix', repeated, o.index![repeated]]) : placeOf(o));
    const message =
      repeated !== undefined && !differ
        ? `matrix key \`${repeated}\` lists ${JSON.stringify(values[repeated])} twice: two expansions would be named \`${name}\``
        : `the expansions for ${shown(other.values!)} and for ${shown(values)} are both named \`${name}\``;
    const hint = !differ ? 'remove the repeated value' : raw.name !== undefined ? 'make the name pattern reference every key whose values differ' : 'give the template a `name:` pattern that tells them apart';
    report(ctx, 'expansion-clash', at(me), key, message, hint, [related(at(other), `\`${name}\` for ${shown(other.values!)}`)]);
    return false;
  }
  const whose = other.values === undefined ? `stage \`${other.stage}\`` : `the expansion of \`${other.stage}\` for ${shown(other.values)}`;
  report(ctx, 'expansion-clash', placeOf(me), key, `the expansion for ${shown(values)} is named \`${name}\`, as is ${whose}`, 'rename one of them (or change the `name:` pattern)', [
    related(placeOf(other), other.values === undefined ? `stage \`${other.stage}\`` : `\`${name}\` for ${shown(other.values)}`),
  ]);
  return false;
}

/** The references of a text that only matrix keys may fill: each one names a key; false when one does not. */
function checkRefs(ctx: CheckContext, key: string, keyPath: KeyPath, text: string, keys: string[], where: string): boolean {
  let ok = true;
  for (const p of scanRefs(text)) {
    if (p.kind === 'unterminated') {
      ok = false;
      report(ctx, 'unknown-interpolation', textRange(ctx.src, keyPath, p.start, p.end), key, `\`${text.slice(p.start, p.start + 20)}\` in ${where} has no closing \`}\``, `close it with \`}\`; ${ESCAPE_HINT}`);
    } else if (p.kind === 'ref' && !keys.includes(p.name)) {
      ok = false;
      const hint = keys.length
        ? `${where} take the keys of the stage's \`matrix:\` only (${keys.join(', ')}): what a stage writes is known when the file is read`
        : `this stage has no \`matrix:\`: ${where} take matrix keys only, so that what a stage writes is known when the file is read`;
      report(ctx, 'unknown-interpolation', textRange(ctx.src, keyPath, p.start, p.end), key, `\`\${${p.name}}\` in ${where} names no matrix key${suggestion(p.name, keys)}`, `${hint}; ${ESCAPE_HINT}`);
    }
  }
  return ok;
}

/**
 * `outs` and `metrics` with the values put in (`$${` becomes `${`); an entry with a reference to no key (reported)
 * stays as written and is listed in `unresolved`, to be left out.
 */
function withPaths(ctx: CheckContext, key: string, raw: RawStage, values: Record<string, MatrixValue>): Pick<StageEntry, 'raw' | 'unresolved'> {
  const keys = Object.keys(values);
  const unresolved: Unresolved = { outs: [], metrics: [] };
  const fill = (field: 'outs' | 'metrics'): string | string[] | null | undefined => {
    const v = raw[field];
    if (v === undefined || v === null) return v;
    const one = (text: string, at: KeyPath, i: number): string => {
      if (!text.includes('${')) return text;
      if (checkRefs(ctx, key, at, text, keys, `\`${field}\``)) return substitute(text, (ref) => String(values[ref.name]));
      unresolved[field].push(i);
      return text;
    };
    return typeof v === 'string' ? one(v, ['stages', key, field], 0) : v.map((text, i) => one(text, ['stages', key, field, i], i));
  };
  if (![raw.outs, raw.metrics].some((v) => v !== undefined && v !== null && (typeof v === 'string' ? v : v.join('')).includes('${'))) return { raw };
  const filled = { ...raw, outs: fill('outs'), metrics: fill('metrics') };
  return { raw: filled, ...(unresolved.outs.length + unresolved.metrics.length > 0 ? { unresolved } : {}) };
}
