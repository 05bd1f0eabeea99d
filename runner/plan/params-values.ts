// A stage's param values against its module's `params` schema, as diagnostics: keys the schema does not read, then
// what the schema itself said of the values (params-probe.ts checks them with the module's own zod schema, so a
// `.refine()` is checked like a type). Each problem is placed where its value came from: the `--set` argument, the
// stage's `params:`, its matrix value, or the global `params:`.
import { diagnostic, type Diagnostic } from '../core/diagnostic.js';
import { printable } from '../core/printable.js';
import type { Params, PipelineConfig, StageConfig } from '../config/types.js';
import { canonicalJson, hashBytes } from '../store/hash.js';
import type { CheckAnswer, CheckIssue } from './params-probe.js';

type JsonSchema = Record<string, unknown>;
type Place = Parameters<typeof diagnostic>[1];

/** The stage's params narrowed to the keys its schema reads (what the stage is given). */
export function narrowParams(schema: JsonSchema, params: Params): Params {
  // fromEntries: a key named `__proto__` stays a key.
  return Object.fromEntries(Object.keys(schema.properties ?? {}).flatMap((k) => (Object.hasOwn(params, k) ? [[k, params[k]]] : [])));
}

/** The key under which a check of these values by this module's code is remembered. */
export function valuesDigest(codeHash: string, params: Params): string {
  return hashBytes(canonicalJson({ codeHash, params }));
}

/** The stage as messages name it: an expansion of a template by its template (the same problem in each is kept once). */
export function labelOf(stage: StageConfig): string {
  return stage.template?.name ?? stage.name;
}

/** Where a stage's param value came from: the `--set` argument, the stage's `params:` (or matrix), or the global `params:`. */
function placeOf(config: PipelineConfig, stage: StageConfig, key: string, inner: (string | number)[] = []): Place {
  const inFile = stage.setIn?.[key];
  if (inFile !== undefined) return inFile.at;
  const raw = stage.setBy?.[key];
  if (raw !== undefined) {
    const file = `--set ${raw}`;
    const col = file.indexOf('=') + 2;
    return { file, line: 1, col, endLine: 1, endCol: file.length + 1 };
  }
  const keyPath = stage.ownParams.includes(key) ? ['stages', stage.name, 'params', key] : ['params', key];
  return config.rangeOf?.([...keyPath, ...inner]) ?? config.positionOf([...keyPath, ...inner]);
}

/**
 * Where a check of the values as a whole failed: the `--set` argument of one of them (what changed last), else the
 * stage's matrix value (each expansion has its own), else the stage's `params:`, else the global `params:`.
 */
function wholePlace(config: PipelineConfig, stage: StageConfig, params: Params): Place {
  const keys = Object.keys(params);
  const key = keys.find((k) => stage.setBy?.[k] !== undefined) ?? keys.find((k) => stage.template?.matrix[k] !== undefined);
  if (key !== undefined) return placeOf(config, stage, key);
  const keyPath = keys.some((k) => stage.ownParams.includes(k)) ? ['stages', stage.name, 'params'] : keys.length > 0 ? ['params'] : ['stages', stage.name];
  return config.rangeOf?.(keyPath, 'key') ?? config.positionOf(keyPath);
}

/** Who set a param outside pipeline.yaml: `--set ARG` or the file (pipeline.local.yaml). */
function setWhere(stage: StageConfig, key: string): string {
  return stage.setIn?.[key]?.from ?? `--set ${stage.setBy?.[key]}`;
}

/** The values in a message: `lo=5, hi=1 (--set hi=1)`, each value cut to a readable length. */
function describeValues(stage: StageConfig, params: Params): string {
  const text = Object.entries(params).map(([k, v]) => {
    const json = JSON.stringify(v) ?? String(v);
    const shown = json.length > 40 ? `${json.slice(0, 37)}...` : json;
    return `${k}=${shown}${stage.setBy?.[k] !== undefined ? ` (${setWhere(stage, k)})` : ''}`;
  });
  return text.length > 0 ? text.join(', ') : 'no params';
}

/** A JSON Schema in words: `a number`, `an integer from 1 to 64`, `one of 8, 16`, `a string or null`. */
export function describeSchema(s: JsonSchema): string {
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if ('const' in s) return JSON.stringify(s.const);
  const alts = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(alts)) return alts.map(describeSchema).join(' or ');
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  const words: Record<string, string> = { number: 'a number', integer: 'a whole number', string: 'a string', boolean: 'true or false', null: 'null', array: 'a list', object: 'a mapping' };
  let text = types.map((t) => words[t] ?? t).join(' or ') || 'any value';
  const min = (s.minimum ?? s.exclusiveMinimum) as number | undefined;
  const max = (s.maximum ?? s.exclusiveMaximum) as number | undefined;
  if (min !== undefined && max !== undefined) text += ` from ${min} to ${max}${s.exclusiveMaximum !== undefined || s.exclusiveMinimum !== undefined ? ' (exclusive)' : ''}`;
  else if (min !== undefined) text += s.exclusiveMinimum !== undefined ? ` > ${min}` : ` ≥ ${min}`;
  else if (max !== undefined) text += s.exclusiveMaximum !== undefined ? ` < ${max}` : ` ≤ ${max}`;
  return text;
}

