// The keys of pipeline.yaml, what each expects in words, and the patterns of names and durations: shared by the
// zod schema (zod-schema.ts), the messages that word its issues (shapes.ts) and the CLI (built-in command names).
// Plain constants, so importing them loads no zod.

/** Stage and command names: a letter or digit first, then letters, digits, `_`, `.`, `-`; never `..`. */
export const NAME_PATTERN = '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9_.-]*$';
export const NAME_RE = new RegExp(NAME_PATTERN);
/** A duration: seconds as a number, or a number with a unit. */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$';
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** A `matrix:` key: it becomes a param referenced as `${key}`, so a letter or `_` first, then letters, digits, `_`. */
export const MATRIX_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** A matrix value that can be part of a default expansion name (`quantize@8`) as it is. */
export const NAME_VALUE_RE = /^[A-Za-z0-9_.-]+$/;

/** The most `retries` a stage may have: a stage that fails this often needs fixing, not another attempt. */
export const MAX_RETRIES = 20;

/** Commands the CLI provides itself; a workspace command may not take one of these names. */
export const BUILTIN_COMMANDS = [
  'init',
  'run',
  'status',
  'dag',
  'metrics',
  'params',
  'exp',
  'validate',
  'gc',
  'schema',
  'ci',
  'cache',
  'fingerprint',
  'push',
  'pull',
  'update',
  'watch',
  'help',
] as const;

/**
 * What each key expects, in words: shown in error messages ("`outs` must be ...") and as the
 * description editors show on hover.
 */
export const EXPECTED: Record<string, string> = {
  version: 'the number 1 (the version of this file format)',
  params: 'a mapping of param names to values',
  stages: 'a mapping of stage names to stages',
  commands: 'a mapping of command names to module paths',
  ci: 'a mapping of settings for `pipeline ci generate`',
  gitignore: 'true or false; false: `run` never adds the outs of the stages it ran to .gitignore',
  remote:
    'the remote cache: `s3://bucket/prefix`, `http(s)://host/prefix` or a folder, or a mapping `{url, pull, push}` (pull/push: true makes `pipeline run` pull/push by default)',
  stage: 'a mapping of stage settings (`cmd` or `module`, `deps`, `outs`, ...)',
  desc: 'a string (a short description of the stage)',
  cmd: 'a command line (string, split into argv without a shell) or an argv list of strings',
  module: 'a workspace-relative path of a TypeScript stage module',
  shell: 'true or false',
  deps: 'a path (file, folder or glob in the workspace; a file or folder outside it), an http(s):// URL, or a list of them; `${param}` is replaced by the param',
  outs: 'a workspace-relative path or a list of them',
  needs: 'a stage name or a list of stage names',
  metrics: 'a workspace-relative path of a JSON file among `outs`, or a list of them',
  env: 'a mapping of variable names to strings, numbers or booleans',
  uses: 'a global param name or a list of them: the global params this stage reads (the others are not passed to it)',
  retries: `a whole number from 0 to ${MAX_RETRIES}: how many times a failed stage is executed again`,
  retryOn: 'a list of exit codes from 1 to 255: only an exit with one of them is retried (default: any failure another attempt may cure)',
  timeout: 'seconds (a number > 0) or a duration like `30s`, `10m`, `1h`',
  cache: 'true or false',
  gate: 'true or false',
  executor: '`local` (child processes on this machine) or `slurm` (one Slurm batch job per stage that runs)',
  group: 'a group name (letters, digits, `_`, `.`, `-`): under `--executor slurm` (job mode), the stages of a group run one after another in one batch job',
  slurm: 'a mapping of how the `slurm` executor runs stages: `mode` is `jobs` (default: one batch job per stage) or `steps` (each stage a job step of the allocation the run is in)',
  resources: 'a mapping of what a Slurm job asks for: `cpus`, `memory`, `time`, `partition`, `sbatch`',
  cpus: 'a whole number > 0 (CPUs per job, `--cpus-per-task`)',
  memory:
    'megabytes (a whole number) or a size like `512M`, `4G` (`--mem`), or a list of them, one per attempt of a stage with `retries` (the last repeats)',
  time: 'seconds (a number > 0) or a duration like `30s`, `10m`, `1h` (`--time`)',
  partition: 'a Slurm partition name (`--partition`)',
  sbatch: 'a list of extra sbatch options, e.g. [--qos=low, --account=ml]',
  passEnv: 'a variable name or a list of them: passed to the stage from the environment, never hashed or recorded (secrets)',
  inheritEnv: 'true or false; true: the stage gets the runner\'s whole environment, not only the base set, `env` and `passEnv`',
  matrix:
    'a mapping of keys to non-empty lists of strings, numbers or booleans: the stage becomes a template, one stage per combination, each key a param of it (`${key}` in outs, deps, cmd, env, name)',
  name: 'the names of a template\'s expansions, with `${key}` for its matrix keys (e.g. `quantize-${bits}`); default `STAGE@VALUE-VALUE…`',
};

/** Keys of pipeline.yaml and of a stage, in the order of the schema (a test checks they match it). */
export const TOP_KEYS = ['version', 'executor', 'slurm', 'inheritEnv', 'params', 'stages', 'commands', 'ci', 'remote', 'gitignore'];
export const STAGE_KEYS = [
  'desc',
  'cmd',
  'module',
  'shell',
  'deps',
  'outs',
  'needs',
  'metrics',
  'params',
  'uses',
  'env',
  'passEnv',
  'inheritEnv',
  'timeout',
  'retries',
  'retryOn',
  'cache',
  'gate',
  'resources',
  'group',
  'matrix',
  'name',
];
/** Keys of a stage's `resources:`. */
export const RESOURCE_KEYS = ['cpus', 'memory', 'time', 'partition', 'sbatch'];
/** A memory size: megabytes, or a number with a unit (K, M, G, T; Slurm's). */
export const MEMORY_PATTERN = '^[0-9]+[KMGT]?$';
