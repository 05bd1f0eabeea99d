import type { Position, Range } from '../core/diagnostic.js';

// The validated, normalized form of pipeline.yaml that the rest of the engine works on.
// `config.ts` produces it; nothing else parses YAML.

export type { Position };

export type Params = Record<string, unknown>;

export interface StageConfig {
  name: string;
  /** `cmd` stages run a command; `module` stages run a default-exported async function through the host. */
  kind: 'cmd' | 'module';
  /** argv for `cmd` stages (a string in the YAML is split into argv without a shell); with `shell: true`, argv[0] is the whole command line. */
  cmd?: string[];
  shell: boolean;
  /** Workspace-relative path of the module file (`module` stages). */
  module?: string;
  /** Workspace-relative files, directories or glob patterns the stage reads. */
  deps: string[];
  /** Upstream stage names, in declaration order. */
  needs: string[];
  /** Global params overridden by the stage's own params, then by `--set`. */
  params: Params;
  /** Names of the params that the stage declares itself (the rest come from the global `params:`). */
  ownParams: string[];
  /** `uses:` — the global params the stage reads; when given, the others are not passed to it. */
  uses?: string[];
  /** Params set by `--set`: name → the argument as typed (for error messages). */
  setBy?: Record<string, string>;
  /** Params set in pipeline.local.yaml (and not by a later `--set`): name → the file and the value's place. */
  setIn?: Record<string, SetIn>;
  /** Workspace-relative outputs (files or directories), normalized with forward slashes, no `./`. */
  outs: string[];
  /** The subset of `outs` that are JSON metrics files. */
  metrics: string[];
  /** Declared environment variables (part of the fingerprint). */
  env: Record<string, string>;
  /**
   * Variables passed to the stage from the runner's environment but never hashed into its fingerprint nor written
   * to pipeline.lock, run records or logs (secrets, tokens). Absent = none.
   */
  passEnv?: string[];
  /**
   * `inheritEnv: true`: the stage gets the runner's whole environment instead of the base set (exec/environment.ts)
   * plus `env` and `passEnv`; the stage's own setting, else the top-level one. Absent = false.
   */
  inheritEnv?: boolean;
  /** Wall-clock limit in milliseconds, if any. */
  timeoutMs?: number;
  /** How many times a failed execution is retried (`retries`; absent: 0); not part of the fingerprint. */
  retries?: number;
  /** `retryOn`: only an exit with one of these codes is retried; absent: any failure that may pass next time. */
  retryOn?: number[];
  /** `cache: false` stages always run and are never restored. */
  cache: boolean;
  /** A gate stage's non-zero exit ends the run with exit code 3 and blocks its downstream. */
  gate: boolean;
  desc?: string;
  /** The Slurm group job it runs in with the other stages of the same name (`group:`; job mode only, not fingerprinted). */
  group?: string;
  /** What a cluster job running it asks for (`resources:`); only the `slurm` executor reads it. */
  resources?: StageResources;
  /** Where the stage is declared. */
  pos: Position;
  /** Set on the expansion of a template (a stage with `matrix:`): which template, and with which values. */
  template?: TemplateOrigin;
}

/** A value of a `matrix:` list. */
export type MatrixValue = string | number | boolean;

/** Where an expansion comes from: its template's name, its matrix values (key order as written), their list indexes. */
export interface TemplateOrigin {
  name: string;
  matrix: Record<string, MatrixValue>;
  /** The index of each value in its key's list (for positions). */
  index: Record<string, number>;
}

/** A stage's `resources:`, each mapped to an sbatch flag. */
export interface StageResources {
  /** `--cpus-per-task`. */
  cpus?: number;
  /** `--mem`, one value per attempt (the last repeats): megabytes, or a number with K, M, G or T. */
  memory?: string[];
  /** `--time`, in milliseconds. */
  timeMs?: number;
  /** `--partition`. */
  partition?: string;
  /** Extra sbatch options, passed as they are. */
  sbatch: string[];
}

export interface PipelineConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Absolute path of the workspace (the config file's folder). */
  root: string;
  version: 1;
  /** Where stages run unless `pipeline run --executor` says otherwise (default `local`). */
  executor?: 'local' | 'slurm';
  /** How the `slurm` executor runs stages (`slurm: {mode}`); `pipeline run --slurm-mode` overrides it. */
  slurm?: { mode?: 'jobs' | 'steps' };
  params: Params;
  /** Stages in declaration order (a template's expansions in its place, in the order of the cartesian product). */
  stages: StageConfig[];
  /** Templates (stages with `matrix:`): name → the names of its expansions. Absent when the file has none. */
  templates?: Record<string, string[]>;
  /** Extra CLI commands provided by the workspace: `pipeline NAME ...` runs the module's default export with argv. */
  commands: Record<string, string>;
  /** Settings for `pipeline ci generate` (validated by the generator). */
  ci: Record<string, unknown>;
  /** The `remote:` setting (PIPELINE_REMOTE overrides its url); absent when the file has none. */
  remote?: RemoteSetting;
  /** `gitignore: false`: `run` leaves .gitignore alone (by default it adds the untracked outs of the stages it ran). */
  gitignore?: boolean;
  /** Global params set by `--set`: name → the argument as typed. */
  setBy?: Record<string, string>;
  /** Global params set in pipeline.local.yaml (and not by a later `--set`). */
  setIn?: Record<string, SetIn>;
  /** Position of any node in the file by its key path, e.g. ['stages', 'fit', 'params', 'alpha']. */
  positionOf: (path: (string | number)[]) => Position;
  /** Range of the key or the value at a key path (the nearest existing ancestor when it is missing). */
  rangeOf?: (path: (string | number)[], part?: 'key' | 'value') => Range;
  /**
   * sha256 (hex) of the config text and the normalization version: equal digests mean the same normalized
   * config (the key of the parsed-config cache, `LoadOptions.cacheDir`).
   */
  digest?: string;
}

/** Where the remote cache is and whether `pipeline run` pulls from / pushes to it by default. */
export interface RemoteSetting {
  url: string;
  pull: boolean;
  push: boolean;
}

/** A param override from the command line: `--set [stage.]key=value`, the value parsed as YAML. */
/** Where a param's value was set outside pipeline.yaml and --set. */
export interface SetIn {
  from: string;
  at: Range;
}

export interface ParamOverride {
  stage?: string;
  key: string;
  value: unknown;
  /** The argument as typed, for error messages. */
  raw: string;
  /** Set in a file (pipeline.local.yaml) rather than by `--set`: the file's name and the value's place in it. */
  from?: string;
  at?: Range;
}
