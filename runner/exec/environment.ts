// The environment a stage's process gets, built here and nowhere else, for every executor: a process started for
// the stage (process.ts), a host started ahead of need and handed its job (pool.ts: started with the base set
// alone, the job adds the rest), a Slurm job (slurm.ts: sbatch is started with it and exports it to the job).
//
// Not the runner's whole environment: a stage that runs `env` must not log the runner's cloud credentials or its
// remote's signing key. A stage gets
//   - the base set: PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TMPDIR, TZ, TERM, XDG_*, SLURM_*, the
//     trust store's paths (SSL_CERT_FILE, SSL_CERT_DIR, NODE_EXTRA_CA_CERTS), the runner's PIPELINE_DEBUG (the
//     host's stack traces), and the names listed in PIPELINE_BASE_ENV (a site's additions: LD_LIBRARY_PATH, …);
//   - the stage's `passEnv` (values from the runner's environment) and `env`;
//   - the variables the engine sets for it (PIPELINE_STAGE, PIPELINE_PARAMS, PIPELINE_WORKSPACE, …), over all else.
// `inheritEnv: true` gives the runner's whole environment instead of the base set (the engine's own variables of
// an outer run excepted). The values of `passEnv` variables are masked in everything the runner writes (mask.ts).
import type { StageConfig } from '../config/types.js';

type Source = Record<string, string | undefined>;

/** The base set in words (`validate`). */
export const BASE_SET_SUMMARY = 'PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TMPDIR, TZ, TERM, XDG_*, SLURM_*, SSL_CERT_FILE, SSL_CERT_DIR, NODE_EXTRA_CA_CERTS, PIPELINE_DEBUG and the names in PIPELINE_BASE_ENV';

/**
 * Where the system's and Node's trust stores are (paths, not secrets): without them a stage behind a TLS-inspecting
 * proxy cannot fetch anything, and they are read by OpenSSL and Node themselves, not by the stage's code.
 */
const TRUST_STORE = ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS'];

/** Variables of the base set, by name. */
const BASE_NAMES = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TMPDIR', 'TZ', 'TERM', ...TRUST_STORE, 'PIPELINE_DEBUG']);
/** Variables of the base set, by prefix. */
const BASE_PREFIXES = ['LC_', 'XDG_', 'SLURM_'];
/** The runner's variable that adds names to the base set (comma- or space-separated). */
export const EXTRA_BASE_VARIABLE = 'PIPELINE_BASE_ENV';
/** What the engine sets for a stage: an outer run's values never reach a stage, inherited or not. */
const ENGINE_VARIABLES = ['PIPELINE_STAGE', 'PIPELINE_PARAMS', 'PIPELINE_WORKSPACE', 'PIPELINE_VERDICT_FILE', 'PIPELINE_ATTEMPT', 'PIPELINE_CONTEXT'];

/** The part of a stage's settings its environment depends on. */
export type StageEnvSettings = Pick<StageConfig, 'env' | 'passEnv' | 'inheritEnv'>;

function extraNames(from: Source): Set<string> {
  return new Set((from[EXTRA_BASE_VARIABLE] ?? '').split(/[\s,]+/).filter(Boolean));
}

/** Whether a variable of the runner's environment is in the base set. */
function inBase(name: string, extra: Set<string>): boolean {
  return BASE_NAMES.has(name) || BASE_PREFIXES.some((p) => name.startsWith(p)) || extra.has(name);
}

/** The base set of the runner's environment: what every stage gets, and all a host started ahead of need gets. */
export function baseEnvironment(from: Source = process.env): Record<string, string> {
  const extra = extraNames(from);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from)) if (value !== undefined && inBase(name, extra)) env[name] = value;
  return env;
}

/**
 * THE environment of a stage's process: the base set (or, with `inheritEnv`, the runner's whole environment),
 * then its `passEnv` values, its `env`, and the engine's variables for it (`engine`) over all.
 */
export function stageEnvironment(stage: StageEnvSettings, engine: Record<string, string>, from: Source = process.env): Record<string, string> {
  const env = stage.inheritEnv ? inherited(from) : baseEnvironment(from);
  for (const name of stage.passEnv ?? []) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return Object.assign(env, stage.env, engine);
}

function inherited(from: Source): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from)) if (value !== undefined && !ENGINE_VARIABLES.includes(name)) env[name] = value;
  return env;
}

/**
 * The variables of the runner's environment a stage does not get (names, sorted): what `validate` lists, for a
 * stage written when stages inherited everything. None with `inheritEnv`.
 */
export function withheldVariables(stage: StageEnvSettings, from: Source = process.env): string[] {
  if (stage.inheritEnv) return [];
  const gets = stageEnvironment(stage, {}, from);
  return Object.keys(from)
    .filter((name) => from[name] !== undefined && !(name in gets) && !ENGINE_VARIABLES.includes(name) && !SHELL_BOOKKEEPING.has(name))
    .sort();
}

/** What a shell sets for itself in every process it starts: nothing a stage is written to read. */
const SHELL_BOOKKEEPING = new Set(['_', 'PWD', 'OLDPWD', 'SHLVL']);

/** The values a stage's log, failure reasons and records mask: those of its `passEnv` variables, as the runner has them. */
export function passedValues(stage: Pick<StageConfig, 'passEnv'>, from: Source = process.env): string[] {
  const values: string[] = [];
  for (const name of stage.passEnv ?? []) {
    const value = from[name];
    if (value !== undefined) values.push(value);
  }
  return values;
}
