// What each key of pipeline.yaml means, for the key table of docs/pipeline-yaml.md. The keys themselves come from
// the zod schema (config/zod-schema.ts): the table is written by `npm run docs` (scripts/docs-tables.ts), and a key the schema
// accepts without a meaning here stops it (tests/docs/reference.test.ts runs it).

/** The key → what it means, in the words of the reference (links relative to docs/). */
export const KEY_MEANINGS: Record<string, string> = {
  version: "the file format's version: `1`.",
  stages: 'the stages, by name (`[A-Za-z0-9][A-Za-z0-9_.-]*`, no `..`), in the order they are listed.',
  params:
    'top level: params every stage may read (`uses:` narrows them, see [Typed and scoped params](#typed-and-scoped-params)); in a stage: any YAML mapping, merged over the global `params`, then over `pipeline.local.yaml` and `--set`.',
  cmd: 'a command line, split into argv like a shell splits words but without running one; or an argv list. `shell: true` runs the string through `/bin/sh`. The stage gets its params as JSON in `PIPELINE_PARAMS`, its name in `PIPELINE_STAGE`, its attempt (1, then 2… when retried) in `PIPELINE_ATTEMPT`, and may write a gate verdict to `PIPELINE_VERDICT_FILE`.',
  shell:
    '`true`: `cmd` is one string run by `/bin/sh -c` (pipes, redirections); `${param}` values are quoted for where they stand (see [Inputs outside the workspace](#inputs-outside-the-workspace)). Default `false`.',
  module:
    "a TypeScript file whose default export is `async (ctx: StageContext) => void` (`import type { StageContext } from 'pipeline-dag/stage'`, see [Writing a stage](#writing-a-stage)): `ctx.params`, `ctx.inputs[upstream][out]`, `ctx.deps[path]`, `ctx.outs[path]` (absolute paths; parent folders exist), `ctx.log.info(message)` (stdout), `ctx.log.warn(message)` (stderr, prefixed `warning:`), `ctx.log.error(message)` (stderr), `ctx.signal`, `ctx.attempt` (1, then 2… when retried). It runs in a child process through a small host; a thrown `GateVerdict` (or any error) becomes the stage's reason.",
  deps: 'workspace files, folders or globs the stage reads (for `cmd:` stages, also their code); files or folders outside the workspace (absolute or `../`); `http(s)://` URLs. `${param}` inside a dep is replaced by the param\'s value. A single string is a one-element list. See [Inputs outside the workspace](#inputs-outside-the-workspace).',
  needs: 'upstream stages (a template\'s name means all its expansions); every out of each is an input of this stage.',
  outs: "files or folders the stage writes; inside the workspace, not overlapping another stage's.",
  metrics: 'JSON (`.json`) or YAML (`.yaml`, `.yml`) files among `outs` whose numbers `pipeline metrics` shows.',
  uses: 'the global params the stage reads (`uses: [seed]`); the others are neither passed to it nor part of its fingerprint. See [Typed and scoped params](#typed-and-scoped-params).',
  desc: 'a short description of the stage (shown by `dag` and the report).',
  env: 'variables set for the stage (`NAME: value`); part of its fingerprint, so a change re-runs it.',
  timeout: 'how long the stage may run (`90`, `30s`, `5m`, `2h`); past it the stage is stopped and fails.',
  cache:
    '`false`: the stage always runs and is never restored (a download of "latest" data); default `true`.',
  gate: '`true`: the stage judges the results; a non-zero exit (or a thrown `GateVerdict`) ends the run with exit code 3 and blocks what is downstream.',
  retries: 'how many times a failed execution is retried, 0–20 (default 0); not part of the fingerprint. See **Retries** under [Running](running.md#running).',
  retryOn: 'exit codes (1–255) that alone are retried (`retryOn: [75]`); without it, any failure another attempt may cure is. Not part of the fingerprint.',
  passEnv:
    "names of variables passed to the stage from the runner's environment (tokens, credentials) that are **not** part of its fingerprint and never written to `pipeline.lock`, run records or logs (their values are masked as `***` in everything the runner writes or prints); a name may not also be in `env`. See [Teams and clusters](teams.md#teams-and-clusters).",
  inheritEnv:
    "`true`: the stage gets the runner's whole environment, not only the base set, `env` and `passEnv` (see [Running](running.md#running), *The environment of a stage*); a stage's own value overrides the top-level one. Not part of the fingerprint.",
  remote: 'the remote cache: a URL or folder, or `{url, pull, push}` (see [Teams and clusters](teams.md#teams-and-clusters)).',
  resources:
    'what a Slurm job running the stage asks for: `cpus`, `memory` (or a list, one per attempt: `memory: [2G, 4G, 8G]`, the last repeating), `time`, `partition`, `sbatch` (a list of extra options); read by `--executor slurm` only, not part of the fingerprint (see [Clusters (Slurm)](teams.md#clusters-slurm)).',
  matrix:
    'makes the stage a template: a mapping of keys to non-empty lists of strings, numbers or booleans; one stage per combination, each key a param of it. See [Stage templates](#stage-templates-matrix).',
  name: "a template's expansion names, with `${key}` for matrix keys (`quantize-${bits}`); default `STAGE@v1-v2…`.",
  gitignore:
    '`true` (default): `run` adds the outs of the stages it ran or restored to `.gitignore`, unless git tracks them; `false` turns that off. See [.gitignore](#gitignore).',
  executor: '`local` (default) or `slurm`: where stages run; `pipeline run --executor` overrides it.',
  commands: 'extra CLI commands the workspace provides (`NAME: module path`; `pipeline NAME …` runs its default export).',
  group:
    'a group name (letters, digits, `_`, `.`, `-`): under `--executor slurm` in job mode, the stages of a group run one after another in one batch job instead of one job each; ignored locally and in steps mode; not part of the fingerprint. See [Groups](teams.md#groups-several-stages-in-one-batch-job).',
  slurm:
    'how the `slurm` executor runs stages: `{mode: jobs}` (default: one batch job per stage) or `{mode: steps}` (each stage a job step of the allocation the run is in; refused outside one); `pipeline run --slurm-mode` overrides it. See [Clusters (Slurm)](teams.md#stages-as-job-steps-inside-an-allocation).',
  ci: 'settings for `pipeline ci generate` (see [CI](ci-and-docker.md#github-actions-mirrors-the-dag)).',
};
