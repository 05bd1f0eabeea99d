// Typed, scoped params. A `module:` stage may export `params`, a zod object schema of the params it reads; a
// `cmd:` stage lists the global params it reads in `uses:` (config/stage.ts). Before anything runs, every
// declared value — from pipeline.yaml or from `--set` — is checked against its stage's schema, and each stage is
// given exactly the params it reads, so its fingerprint covers only those. A stage that declares nothing keeps
// every param.
//
// Reading a schema means importing the module, so it is done once per code hash, in a child process
// (params-probe.ts) that prints the schema's JSON Schema; the answers are kept in .pipeline/state/params.json
// keyed by the hash of the module's code closure (plan/code.ts). Values are checked by zod's `fromJSONSchema`
// (params-check.ts, loaded on first use), and the (schema, values) pairs that passed are remembered too, so an
// unchanged run loads neither zod nor a module.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/atomic.js';
import { diagnostic, type Diagnostic } from '../core/diagnostic.js';
import { ConfigError, UsageError } from '../core/errors.js';
import type { Params, PipelineConfig, StageConfig } from '../config/types.js';
import { canonicalJson, hashBytes } from '../store/hash.js';
import { openEngine } from './engine.js';
import { installedFolder } from './packages.js';
import type * as ParamsCheck from './params-check.js';
import type { ProbeAnswer } from './params-probe.js';

type JsonSchema = Record<string, unknown>;

interface SchemaState {
  version: 1;
  /** code-closure hash → the module's params schema (null: it exports none) or why it could not be read. */
  byCode: Record<string, ProbeAnswer>;
  /** Digests of (schema, values) pairs that passed, newest last. */
  valid: string[];
}

const MAX_VALID = 500;
const here = path.dirname(fileURLToPath(import.meta.url));

export class ParamSchemas {
  private state: SchemaState = { version: 1, byCode: {}, valid: [] };
  private dirty = false;
  constructor(private readonly stateDir: string) {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as SchemaState;
      if (data.version === 1) this.state = data;
    } catch {
      // read again on demand
    }
  }

  private get file(): string {
    return path.join(this.stateDir, 'params.json');
  }

  get(codeHash: string): ProbeAnswer | undefined {
    return this.state.byCode[codeHash];
  }

  /** A probe process started ahead of need (it waits for the bundles on its stdin). */
  private early?: ReturnType<typeof startProbe>;

  /**
   * Start the probe process now, while the modules are still being bundled, so that Node's start overlaps the
   * bundling: when the answers are likely needed (a module never bundled here, so its schema is unknown too).
   */
  prestart(): void {
    this.early ??= startProbe();
  }

  /** A probe started ahead of need and not needed: it is told there is nothing to read, and exits. */
  discardEarly(): void {
    void this.early?.then(({ child }) => child.stdin.end('[]'));
    this.early = undefined;
  }

  /** Reads the schemas of these bundles in one child process and keeps them under their code hashes. */
  async probe(wanted: { codeHash: string; bundle: string }[]): Promise<void> {
    if (wanted.length === 0) return this.discardEarly();
    const early = this.early;
    this.early = undefined;
    const { child } = await (early ?? startProbe());
    child.stdin.end(JSON.stringify(wanted.map((w) => w.bundle)));
    const result = await child;
    if (result.exitCode !== 0) throw new UsageError(`cannot read the params schemas of the stage modules: ${result.stderr.trim().split('\n').at(-1) ?? ''}`);
    const answers = JSON.parse(result.stdout) as Record<string, ProbeAnswer>;
    for (const w of wanted) {
      this.state.byCode[w.codeHash] = answers[w.bundle] ?? { error: 'the module gave no answer' };
    }
    this.dirty = true;
  }

  isKnownValid(digest: string): boolean {
    return this.state.valid.includes(digest);
  }

  markValid(digest: string): void {
    this.state.valid = [...this.state.valid.filter((d) => d !== digest), digest].slice(-MAX_VALID);
    this.dirty = true;
  }

  save(): void {
    if (this.dirty) writeFileAtomic(this.file, JSON.stringify(this.state));
    this.dirty = false;
  }
}

