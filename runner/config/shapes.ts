// Shapes of pipeline.yaml (zod, schema.ts) → diagnostics worded for this file, then what can still be checked:
// a key in the wrong place or a stage with a wrong value does not hide the mistakes of the other stages.
import { suggestion } from '../core/errors.js';
import { DiagnosticList, type Diagnostic } from '../core/diagnostic.js';
import { issuesToDiagnostics, type IssueView, type SchemaIssue } from '../core/schema-issues.js';
import { EXPECTED, RESOURCE_KEYS, schemas, STAGE_KEYS, TOP_KEYS, type RawPipeline } from './schema.js';
import type { KeyPath, Source } from './positions.js';

/** The checked file, and the names of every stage it declares (a stage with a bad shape is left out of `raw`). */
export interface Shaped {
  raw: RawPipeline;
  names: string[];
  /** Stages whose `matrix:` has a wrong shape: left out of `raw`, reported by config/matrix-shape.ts. */
  badMatrix: string[];
}

/** An issue under a stage's `matrix:` (worded by config/matrix-shape.ts, not here). */
function inMatrix(issue: SchemaIssue): boolean {
  return issue.path[0] === 'stages' && issue.path[2] === 'matrix';
}

/**
 * Checks the shapes; reports every issue. Returns what the meaning checks can work on: the whole file when it is
 * well-formed, else the stages and settings without issues (unknown keys of a stage are dropped, the stage kept),
 * or nothing when `stages:` itself is unusable.
 */
export function checkShapes(src: Source, data: Record<string, unknown>, out: DiagnosticList): Shaped | undefined {
  const { pipelineSchema } = schemas();
  const parsed = pipelineSchema.safeParse(data);
  const allNames = (d: Record<string, unknown>) =>
    d.stages !== null && typeof d.stages === 'object' && !Array.isArray(d.stages) ? Object.keys(d.stages) : [];
  if (parsed.success) return { raw: parsed.data, names: Object.keys(parsed.data.stages), badMatrix: [] };
  const issues = parsed.error.issues as readonly SchemaIssue[];
  for (const d of shapeDiagnostics(src, data, issues.filter((i) => !inMatrix(i)))) out.add(d);
  const badMatrix = [...new Set(issues.filter(inMatrix).map((i) => String(i.path[1])))];

  // What is left once every part with an issue is set aside.
  const clean: Record<string, unknown> = { ...data };
  const stages: Record<string, unknown> = { ...(clean.stages as Record<string, unknown>) };
  const commands: Record<string, unknown> = { ...((clean.commands as Record<string, unknown> | null | undefined) ?? {}) };
  for (const issue of issues) {
    const p = issue.path.map(String);
    if (p.length === 0) {
      if (issue.code !== 'unrecognized_keys') return undefined;
      for (const k of issue.keys ?? []) delete clean[k];
    } else if (p[0] === 'stages') {
      if (p.length === 1) return undefined;
      const own = issue.code === 'unrecognized_keys' && p.length === 2 && stages[p[1]] !== null && typeof stages[p[1]] === 'object';
      if (own) {
        const kept = { ...(stages[p[1]] as Record<string, unknown>) };
        for (const k of issue.keys ?? []) delete kept[k];
        stages[p[1]] = kept;
      } else {
        delete stages[p[1]];
      }
    } else if (p[0] === 'version') {
      clean.version = 1;
    } else if (p[0] === 'commands' && p.length >= 2) {
      delete commands[p[1]];
    } else {
      delete clean[p[0]];
    }
  }
  clean.stages = stages;
  if (clean.commands !== undefined) clean.commands = commands;
  const again = pipelineSchema.safeParse(clean);
  return again.success ? { raw: again.data, names: allNames(data), badMatrix } : undefined;
}

