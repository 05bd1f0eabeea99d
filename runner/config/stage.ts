// One stage on its own: `cmd` or `module`, paths normalized (forward slashes, no `./`, no trailing `/`, inner `..`
// resolved) and kept inside the workspace, needs that name stages, env, params, timeout. Every mistake is
// reported; the stage is still built from what is valid, so the checks across stages can run too.
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { suggestion } from '../core/errors.js';
import { diagnostic, type DiagnosticCode, type DiagnosticList, type Range } from '../core/diagnostic.js';
import { CommandSyntaxError, splitCommand } from './command-line.js';
import { CONFIG_NAMES } from './find.js';
import type { KeyPath, Source } from './positions.js';
import type { RawStage } from './schema.js';
import { fieldHint } from './shapes.js';
import type { Params, StageConfig, StageResources } from './types.js';
import { isExternalDep, isGlobPattern, isUrlDep } from '../core/paths.js';

/** Workspace paths that belong to the runner (or to git) and can never be a stage's out. */
const RESERVED_OUTS = ['.pipeline', '.git', 'pipeline.lock', ...CONFIG_NAMES];
/** Variables the runner sets for `cmd:` stages; a stage cannot declare them. */
const RESERVED_ENV = ['PIPELINE_PARAMS', 'PIPELINE_STAGE'];


/** What a check needs: the file (for positions), the workspace root, and where diagnostics go. */
export interface CheckContext {
  src: Source;
  root: string;
  out: DiagnosticList;
}

export function report(ctx: CheckContext, code: DiagnosticCode, at: Range, message: string, hint?: string): void {
  ctx.out.add(diagnostic(code, at, message, hint));
}

export function list(v: string | string[] | null | undefined): string[] {
  return v === undefined || v === null ? [] : typeof v === 'string' ? [v] : v;
}

/** Key path of entry `i` of a field that may be written as a single string or as a list. */
export function entryPath(stage: string, field: string, value: string | string[] | null | undefined, i: number): KeyPath {
  return typeof value === 'string' ? ['stages', stage, field] : ['stages', stage, field, i];
}

export function isInside(child: string, parent: string): boolean {
  return child.startsWith(parent + '/');
}

/**
 * Normalizes a workspace-relative path (forward slashes, no `./`, no trailing `/`), or reports why it cannot be
 * one (naming `what`, e.g. "stage `fit`: out") and returns undefined. `at` is the place to report (a function: found
 * only when there is something to report).
 */
export function normalizePath(ctx: CheckContext, raw: string, what: string, at: Range | (() => Range), opts: { glob: boolean }): string | undefined {
  const fail = (code: DiagnosticCode, detail: string, hint?: string): undefined => {
    report(ctx, code, typeof at === 'function' ? at() : at, `${what} \`${raw.replace(/\0/g, '\\0')}\` ${detail}`, hint);
    return undefined;
  };
  if (raw.includes('\0')) return fail('bad-path', 'contains a NUL character', 'remove the `\\0` from the path');
  if (raw.trim() === '') return fail('bad-path', 'is empty', 'name a file or folder inside the workspace');
  const slashed = raw.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed))
    return fail('bad-path', 'is an absolute path', 'write paths relative to the folder of pipeline.yaml (the workspace)');
  if (slashed.startsWith('~')) return fail('bad-path', 'starts with `~`, which is not expanded', 'write paths relative to the workspace');
  const norm = path.posix.normalize(slashed).replace(/\/+$/, '');
  if (norm === '..' || norm.startsWith('../'))
    return fail('path-escapes', 'points outside the workspace (`..`)', 'inputs and outputs must live inside the folder of pipeline.yaml');
  if (norm === '.' || norm === '') return fail('bad-path', 'is the workspace itself', 'name a file or folder inside the workspace');
  if (!opts.glob && isGlobPattern(norm)) return fail('glob-not-allowed', 'is a glob pattern', 'only `deps` may use patterns; name the exact path');
  return norm;
}

/**
 * A dep: a workspace path or glob (normalizePath), a file or folder outside the workspace (absolute or `../`,
 * normalized, no glob), an `http(s)://` URL, or a text with `${param}` references, resolved once params are known
 * (config/interpolate.ts).
 */