/** The probe process (params-probe.ts), reading the bundles to probe from its stdin. */
async function startProbe() {
  const js = path.join(here, 'params-probe.js');
  const args = existsSync(js) ? [js] : ['--import', 'tsx', path.join(here, 'params-probe.ts')];
  const { execa } = await import('execa');
  // Wrapped: the process itself is a promise of its end.
  return { child: execa(process.execPath, args, { stdin: 'pipe', reject: false }) };
}

/** The stage as messages name it: an expansion of a template by its template (the same problem in each is kept once). */
function labelOf(stage: StageConfig): string {
  return stage.template?.name ?? stage.name;
}

/** Where a stage's param value came from: the `--set` argument, the stage's `params:`, or the global `params:`. */
function placeOf(config: PipelineConfig, stage: StageConfig, key: string): Parameters<typeof diagnostic>[1] {
  const raw = stage.setBy?.[key];
  if (raw !== undefined) {
    const file = `--set ${raw}`;
    const col = file.indexOf('=') + 2;
    return { file, line: 1, col, endLine: 1, endCol: file.length + 1 };
  }
  const keyPath = stage.ownParams.includes(key) ? ['stages', stage.name, 'params', key] : ['params', key];
  return config.rangeOf?.(keyPath) ?? config.positionOf(keyPath);
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

/** The stage's params narrowed to its schema, and every problem with its values. */
function checkStage(config: PipelineConfig, stage: StageConfig, schema: JsonSchema, schemas: ParamSchemas): { params: Params; problems: Diagnostic[] } {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const keys = Object.keys(props);
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
  const params: Params = {};
  for (const k of keys) if (Object.hasOwn(stage.params, k)) params[k] = stage.params[k];
  const digest = hashBytes(canonicalJson({ schema, params }));
  if (problems.length > 0 || schemas.isKnownValid(digest)) return { params, problems };
  const { checkValues } = createRequire(import.meta.url)('./params-check.js') as typeof ParamsCheck;
  const result = checkValues(schema, params);
  if (result.success) {
    schemas.markValid(digest);
    return { params, problems };
  }
  const reported = new Set<string>();
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? '');
    if (reported.has(key)) continue;
    reported.add(key);
    const expected = props[key] ? describeSchema(props[key]) : undefined;
    if (!Object.hasOwn(params, key)) {
      problems.push(
        diagnostic('param-missing', config.rangeOf?.(['stages', stage.name], 'key') ?? stage.pos, `stage \`${labelOf(stage)}\`: param \`${key}\` is required by ${module}${expected ? ` (${expected})` : ''}`, `add \`${key}:\` under its \`params:\` or the global \`params:\``),
      );
      continue;
    }
    const where = stage.setBy?.[key] !== undefined ? `--set ${stage.setBy[key]}` : 'pipeline.yaml';
    problems.push(
      diagnostic(
        'param-type',
        placeOf(config, stage, key),
        `stage \`${labelOf(stage)}\`: param \`${key}\` is ${JSON.stringify(params[key])}; expected ${expected ?? issue.message}`,
        `set a value of that type (${where}); the type is the \`params\` schema of ${module}`,
      ),
    );
  }
  return { params, problems };
}

/**
 * A `params` export made by zod 3 (whose schemas zod 4 cannot read): which zod the module's code was bundled with
 * (`folder`, workspace-relative, or '' when resolved from the workspace; `version` as the code's toolchain records
 * it), and the fix. The version is named only when it is a 3.x: a zod 3 schema can also come from a copy of zod
 * nested inside another package.
 */
