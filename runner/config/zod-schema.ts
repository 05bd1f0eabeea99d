// The shape of pipeline.yaml as a zod schema: validates the parsed YAML and emits the JSON Schema that editors use
// for completion (`# yaml-language-server: $schema=./pipeline.schema.json`). Only shapes live here; meaning (paths,
// needs, cycles, overlapping outs) is checked by the other files of config/.
//
// Written with `zod/mini` (the same validation core as classic zod, without the methods classic zod attaches to
// every schema): the CLI's bundle keeps only the parts used here, and building the schemas is cheap. This module is
// loaded on first use only (schema.ts requires it), as it is needed only when a pipeline.yaml has to be checked;
// the JSON Schema is written by json-schema.ts, so checking a file does not load zod's JSON Schema generator.
// zod/mini loads no error-message locale: the English one is set here, so an issue's `message` reads as it does
// with classic zod.
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { DURATION_PATTERN, ENV_NAME_PATTERN, EXPECTED, MATRIX_KEY_PATTERN, MAX_RETRIES, MEMORY_PATTERN, NAME_RE } from './keys.js';

/** `schema` with its description for editors (the text of EXPECTED[key], with `extra` after it). */
function doc<T extends z.ZodMiniType>(schema: T, key: string, extra = ''): T {
  z.globalRegistry.add(schema, { description: EXPECTED[key] + extra });
  return schema;
}

const memory = () => z.union([z.number().check(z.int(), z.positive()), z.string().check(z.regex(new RegExp(MEMORY_PATTERN)))]);
const duration = () => z.union([z.number().check(z.positive()), z.string().check(z.regex(new RegExp(DURATION_PATTERN)))]);

/** `resources:` of a stage: what a Slurm job asks for. */
function resourcesSchema() {
  return doc(
    z.nullable(
      z.strictObject({
        cpus: z.optional(doc(z.number().check(z.int(), z.positive()), 'cpus')),
        memory: z.optional(doc(z.union([memory(), z.array(memory()).check(z.minLength(1))]), 'memory')),
        time: z.optional(doc(duration(), 'time')),
        partition: z.optional(doc(z.string().check(z.minLength(1)), 'partition')),
        sbatch: z.optional(doc(z.array(z.string().check(z.minLength(1))), 'sbatch')),
      }),
    ),
    'resources',
    '; used by the `slurm` executor, ignored by `local`',
  );
}

/** The top-level `remote:`: a URL or folder, or `{url, pull, push}`. */
function remoteSchema() {
  return doc(
    z.union([
      z.string().check(z.minLength(1)),
      z.strictObject({
        url: z.string().check(z.minLength(1)).register(z.globalRegistry, { description: 'where the remote cache is' }),
        pull: z.optional(z.boolean().register(z.globalRegistry, { description: 'true: `pipeline run` pulls by default (`--no-pull` turns it off)' })),
        push: z.optional(z.boolean().register(z.globalRegistry, { description: 'true: `pipeline run` pushes by default (`--no-push` turns it off)' })),
      }),
    ]),
    'remote',
  );
}

/** Builds the schemas; called once per process (schema.ts keeps them). */
export function buildSchemas() {
  z.config(en());

  // An empty value (`deps:` with nothing after it) counts as an empty list or mapping.
  const stringOrList = (key: string, extra = '') => doc(z.union([z.string(), z.array(z.string()), z.null()]), key, extra);
  const envName = z.string().check(z.regex(new RegExp(ENV_NAME_PATTERN)));
  const mapping = (key: string) => doc(z.nullable(z.record(z.string(), z.unknown())), key);

  const stageSchema = doc(
    z.strictObject({
      desc: z.optional(doc(z.string(), 'desc')),
      cmd: z.optional(doc(z.union([z.string().check(z.minLength(1)), z.array(z.string()).check(z.minLength(1))]), 'cmd')),
      module: z.optional(doc(z.string().check(z.minLength(1)), 'module')),
      shell: z.optional(doc(z.boolean(), 'shell', '; true runs a string `cmd` through /bin/sh')),
      deps: z.optional(stringOrList('deps')),
      outs: z.optional(stringOrList('outs')),
      needs: z.optional(stringOrList('needs', '; their outs become inputs of this stage')),
      metrics: z.optional(stringOrList('metrics')),
      params: z.optional(mapping('params')),
      uses: z.optional(stringOrList('uses')),
      env: z.optional(
        doc(z.nullable(z.record(z.string().check(z.regex(new RegExp(ENV_NAME_PATTERN))), z.union([z.string(), z.number(), z.boolean()]))), 'env'),
      ),
      passEnv: z.optional(doc(z.union([envName, z.array(envName), z.null()]), 'passEnv')),
      inheritEnv: z.optional(doc(z.boolean(), 'inheritEnv', '; overrides the top-level `inheritEnv`')),
      timeout: z.optional(doc(duration(), 'timeout')),
      retries: z.optional(doc(z.number().check(z.int(), z.gte(0), z.lte(MAX_RETRIES)), 'retries', '; not part of the fingerprint')),
      retryOn: z.optional(doc(z.array(z.number().check(z.int(), z.gte(1), z.lte(255))).check(z.minLength(1)), 'retryOn')),
      cache: z.optional(doc(z.boolean(), 'cache', '; false: always run, never restore')),
      gate: z.optional(doc(z.boolean(), 'gate', '; true: a non-zero exit ends the run with exit code 3 and blocks downstream')),
      resources: z.optional(resourcesSchema()),
      group: z.optional(doc(z.string().check(z.regex(NAME_RE)), 'group', '; read by `--executor slurm` in job mode only')),
      // The shape editors are told; a file is checked against it by config/matrix-shape.ts, in words of its own.
      matrix: z.optional(
        doc(z.record(z.string().check(z.regex(new RegExp(MATRIX_KEY_PATTERN))), z.array(z.union([z.string(), z.number(), z.boolean()])).check(z.minLength(1))), 'matrix'),
      ),
      name: z.optional(doc(z.string().check(z.minLength(1)), 'name')),
    }),
    'stage',
  );

  const pipelineSchema = z
    .strictObject({
      version: doc(z.literal(1), 'version'),
      executor: z.optional(doc(z.enum(['local', 'slurm']), 'executor', '; `pipeline run --executor` overrides it')),
      slurm: z.optional(
        doc(
          z.strictObject({ mode: z.optional(z.enum(['jobs', 'steps']).register(z.globalRegistry, { description: '`jobs` (default) or `steps`' })) }),
          'slurm',
          '; `pipeline run --slurm-mode` overrides it',
        ),
      ),
      inheritEnv: z.optional(doc(z.boolean(), 'inheritEnv', '; for every stage that does not set its own')),
      params: z.optional(mapping('params')),
      stages: doc(z.record(z.string().check(z.regex(NAME_RE)), stageSchema), 'stages'),
      commands: z.optional(doc(z.nullable(z.record(z.string().check(z.regex(NAME_RE)), z.string().check(z.minLength(1)))), 'commands')),
      ci: z.optional(mapping('ci')),
      remote: z.optional(remoteSchema()),
      gitignore: z.optional(doc(z.boolean(), 'gitignore', '; default true')),
    })
    .register(z.globalRegistry, { title: 'pipeline.yaml', description: 'A DAG of stages run by `pipeline run`.' });
  return { pipelineSchema, stageSchema };
}

export type ShapeSchemas = ReturnType<typeof buildSchemas>;
export type RawPipeline = z.infer<ShapeSchemas['pipelineSchema']>;
export type RawStage = z.infer<ShapeSchemas['stageSchema']>;