export function normalizeDep(ctx: CheckContext, raw: string, what: string, at: () => Range): string | undefined {
  if (raw.includes('${') || isUrlDep(raw)) return raw;
  const slashed = raw.replace(/\\/g, '/');
  if (!raw.includes('\0') && isExternalDep(path.posix.normalize(slashed))) {
    const norm = path.posix.normalize(slashed).replace(/\/+$/, '');
    if (isGlobPattern(norm)) {
      report(ctx, 'glob-not-allowed', at(), `${what} \`${raw}\` is a glob pattern outside the workspace`, 'name the file or folder itself; patterns work inside the workspace only');
      return undefined;
    }
    return norm;
  }
  return normalizePath(ctx, raw, what, at, { glob: true });
}

/** The workspace root with symlinks followed, found once per check (every module file is compared with it). */
const realRoots = new WeakMap<object, string>();

/** A module file must exist, be a file, and stay inside the workspace after following symlinks. */
export function checkFile(ctx: Pick<CheckContext, 'root' | 'out'>, rel: string, what: string, at: () => Range): boolean {
  const { root } = ctx;
  const abs = path.join(root, rel);
  const fail = (code: DiagnosticCode, message: string, hint: string) => {
    ctx.out.add(diagnostic(code, at(), message, hint));
    return false;
  };
  let st;
  try {
    st = statSync(abs);
  } catch {
    return fail('missing-module', `${what} \`${rel}\` not found (looked for ${abs})`, 'check the path: it is relative to the folder of pipeline.yaml');
  }
  if (!st.isFile()) return fail('module-not-file', `${what} \`${rel}\` is not a file`, 'name the module file itself');
  const real = realpathSync(abs);
  let realRoot = realRoots.get(ctx);
  if (realRoot === undefined) realRoots.set(ctx, (realRoot = realpathSync(root)));
  if (!isInside(real, realRoot)) return fail('module-escapes', `${what} \`${rel}\` resolves to ${real}, outside the workspace`, 'keep modules inside the workspace');
  return true;
}

/** `30` (seconds), `"30s"`, `"10m"`, `"1h"`, `"500ms"` → milliseconds. */
/** The files `pipeline metrics` reads (report/metrics.ts parses them by extension). */
export const METRICS_EXTENSIONS = ['.json', '.yaml', '.yml'];

export function durationMs(value: number | string): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** A built stage with, for each kept dep and out, the index of its entry in the file (for positions). */
export interface BuiltStage {
  stage: StageConfig;
  entry: { deps: number[]; outs: number[] };
}