function zod3Problem(config: PipelineConfig, stage: StageConfig, folder: string | undefined, version: string | undefined): Diagnostic {
  const installed = folder === '' ? installedFolder(config.root, 'zod') : folder === undefined ? undefined : path.join(config.root, folder);
  const from = installed === undefined ? '' : ` from ${path.relative(config.root, installed) || '.'}`;
  const made = version?.startsWith('3.') ? ` (zod ${version}${from})` : '';
  return diagnostic(
    'params-schema',
    config.rangeOf?.(['stages', stage.name, 'module']) ?? stage.pos,
    `stage \`${stage.name}\`: the \`params\` export of ${stage.module} is a zod 3.x schema${made}; pipeline-dag needs zod 4.x`,
    "`npm install zod@^4` (zod 3.25 also carries zod 4: `import { z } from 'zod/v4'`), then export `const params = z.object({ ... })`",
  );
}

/**
 * The config with every stage given exactly the params it reads, after checking each value against the stage's
 * schema; throws one ConfigError with every problem (exit 2) before anything ran. `readOnly` keeps the state files
 * as they are (dry runs).
 */
export async function scopeParams(config: PipelineConfig, options: { readOnly?: boolean } = {}): Promise<PipelineConfig> {
  const modules = config.stages.filter((s) => s.kind === 'module' && s.module !== undefined);
  if (modules.length === 0) return config;
  const engine = openEngine(config);
  const schemas = new ParamSchemas(path.join(engine.stateDir, 'state'));
  const hashes = new Map<string, { codeHash: string; code: Record<string, string> }>();
  // All closures at once: on a cold start one esbuild call builds every module, while the probe process starts.
  if (modules.some((s) => !engine.code.isRecorded(s.module!))) schemas.prestart();
  try {
    await engine.code.readAll(modules.map((s) => s.module!));
    const codes = await Promise.all(
      modules.map((s) =>
        engine.code.closure(s.module!).catch((err: unknown) => {
          if (err instanceof UsageError) return undefined; // reported when the stage is planned
          throw err;
        }),
      ),
    );
    modules.forEach((s, i) => {
      const code = codes[i];
      if (code) hashes.set(s.name, { codeHash: hashBytes(canonicalJson(code)), code });
    });
    const unknown = new Map<string, { codeHash: string; bundle: string }>();
    for (const s of modules) {
      const h = hashes.get(s.name);
      if (h && !schemas.get(h.codeHash) && !unknown.has(h.codeHash)) unknown.set(h.codeHash, { codeHash: h.codeHash, bundle: await engine.code.bundlePath(s.module!, h.code) });
    }
    await schemas.probe([...unknown.values()]);
  } finally {
    schemas.discardEarly();
  }

  const problems: Diagnostic[] = [];
  const stages = config.stages.map((s) => {
    const h = hashes.get(s.name);
    const answer = h && schemas.get(h.codeHash);
    if (!answer) return s;
    if ('zod3' in answer) {
      problems.push(zod3Problem(config, s, engine.code.packagesOf(s.module!).zod, h.code['package:zod']));
      return s;
    }
    if ('error' in answer) {
      problems.push(diagnostic('params-schema', config.rangeOf?.(['stages', s.name, 'module']) ?? s.pos, `stage \`${labelOf(s)}\`: cannot read the params of ${s.module}: ${answer.error}`, 'export `const params = z.object({ ... })` (zod) from the module, or export no `params`'));
      return s;
    }
    if (answer.schema === null) return s;
    const checked = checkStage(config, s, answer.schema, schemas);
    problems.push(...checked.problems);
    return { ...s, params: checked.params };
  });
  if (!options.readOnly) {
    schemas.save();
    engine.code.save();
    engine.stats.save();
  }
  if (problems.length > 0) throw ConfigError.of([...new Map(problems.map((d) => [JSON.stringify(d), d])).values()]);
  const next = { ...config, stages } as PipelineConfig;
  const rangeOf = config.rangeOf?.bind(config);
  Object.defineProperty(next, 'positionOf', { value: (p: (string | number)[]) => config.positionOf(p), enumerable: false });
  if (rangeOf) Object.defineProperty(next, 'rangeOf', { value: (p: (string | number)[], part?: 'key' | 'value') => rangeOf(p, part), enumerable: false });
  return next;
}