/** Keys the stage sets itself (or by `--set stage.key=`) that its schema does not read. */
function unknownKeys(config: PipelineConfig, stage: StageConfig, keys: string[]): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const module = stage.module ?? '';
  for (const k of stage.ownParams.filter((p) => !keys.includes(p)))
    problems.push(
      diagnostic(
        'unknown-param',
        config.rangeOf?.(['stages', stage.name, 'params', k], 'key') ?? config.positionOf(['stages', stage.name, 'params', k]),
        `stage \`${labelOf(stage)}\`: param \`${k}\` is not read by ${module} (its \`params\` schema has ${keys.length ? keys.map((x) => `\`${x}\``).join(', ') : 'no keys'})`,
        `remove it, or add it to the \`params\` schema that ${module} exports`,
      ),
    );
  for (const [k, raw] of Object.entries(stage.setBy ?? {}))
    if (!keys.includes(k) && raw.slice(0, raw.indexOf('=')).includes('.'))
      problems.push(diagnostic('unknown-param', placeOf(config, stage, k), `stage \`${labelOf(stage)}\` does not read param \`${k}\``, keys.length ? `its params are: ${keys.join(', ')}` : 'it reads no params'));
  return problems;
}

/** `layers[2].size` for the path `['layers', 2, 'size']`. */
function pathText(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** One issue the schema found, as a diagnostic at the value's place. */
function issueProblem(config: PipelineConfig, stage: StageConfig, schema: JsonSchema, params: Params, issue: CheckIssue): Diagnostic {
  const module = stage.module ?? '';
  const label = labelOf(stage);
  const said = printable(issue.message);
  if (issue.path.length === 0)
    return diagnostic('param-check', wholePlace(config, stage, params), `stage \`${label}\`: params ${describeValues(stage, params)} fail the check of ${module}: ${said}`, `change the values so that they pass; the check is the \`params\` schema of ${module}`);
  const key = String(issue.path[0]);
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const expected = props[key] ? describeSchema(props[key]) : undefined;
  if (!Object.hasOwn(params, key))
    return diagnostic('param-missing', config.rangeOf?.(['stages', stage.name], 'key') ?? stage.pos, `stage \`${label}\`: param \`${key}\` is required by ${module}${expected ? ` (${expected})` : ''}`, `add \`${key}:\` under its \`params:\` or the global \`params:\``);
  const where = stage.setBy?.[key] !== undefined ? setWhere(stage, key) : 'pipeline.yaml';
  if (issue.code === 'custom') {
    const inner = issue.path.slice(1);
    const value = JSON.stringify(params[key]);
    return diagnostic('param-check', placeOf(config, stage, key, stage.setBy?.[key] !== undefined ? [] : inner), `stage \`${label}\`: param \`${pathText(issue.path)}\`${inner.length ? ` (in ${key}=${value})` : ` is ${value}`}: ${said}`, `set a value that passes the check (${where}); the check is the \`params\` schema of ${module}`);
  }
  return diagnostic('param-type', placeOf(config, stage, key), `stage \`${label}\`: param \`${key}\` is ${JSON.stringify(params[key])}; expected ${expected ?? said}`, `set a value of that type (${where}); the type is the \`params\` schema of ${module}`);
}

/** Every problem with the stage's params: keys its schema does not read, else what the schema's check said. */
export function paramProblems(config: PipelineConfig, stage: StageConfig, schema: JsonSchema, params: Params, check: CheckAnswer | undefined): Diagnostic[] {
  const unknown = unknownKeys(config, stage, Object.keys((schema.properties ?? {})));
  if (unknown.length > 0) return unknown;
  const module = stage.module ?? '';
  if (check === undefined || 'threw' in check)
    return [
      diagnostic(
        'param-check',
        wholePlace(config, stage, params),
        `stage \`${labelOf(stage)}\`: the \`params\` schema of ${module} ${check ? `threw while checking ${describeValues(stage, params)}: ${printable(check.threw)}` : 'gave no answer'}`,
        `a check in the schema (\`.refine()\`, \`.superRefine()\`, a transform) must not throw: return false, or add an issue`,
      ),
    ];
  const seen = new Set<string>();
  const problems: Diagnostic[] = [];
  for (const issue of check.issues) {
    // One problem per key (a type error hides the rest), but each distinct failed check of a key or of the whole.
    const id = issue.code === 'custom' || issue.path.length === 0 ? `${pathText(issue.path)}\0${issue.message}` : String(issue.path[0]);
    if (seen.has(id)) continue;
    seen.add(id);
    problems.push(issueProblem(config, stage, schema, params, issue));
  }
  return problems;
}