/** The normalized stage; what is invalid is reported and left out (an unreadable path, an unknown need). */
export function buildStage(ctx: CheckContext, name: string, raw: RawStage, globalParams: Params, names: Set<string>): BuiltStage {
  const { src } = ctx;
  const at = (...p: KeyPath) => src.valueRange(['stages', name, ...p]);
  const keyAt = (...p: KeyPath) => src.keyRange(['stages', name, ...p]);
  const fail = (code: DiagnosticCode, where: Range, detail: string, hint?: string) => report(ctx, code, where, `stage \`${name}\`: ${detail}`, hint);

  // cmd or module
  if (raw.cmd !== undefined && raw.module !== undefined)
    fail('cmd-and-module', keyAt('module'), 'has both `cmd` and `module`', 'keep one: `cmd` runs a command, `module` runs a TypeScript stage');
  if (raw.cmd === undefined && raw.module === undefined)
    fail(
      'no-cmd-or-module',
      src.keyRange(['stages', name]),
      'has neither `cmd` nor `module`',
      'add `cmd: <command line>` to run a command, or `module: <path>.ts` to run a TypeScript stage',
    );
  const shell = raw.shell ?? false;
  let cmd: string[] | undefined;
  let module: string | undefined;
  if (raw.cmd !== undefined) {
    if (shell) {
      if (typeof raw.cmd !== 'string')
        fail('shell-misuse', at('cmd'), 'with `shell: true`, `cmd` must be one string (the shell command line)', 'write `cmd: "a | b"`');
      cmd = [typeof raw.cmd === 'string' ? raw.cmd : raw.cmd.join(' ')];
    } else if (typeof raw.cmd === 'string') {
      try {
        cmd = splitCommand(raw.cmd);
        if (cmd.length === 0) fail('cmd-empty', at('cmd'), '`cmd` is empty', fieldHint('cmd'));
      } catch (err) {
        if (!(err instanceof CommandSyntaxError)) throw err;
        fail('cmd-syntax', src.charRange(['stages', name, 'cmd'], err.index), `cmd: ${err.message}`, err.hint);
        cmd = [raw.cmd];
      }
    } else {
      cmd = [...raw.cmd];
      if (cmd[0] === '') fail('cmd-empty', at('cmd', 0), '`cmd` starts with an empty program name', fieldHint('cmd'));
    }
  } else if (raw.module !== undefined) {
    if (raw.shell !== undefined) fail('shell-misuse', keyAt('shell'), '`shell` applies to `cmd` stages only', 'remove `shell`');
    module = normalizePath(ctx, raw.module, `stage \`${name}\`: module`, () => at('module'), { glob: false });
    if (module !== undefined) checkFile(ctx, module, `stage \`${name}\`: module`, () => at('module'));
  }

  // paths (an invalid one is reported and left out)
  const paths = (field: 'deps' | 'outs' | 'metrics', what: string, glob: boolean) => {
    const value = raw[field];
    const outPaths: { path: string; index: number }[] = [];
    list(value).forEach((p, i) => {
      const where = () => src.valueRange(entryPath(name, field, value, i));
      const norm = field === 'deps' ? normalizeDep(ctx, p, `stage \`${name}\`: ${what}`, where) : normalizePath(ctx, p, `stage \`${name}\`: ${what}`, where, { glob });
      if (norm !== undefined) outPaths.push({ path: norm, index: i });
    });
    return outPaths;
  };
  const deps = paths('deps', 'dep', true);
  const outs = paths('outs', 'out', false).filter(({ path: o, index }) => {
    const top = o.split('/')[0];
    if (!(RESERVED_OUTS.includes(o) || top === '.pipeline' || top === '.git')) return true;
    fail('reserved-out', src.valueRange(entryPath(name, 'outs', raw.outs, index)), `out \`${o}\` is reserved for the runner`, 'write outputs elsewhere, e.g. under build/');
    return false;
  });
  const metrics = paths('metrics', 'metrics file', false);

  // an out that is also read by the same stage
  for (const { path: d, index } of deps) {
    const o = outs.find(({ path: out }) => out === d || isInside(d, out) || isInside(out, d))?.path;
    if (o === undefined) continue;
    const detail = o === d ? `\`${d}\` is both a dep and an out` : isInside(d, o) ? `dep \`${d}\` is inside its out \`${o}\`` : `dep \`${d}\` contains its out \`${o}\``;
    fail(
      'dep-is-out',
      src.valueRange(entryPath(name, 'deps', raw.deps, index)),
      detail,
      'a stage cannot read what it writes (its fingerprint would change every run); split it into two stages',
    );
  }

  // metrics among outs, in a format `pipeline metrics` reads
  for (const { path: m, index } of metrics) {
    if (!METRICS_EXTENSIONS.some((ext) => m.endsWith(ext)))
      fail(
        'metrics-format',
        src.valueRange(entryPath(name, 'metrics', raw.metrics, index)),
        `metrics file \`${m}\` is neither JSON nor YAML`,
        `name a file ending in ${METRICS_EXTENSIONS.join(', ')}: \`pipeline metrics\` reads those formats only`,
      );
    if (!outs.some(({ path: o }) => o === m || isInside(m, o)))
      fail(
        'metrics-not-out',
        src.valueRange(entryPath(name, 'metrics', raw.metrics, index)),
        `metrics file \`${m}\` is not among its outs`,
        `add \`${m}\` to \`outs\` (metrics are JSON files the stage writes)`,
      );
  }

  // needs
  const needs: string[] = [];
  list(raw.needs).forEach((n, i) => {
    const where = () => src.valueRange(entryPath(name, 'needs', raw.needs, i));
    if (n === name) return fail('self-need', where(), `needs itself`, 'remove it from its own `needs`');
    if (!names.has(n))
      return fail(
        'unknown-need',
        where(),
        `needs unknown stage \`${n}\`${suggestion(n, [...names].filter((s) => s !== name))}`,
        names.size <= 20 ? `stages are: ${[...names].join(', ')}` : 'check the spelling against the stage names under `stages:`',
      );
    if (!needs.includes(n)) needs.push(n);
  });

  // env
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.env ?? {})) {
    if (RESERVED_ENV.includes(k)) fail('reserved-env', keyAt('env', k), `\`${k}\` is set by the runner and cannot be declared in \`env\``, 'use params instead');
    else env[k] = String(v);
  }

  // passEnv: names only, never also in `env` (a declared value is hashed and recorded; a passed one is not)
  const passEnv: string[] = [];
  list(raw.passEnv).forEach((k, i) => {
    const at = () => src.valueRange(entryPath(name, 'passEnv', raw.passEnv, i));
    if (RESERVED_ENV.includes(k)) fail('reserved-env', at(), `\`${k}\` is set by the runner and cannot be passed`, 'remove it from `passEnv`');
    else if (Object.hasOwn(raw.env ?? {}, k))
      fail('pass-env-declared', at(), `\`${k}\` is both in \`env\` and in \`passEnv\``, 'keep it in one: `env` values are hashed and recorded, `passEnv` values (secrets) are not');
    else if (passEnv.includes(k)) fail('pass-env-duplicate', at(), `\`${k}\` is listed twice in \`passEnv\``, 'remove the second entry');
    else passEnv.push(k);
  });

  // params: global, overridden by the stage's own
  const own = raw.params ?? {};
  const uses = raw.uses === undefined ? undefined : list(raw.uses);
  uses?.forEach((u, i) => {
    if (!Object.hasOwn(globalParams, u))
      fail(
        'unknown-param',
        at(...(typeof raw.uses === 'string' ? ['uses'] : ['uses', i])),
        `uses unknown global param \`${u}\`${suggestion(u, Object.keys(globalParams))}`,
        Object.keys(globalParams).length ? `global params are: ${Object.keys(globalParams).join(', ')}` : 'declare it under the top-level `params:` first',
      );
  });
  const globalsRead = uses === undefined ? structuredClone(globalParams) : Object.fromEntries(uses.filter((u) => Object.hasOwn(globalParams, u)).map((u) => [u, structuredClone(globalParams[u])]));
  const params: Params = { ...globalsRead, ...own };

  const resources = raw.resources ? buildResources(ctx, name, raw.resources) : undefined;

  const stage: StageConfig = {
    name,
    kind: raw.module !== undefined && raw.cmd === undefined ? 'module' : 'cmd',
    ...(cmd !== undefined ? { cmd } : {}),
    shell,
    ...(module !== undefined ? { module } : {}),
    deps: deps.map((d) => d.path),
    needs,
    params,
    ownParams: Object.keys(own),
    ...(uses !== undefined ? { uses } : {}),
    outs: outs.map((o) => o.path),
    metrics: metrics.map((m) => m.path),
    env,
    ...(passEnv.length > 0 ? { passEnv } : {}),
    ...(raw.timeout !== undefined ? { timeoutMs: durationMs(raw.timeout) } : {}),
    cache: raw.cache ?? true,
    gate: raw.gate ?? false,
    ...(raw.desc !== undefined ? { desc: raw.desc } : {}),
    ...(resources ? { resources } : {}),
    pos: src.keyPos(['stages', name]),
  };
  return { stage, entry: { deps: deps.map((d) => d.index), outs: outs.map((o) => o.index) } };
}

