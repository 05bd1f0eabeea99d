// Typed, scoped params. A `module:` stage may export `params`, a zod object schema of the params it reads; a
// `cmd:` stage lists the global params it reads in `uses:` (config/stage.ts). Before anything runs, every
// declared value — from pipeline.yaml or from `--set` — is checked against its stage's schema, and each stage is
// given exactly the params it reads, so its fingerprint covers only those. A stage that declares nothing keeps
// every param.
//
// Reading a schema means importing the module, so it is done in a child process (params-probe.ts) that prints the
// schema's JSON Schema and checks the values with the schema itself (JSON Schema cannot carry a `.refine()`). The
// answers are kept in .pipeline/state/params.json: the schema keyed by the hash of the module's code closure
// (plan/code.ts), each check keyed by that hash and the values, so an unchanged run starts no probe, and one with
// new values starts one probe for all of them.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/atomic.js';
import { diagnostic, type Diagnostic } from '../core/diagnostic.js';
import { ConfigError, UsageError } from '../core/errors.js';
import type { Params, PipelineConfig, StageConfig } from '../config/types.js';
import { canonicalJson, hashBytes } from '../store/hash.js';
import { openEngine, type Engine } from './engine.js';
import { installedFolder } from './packages.js';
import type { CheckAnswer, ProbeAnswer, ProbeReply, ProbeRequest } from './params-probe.js';
import { labelOf, narrowParams, paramProblems, valuesDigest } from './params-values.js';

interface SchemaState {
  version: 2;
  /** code-closure hash → the module's params schema (null: it exports none) or why it could not be read. */
  byCode: Record<string, ProbeAnswer>;
  /** (code hash, values) digest → what the schema's check said of them, oldest first. */
  checks: [string, CheckAnswer][];
}

const MAX_CHECKS = 500;

/** The answers of modules that could be read (see save). */
const readable = (byCode: Record<string, ProbeAnswer>): Record<string, ProbeAnswer> => Object.fromEntries(Object.entries(byCode).filter(([, a]) => !('error' in a)));
const here = path.dirname(fileURLToPath(import.meta.url));

/** A bundle to ask the probe about: its schema (kept under codeHash) and value sets to check. */
interface ProbeAsk extends ProbeRequest {
  codeHash: string;
}

export class ParamSchemas {
  private byCode: Record<string, ProbeAnswer> = {};
  private checks = new Map<string, CheckAnswer>();
  /** The checks this run asked for or learnt. */
  private readonly used = new Set<string>();
  private dirty = false;
  constructor(private readonly stateDir: string) {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as SchemaState;
      if (data.version === 2) {
        this.byCode = readable(data.byCode);
        this.checks = new Map(data.checks);
      }
    } catch {
      // read again on demand
    }
  }

  private get file(): string {
    return path.join(this.stateDir, 'params.json');
  }

  get(codeHash: string): ProbeAnswer | undefined {
    return this.byCode[codeHash];
  }

  /** What the schema's check said of these values (valuesDigest), if they were checked by this code. */
  checkOf(digest: string): CheckAnswer | undefined {
    const check = this.checks.get(digest);
    if (check) this.used.add(digest);
    return check;
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

  /**
   * Reads the schemas of these bundles and checks their value sets in one child process; keeps each schema under
   * its code hash and each check under its digest (a check that threw is not saved: it is asked again next time).
   */
  async probe(asks: ProbeAsk[]): Promise<void> {
    if (asks.length === 0) return this.discardEarly();
    const early = this.early;
    this.early = undefined;
    const { child } = await (early ?? startProbe());
    child.stdin.end(JSON.stringify(asks.map((a): ProbeRequest => ({ bundle: a.bundle, values: a.values }))));
    const result = await child;
    const failed = (why: string) => new UsageError(`cannot read the params schemas of the stage modules: ${why}`);
    if (result.exitCode !== 0) throw failed(result.stderr.trim().split('\n').at(-1) ?? '');
    let replies: Record<string, ProbeReply>;
    try {
      replies = JSON.parse(result.stdout) as Record<string, ProbeReply>;
    } catch {
      throw failed('a module printed to stdout while it was imported; print from its default function only');
    }
    for (const a of asks) {
      const reply = replies[a.bundle];
      const answer = reply?.answer ?? { error: 'the module gave no answer' };
      this.byCode[a.codeHash] = answer;
      if (!('schema' in answer) || answer.schema === null) continue;
      a.values.forEach((values, i) => {
        const check = reply?.checks[i];
        if (check) this.remember(valuesDigest(a.codeHash, narrowParams(answer.schema!, values)), check);
      });
    }
    this.dirty = true;
  }

  private remember(digest: string, check: CheckAnswer): void {
    this.checks.set(digest, check);
    this.used.add(digest);
  }

  /**
   * Writes the state when something was learnt: the checks this run used, newest last, after the most recent others
   * up to MAX_CHECKS in all (never fewer than this run used, so a matrix of many expansions never evicts its own).
   */
  save(): void {
    if (!this.dirty) return;
    const all = [...this.checks].filter(([, c]) => !('threw' in c));
    const kept = [...all.filter(([d]) => !this.used.has(d)), ...all.filter(([d]) => this.used.has(d))].slice(-Math.max(MAX_CHECKS, this.used.size));
    // A module that could not be read is not remembered: the cause may lie outside its code closure (a package not
    // installed yet, a file it imports at run time), so the next run asks again instead of repeating a stale error.
    const state: SchemaState = { version: 2, byCode: readable(this.byCode), checks: kept };
    writeFileAtomic(this.file, JSON.stringify(state));
    this.dirty = false;
  }
}