function shapeDiagnostics(src: Source, data: unknown, issues: readonly SchemaIssue[]): Diagnostic[] {
  return issuesToDiagnostics(issues, {
    locate: (p, part) => (part === 'key' ? src.keyRange(p) : src.valueRange(p)),
    valueAt: (p) => valueAt(data, p),
    explain: (view) => explain(view, data),
  });
}

/** The wording of each issue for pipeline.yaml: what is wrong, where (the stage) and how to fix it. */
function explain(view: IssueView, data: unknown): { message: string; hint?: string } {
  const p = view.issue.path.map<string | number>((x) => (typeof x === 'number' ? x : String(x)));
  const inStage = p[0] === 'stages' && p.length >= 2;
  const stagePrefix = inStage ? `stage \`${p[1]}\`: ` : '';

  if (view.code === 'unknown-key') {
    const key = view.key!;
    const allowed = p.length === 0 ? TOP_KEYS : p[0] === 'stages' && p.length === 2 ? STAGE_KEYS : [];
    if (p.length === 0) {
      const hint = STAGE_KEYS.includes(key)
        ? `\`${key}\` is a stage setting: put it under \`stages:\` → the stage's name`
        : `top-level keys are: ${TOP_KEYS.join(', ')}`;
      const guess = STAGE_KEYS.includes(key) ? '' : suggestion(key, allowed);
      return { message: `unknown top-level key \`${key}\`${guess}`, hint };
    }
    if (inStage && p.length === 3 && p[2] === 'resources')
      return {
        message: `${stagePrefix}unknown key \`${key}\` in \`resources\`${suggestion(key, RESOURCE_KEYS)}`,
        hint: `resources keys are: ${RESOURCE_KEYS.join(', ')}; pass any other sbatch option in \`sbatch: [--option=value]\``,
      };
    if (p[0] === 'slurm') return { message: `slurm: unknown key \`${key}\`${suggestion(key, ['mode'])}`, hint: 'slurm keys are: mode (`jobs` or `steps`)' };
    if (p[0] === 'remote') return { message: `remote: unknown key \`${key}\`${suggestion(key, ['url', 'pull', 'push'])}`, hint: 'remote keys are: url, pull, push' };
    return {
      message: `${stagePrefix}unknown key \`${key}\`${suggestion(key, allowed)}`,
      hint: allowed.length ? `stage keys are: ${allowed.join(', ')}` : undefined,
    };
  }

  if (view.code === 'invalid-name') {
    const key = view.key!;
    const parent = p.slice(0, -1);
    if (parent.length === 1 && parent[0] === 'stages')
      return {
        message: `stage name \`${key}\` is not allowed`,
        hint: 'use letters, digits, `_`, `.` and `-`, starting with a letter or digit (no `/`, no `..`, no spaces)',
      };
    if (parent.length === 1 && parent[0] === 'commands')
      return { message: `command name \`${key}\` is not allowed`, hint: 'use letters, digits, `_`, `.` and `-`, starting with a letter or digit' };
    return { message: `${stagePrefix}\`${key}\` is not a valid environment variable name`, hint: 'use letters, digits and `_`, not starting with a digit' };
  }

  const deep = view.path;
  const got = valueAt(data, deep);
  if (p.length === 0) return { message: `the top level must be a mapping; got ${describe(data)}` };
  if (p.length === 1 && got === undefined && (p[0] === 'version' || p[0] === 'stages')) {
    return p[0] === 'version'
      ? { message: 'missing `version: 1`', hint: 'add `version: 1` as the first line (the only version of this format so far)' }
      : { message: 'missing `stages:`', hint: 'add a `stages:` mapping of stage names to stages' };
  }
  if (p.length === 1 && p[0] === 'version')
    return { message: `\`version\` must be 1; got ${describe(got)}`, hint: 'this pipeline understands `version: 1` only' };
  if (p[0] === 'remote' && deep.length === 2) {
    const what = deep[1] === 'url' ? 'a non-empty string' : 'true or false';
    return { message: `remote: \`remote.${String(deep[1])}\` must be ${what}; got ${describe(got)}`, hint: TOP_HINTS.remote };
  }
  if (p.length === 1) return { message: `\`${p[0]}\` must be ${EXPECTED[p[0]]}; got ${describe(got)}`, hint: TOP_HINTS[p[0]] };
  if (p[0] === 'commands')
    return { message: `command \`${p[1]}\` must be ${EXPECTED.module}; got ${describe(got)}`, hint: TOP_HINTS.commands };
  if (inStage && p.length === 2)
    return { message: `stage \`${p[1]}\` must be ${EXPECTED.stage}; got ${describe(got)}`, hint: 'e.g. `hello: {cmd: echo hi}`' };
  if (inStage) {
    const field = String(p[2]);
    const entry = deep.length > 3 ? deep.slice(3) : [];
    let detail = `\`${field}\` must be ${EXPECTED[field] ?? 'something else'}; got ${describe(got)}`;
    if (field === 'resources' && entry.length >= 1) {
      const sub = String(entry[0]);
      detail = `\`resources.${sub}\` must be ${EXPECTED[sub] ?? 'something else'}; got ${describe(got)}`;
      return { message: stagePrefix + detail, hint: resourceHint(sub) };
    }
    if (field === 'env' && entry.length >= 1) detail = `\`env.${entry[0]}\` must be a string, number or boolean; got ${describe(got)}`;
    else if (entry.length === 1 && typeof entry[0] === 'number')
      detail = `\`${field}\` must be ${EXPECTED[field]}; entry ${entry[0] + 1} is ${describe(got)}`;
    return { message: stagePrefix + detail, hint: fieldHint(field) };
  }
  if (p[0] === 'remote') {
    const detail = `\`${p.join('.')}\` must be ${p[1] === 'url' ? 'a non-empty string' : 'true or false'}; got ${describe(got)}`;
    return { message: `remote: ${detail}`, hint: 'remote keys are: url, pull, push' };
  }
  return { message: `\`${p.join('.')}\` is invalid: ${view.issue.message}` };
}