/** sbatch options the runner sets for every job (output, status, working folder, environment, ordering). */
const RUNNER_SBATCH = ['--output', '-o', '--error', '-e', '--open-mode', '--parsable', '--wrap', '--chdir', '-D', '--export', '--wait', '-W', '--dependency', '-d', '--array', '-a'];

/** `resources:` → the flags' values; an extra sbatch option the runner sets itself is reported. */
function buildResources(ctx: CheckContext, name: string, raw: NonNullable<RawStage['resources']>): StageResources {
  (raw.sbatch ?? []).forEach((opt, i) => {
    const flag = opt.split('=')[0];
    const short = /^-[A-Za-z]/.test(opt) && !opt.startsWith('--') ? opt.slice(0, 2) : flag;
    if (!RUNNER_SBATCH.includes(flag) && !RUNNER_SBATCH.includes(short)) return;
    report(
      ctx,
      'sbatch-option',
      ctx.src.valueRange(['stages', name, 'resources', 'sbatch', i]),
      `stage \`${name}\`: sbatch option \`${opt}\` is set by the runner`,
      'the runner chooses each job\'s output, working folder, environment and order; remove it (cpus, memory, time and partition have their own keys)',
    );
  });
  return {
    ...(raw.cpus !== undefined ? { cpus: raw.cpus } : {}),
    ...(raw.memory !== undefined ? { memory: String(raw.memory) } : {}),
    ...(raw.time !== undefined ? { timeMs: durationMs(raw.time) } : {}),
    ...(raw.partition !== undefined ? { partition: raw.partition } : {}),
    sbatch: raw.sbatch ?? [],
  };
}