/** The probe process (params-probe.ts), reading the bundles to probe from its stdin. */
function startProbe() {
  const js = path.join(here, 'params-probe.js');
  const args = existsSync(js) ? [js] : ['--import', 'tsx', path.join(here, 'params-probe.ts')];
  // execa's one-file bundle in the CLI's (shared with launch.ts), loaded only when the probe starts.
  const { execa } = createRequire(import.meta.url)('execa') as typeof import('execa');
  // Wrapped: the process itself is a promise of its end.
  return Promise.resolve({ child: execa(process.execPath, args, { stdin: 'pipe', reject: false }) });
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

/** A module's code closure and its hash. */
interface Code {
  codeHash: string;
  code: Record<string, string>;
}
type Hashes = Map<string, Code>;

/** Each module stage's code closure and its hash (a stage whose closure cannot be read is reported when planned). */
async function codeHashes(engine: Engine, modules: StageConfig[]): Promise<Hashes> {
  const hashes: Hashes = new Map();
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
  return hashes;
}

/**
 * What to ask the probe: every module whose schema is unknown (with its stages' params, narrowed by the probe), and
 * every value set not checked yet by a known schema. Expansions of a template with the same values are asked once.
 */
async function probeAsks(engine: Engine, schemas: ParamSchemas, modules: StageConfig[], hashes: Hashes): Promise<ProbeAsk[]> {
  const asks = new Map<string, ProbeAsk & { seen: Set<string> }>();
  for (const s of modules) {
    const h = hashes.get(s.name);
    if (!h) continue;
    const answer = schemas.get(h.codeHash);
    if (answer && !('schema' in answer && answer.schema !== null)) continue; // nothing to check values against
    const values = answer ? narrowParams(answer.schema!, s.params) : s.params;
    const digest = valuesDigest(h.codeHash, values);
    if (answer && schemas.checkOf(digest)) continue;
    let ask = asks.get(h.codeHash);
    if (!ask) asks.set(h.codeHash, (ask = { codeHash: h.codeHash, bundle: await engine.code.bundlePath(s.module!, h.code), values: [], seen: new Set() }));
    if (ask.seen.has(digest)) continue;
    ask.seen.add(digest);
    ask.values.push(values);
  }
  return [...asks.values()].map(({ seen: _seen, ...ask }) => ask);
}

/** The stage's problems with its module's params answer, and the stage given only the params its schema reads. */
function scopeStage(config: PipelineConfig, engine: Engine, schemas: ParamSchemas, s: StageConfig, h: Code): { stage: StageConfig; problems: Diagnostic[] } {
  const answer = schemas.get(h.codeHash);
  if (!answer) return { stage: s, problems: [] };
  if ('zod3' in answer) return { stage: s, problems: [zod3Problem(config, s, engine.code.packagesOf(s.module!).zod, h.code['package:zod'])] };
  if ('error' in answer)
    return {
      stage: s,
      problems: [diagnostic('params-schema', config.rangeOf?.(['stages', s.name, 'module']) ?? s.pos, `stage \`${labelOf(s)}\`: cannot read the params of ${s.module}: ${answer.error}`, answer.error.startsWith('importing it failed') ? 'the module must import without error: install what it imports (`npm install`) and fix what the message names; it is read again on the next run' : 'export `const params = z.object({ ... })` (zod) from the module, or export no `params`')],
    };
  if (answer.schema === null) return { stage: s, problems: [] };
  const params: Params = narrowParams(answer.schema, s.params);
  const problems = paramProblems(config, s, answer.schema, params, schemas.checkOf(valuesDigest(h.codeHash, params)));
  return { stage: { ...s, params }, problems };
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
  let hashes: Hashes;
  // All closures at once: on a cold start one esbuild call builds every module, while the probe process starts.
  if (modules.some((s) => !engine.code.isRecorded(s.module!))) schemas.prestart();
  try {
    hashes = await codeHashes(engine, modules);
    await schemas.probe(await probeAsks(engine, schemas, modules, hashes));
  } finally {
    schemas.discardEarly();
  }

  const problems: Diagnostic[] = [];
  const stages = config.stages.map((s) => {
    const h = hashes.get(s.name);
    if (!h) return s;
    const scoped = scopeStage(config, engine, schemas, s, h);
    problems.push(...scoped.problems);
    return scoped.stage;
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