const TOP_HINTS: Record<string, string> = {
  params: 'e.g. `params: {seed: 42}`',
  stages: 'e.g. `stages: {hello: {cmd: echo hi}}`: each stage is a key under `stages:`, not a list item',
  commands: 'e.g. `commands: {report: tools/report.ts}`',
  ci: 'e.g. `ci: {node: 20}`',
  remote: 'e.g. `remote: s3://team-cache/housing` or `remote: {url: s3://team-cache/housing, pull: true, push: true}`',
};

function resourceHint(key: string): string | undefined {
  const examples: Record<string, string> = { cpus: 'cpus: 4', memory: 'memory: 8G', time: 'time: 2h', partition: 'partition: gpu', sbatch: 'sbatch: [--qos=low]' };
  if (key === 'memory') return 'e.g. `resources: {memory: 8G}`, or one value per attempt of a stage with `retries`: `resources: {memory: [2G, 4G, 8G]}`';
  return examples[key] && `e.g. \`resources: {${examples[key]}}\``;
}

export function fieldHint(field: string): string | undefined {
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
    case 'retries':
      return 'e.g. `retries: 2` (three attempts at most)';
    case 'retryOn':
      return 'e.g. `retryOn: [75, 137]` (exit codes; the stage is retried only when it exits with one of them)';
    case 'env':
      return 'e.g. `env: {OMP_NUM_THREADS: 1}`';
    case 'passEnv':
      return 'e.g. `passEnv: [HF_TOKEN]` (names only: the values come from the environment)';
    case 'resources':
      return 'e.g. `resources: {cpus: 4, memory: 8G, time: 2h, partition: batch, sbatch: [--qos=low]}`';
    case 'cache':
    case 'gate':
    case 'shell':
      return `write \`${field}: true\` or \`${field}: false\``;
    default:
      return undefined;
  }
}

export function describe(value: unknown): string {
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
    if (!Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string, unknown>)[seg as string];
  }
  return v;
}
