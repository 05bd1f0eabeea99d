// Every environment variable the tool reads, and those it sets for a stage: one table, written into docs/cli.md by
// `npm run docs` (scripts/docs-tables.ts). tests/docs/env-vars.test.ts reads the names the code uses (runner/, bin/) and fails
// when one is missing here or a row names one no code uses.

export interface EnvironmentVariable {
  /** The names (several when they act together: user and password). */
  names: string[];
  does: string;
  /** The value when unset, or `—` for one the runner sets. */
  default: string;
}

export const ENVIRONMENT_VARIABLES: EnvironmentVariable[] = [
  {
    names: ['PIPELINE_BASE_ENV'],
    does: 'more names for the base set of the environment every stage gets (comma- or space-separated, e.g. `LD_LIBRARY_PATH`; see [Running](running.md#running))',
    default: 'unset',
  },
  { names: ['PIPELINE_CACHE_DIR'], does: "the store's folder (relative to the workspace, or absolute); share one between workspaces", default: '`.pipeline/cache`' },
  { names: ['PIPELINE_DEBUG'], does: 'when set (non-empty), `run` also says how many stage hosts it started ahead and how many it used', default: 'unset' },
  {
    names: ['PIPELINE_FRESH_LOG'],
    does: 'a file to which each `run` answered from the fresh record appends a line (see [Cache and provenance](cache.md#cache-and-provenance))',
    default: 'unset',
  },
  {
    names: ['PIPELINE_FRESH_CHECK'],
    does: "`1`: check the fresh record against the engine (no run is answered from it; each run it would answer is decided in full, and a disagreement, or a path read that the engine's list lacks, fails the run with exit 1); the test suite runs with it in CI (see [Cache and provenance](cache.md#cache-and-provenance))",
    default: 'unset',
  },
  { names: ['PIPELINE_REMOTE'], does: "the remote cache's URL or folder, over `remote: url:` in pipeline.yaml", default: '`remote:` in pipeline.yaml' },
  { names: ['PIPELINE_REMOTE_USER', 'PIPELINE_REMOTE_PASSWORD'], does: 'basic auth for an HTTP remote', default: 'unset' },
  { names: ['PIPELINE_REMOTE_TOKEN'], does: 'bearer token for an HTTP remote', default: 'unset' },
  { names: ['PIPELINE_REMOTE_SIGNING_KEY'], does: 'key that signs the run records pushed and checks those pulled', default: 'unset (unsigned)' },
  { names: ['PIPELINE_REMOTE_JOBS'], does: 'transfers at once', default: '4' },
  { names: ['PIPELINE_REMOTE_RETRIES'], does: 'retries after a network error or a 5xx answer', default: '4' },
  { names: ['PIPELINE_REMOTE_CONNECT_TIMEOUT'], does: 'seconds to get a connection (HTTP, S3)', default: '5' },
  { names: ['PIPELINE_REMOTE_TIMEOUT'], does: 'seconds without a byte either way (HTTP, S3)', default: '30' },
  { names: ['PIPELINE_S3_PATH_STYLE'], does: '`1`/`0`: path-style S3 addressing on/off', default: 'on when an endpoint is set' },
  {
    names: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
    does: 'a self-hosted S3 server (the SDK reads its other variables itself: `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, …)',
    default: 'AWS',
  },
  { names: ['AWS_REGION', 'AWS_DEFAULT_REGION'], does: 'the S3 region', default: "`us-east-1` with an endpoint, else the SDK's" },
  {
    names: ['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'],
    does: 'set to `true` when unset, so the AWS SDK does not warn about Node 20',
    default: '`true`',
  },
  { names: ['NO_COLOR'], does: 'when set (non-empty), no colours', default: 'unset' },
  { names: ['CI'], does: '`true`: no live area and no colours, a `running` line per stage instead', default: 'unset' },
  { names: ['TERM'], does: '`dumb`: as `CI=true`', default: 'from the terminal' },
  { names: ['PATH'], does: "where a stage's command is looked for", default: 'from the shell' },
  { names: ['PIPELINE_STAGE'], does: 'set for each stage: its name', default: '—' },
  { names: ['PIPELINE_ATTEMPT'], does: 'set for each stage: which attempt this is, from 1 (see *Retries* in [Running stages](running.md))', default: '—' },
  { names: ['PIPELINE_PARAMS'], does: 'set for each stage: its params as JSON', default: '—' },
  {
    names: ['PIPELINE_WORKSPACE'],
    does: "set for each stage: the workspace's absolute path (also how a later run knows a stage's leftover processes)",
    default: '—',
  },
  { names: ['PIPELINE_VERDICT_FILE'], does: 'set for each stage: the file a gate may write its verdict to', default: '—' },
  { names: ['PIPELINE_CONTEXT'], does: "set for a `module:` stage's host: its context as JSON (internal)", default: '—' },
];
