// The shape of pipeline.yaml as a zod schema: validates the parsed YAML and emits the JSON Schema that
// editors use for completion (`# yaml-language-server: $schema=./pipeline.schema.json`).
// Only shapes live here; meaning (paths, needs, cycles, overlapping outs) is checked in config.ts.
//
// zod costs ~35-40 ms to load here, a quarter of a no-op run's budget, and a config whose text already passed
// this check needs no second one (see LoadOptions.trustedDigest). So zod is loaded on first use, synchronously
// through require() because parseConfigText is synchronous.
import { createRequire } from 'node:module';
import type * as Zod from 'zod';

/** Stage and command names: a letter or digit first, then letters, digits, `_`, `.`, `-`; never `..`. */
export const NAME_PATTERN = '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9_.-]*$';
export const NAME_RE = new RegExp(NAME_PATTERN);
/** A duration: seconds as a number, or a number with a unit. */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$';
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/** Commands the CLI provides itself; a workspace command may not take one of these names. */
export const BUILTIN_COMMANDS = [
  'init',
  'run',
  'status',
  'dag',
  'metrics',
  'validate',
  'gc',
  'schema',
  'ci',
  'cache',
  'fingerprint',
  'push',
  'pull',
  'update',
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
  timeout: 'seconds (a number > 0) or a duration like `30s`, `10m`, `1h`',
  cache: 'true or false',
  gate: 'true or false',
  executor: '`local` (child processes on this machine) or `slurm` (one Slurm batch job per stage that runs)',
  resources: 'a mapping of what a Slurm job asks for: `cpus`, `memory`, `time`, `partition`, `sbatch`',
  cpus: 'a whole number > 0 (CPUs per job, `--cpus-per-task`)',
  memory: 'megabytes (a whole number) or a size like `512M`, `4G` (`--mem`)',
  time: 'seconds (a number > 0) or a duration like `30s`, `10m`, `1h` (`--time`)',
  partition: 'a Slurm partition name (`--partition`)',
  sbatch: 'a list of extra sbatch options, e.g. [--qos=low, --account=ml]',
  passEnv: 'a variable name or a list of them: passed to the stage from the environment, never hashed or recorded (secrets)',
};

/** Keys of pipeline.yaml and of a stage, in the order of the schema (a test checks they match it). */
export const TOP_KEYS = ['version', 'executor', 'params', 'stages', 'commands', 'ci', 'remote'];
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
  'timeout',
  'cache',
  'gate',
  'resources',
];
/** Keys of a stage's `resources:`. */
export const RESOURCE_KEYS = ['cpus', 'memory', 'time', 'partition', 'sbatch'];
/** A memory size: megabytes, or a number with a unit (K, M, G, T; Slurm's). */
export const MEMORY_PATTERN = '^[0-9]+[KMGT]?$';

const doc = (key: string, extra = '') => ({ description: EXPECTED[key] + extra });

function build() {
  const { z } = createRequire(import.meta.url)('zod') as typeof Zod;

  // An empty value (`deps:` with nothing after it) counts as an empty list or mapping.
  const stringOrList = (key: string, extra = '') =>
    z.union([z.string(), z.array(z.string()), z.null()]).meta(doc(key, extra));
  const envName = z.string().regex(new RegExp(ENV_NAME_PATTERN));
  const mapping = (key: string) => z.record(z.string(), z.unknown()).nullable().meta(doc(key));

  const stageSchema = z
    .strictObject({
      desc: z.string().meta(doc('desc')).optional(),
      cmd: z
        .union([z.string().min(1), z.array(z.string()).min(1)])
        .meta(doc('cmd'))
        .optional(),
      module: z.string().min(1).meta(doc('module')).optional(),
      shell: z.boolean().meta(doc('shell', '; true runs a string `cmd` through /bin/sh')).optional(),
      deps: stringOrList('deps').optional(),
      outs: stringOrList('outs').optional(),
      needs: stringOrList('needs', '; their outs become inputs of this stage').optional(),
      metrics: stringOrList('metrics').optional(),
      params: mapping('params').optional(),
      uses: stringOrList('uses').optional(),
      env: z
        .record(z.string().regex(new RegExp(ENV_NAME_PATTERN)), z.union([z.string(), z.number(), z.boolean()]))
        .nullable()
        .meta(doc('env'))
        .optional(),
      passEnv: z
        .union([envName, z.array(envName), z.null()])
        .meta(doc('passEnv'))
        .optional(),
      timeout: z
        .union([z.number().positive(), z.string().regex(new RegExp(DURATION_PATTERN))])
        .meta(doc('timeout'))
        .optional(),
      cache: z.boolean().meta(doc('cache', '; false: always run, never restore')).optional(),
      gate: z
        .boolean()
        .meta(doc('gate', '; true: a non-zero exit ends the run with exit code 3 and blocks downstream'))
        .optional(),
      resources: z
        .strictObject({
          cpus: z.number().int().positive().meta(doc('cpus')).optional(),
          memory: z
            .union([z.number().int().positive(), z.string().regex(new RegExp(MEMORY_PATTERN))])
            .meta(doc('memory'))
            .optional(),
          time: z
            .union([z.number().positive(), z.string().regex(new RegExp(DURATION_PATTERN))])
            .meta(doc('time'))
            .optional(),
          partition: z.string().min(1).meta(doc('partition')).optional(),
          sbatch: z.array(z.string().min(1)).meta(doc('sbatch')).optional(),
        })
        .nullable()
        .meta(doc('resources', '; used by the `slurm` executor, ignored by `local`'))
        .optional(),
    })
    .meta(doc('stage'));

  const pipelineSchema = z
    .strictObject({
      version: z.literal(1).meta(doc('version')),
      executor: z.enum(['local', 'slurm']).meta(doc('executor', '; `pipeline run --executor` overrides it')).optional(),
      params: mapping('params').optional(),
      stages: z.record(z.string().regex(NAME_RE), stageSchema).meta(doc('stages')),
      commands: z.record(z.string().regex(NAME_RE), z.string().min(1)).nullable().meta(doc('commands')).optional(),
      ci: mapping('ci').optional(),
      remote: z
        .union([
          z.string().min(1),
          z.strictObject({
            url: z.string().min(1).meta({ description: 'where the remote cache is' }),
            pull: z.boolean().meta({ description: 'true: `pipeline run` pulls by default (`--no-pull` turns it off)' }).optional(),
            push: z.boolean().meta({ description: 'true: `pipeline run` pushes by default (`--no-push` turns it off)' }).optional(),
          }),
        ])
        .meta(doc('remote'))
        .optional(),
    })
    .meta({ title: 'pipeline.yaml', description: 'A DAG of stages run by `pipeline run`.' });
  return { z, pipelineSchema, stageSchema };
}

let built: ReturnType<typeof build> | undefined;

/** The zod schemas (zod is loaded on the first call). */
export function schemas(): ReturnType<typeof build> {
  return (built ??= build());
}

export type RawPipeline = Zod.infer<ReturnType<typeof build>['pipelineSchema']>;
export type RawStage = Zod.infer<ReturnType<typeof build>['stageSchema']>;

/** JSON Schema (draft 2020-12) of pipeline.yaml, for editors. `pipeline.schema.json` is this, committed. */
export function pipelineJsonSchema(): object {
  const { z, pipelineSchema } = schemas();
  return z.toJSONSchema(pipelineSchema, { target: 'draft-2020-12' });
}
