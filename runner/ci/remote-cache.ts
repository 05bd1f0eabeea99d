// Stage jobs with a `remote:` cache. Who may write to it decides everything here:
//   - push, dispatch and schedule events pull and push (`--pull --push`) with the remote's credentials and the
//     signing key from the repository's secrets; a step before the run fails the job, naming what is missing, when a
//     credential, the signing key (unless `ci.remote.signed: false`) or an S3 region is not set, rather than letting
//     the run go on without the cache;
//   - pull_request events (pull_request_target included) never push (`--no-push`, whatever `remote.push` says) and
//     get no write secret: the credentials come from read-only secrets (`<NAME>_READONLY`) when they exist; without
//     them (a pull request from a fork gets no secrets) the stage runs without the remote cache, with a warning in the
//     job's log and summary.
// `ci.remote.credentials: false` maps no credential at all (a step of `ci.stage-steps` provides them, e.g. through
// OIDC, or the remote takes none).
import type { PipelineConfig, StageConfig } from '../config/types.js';
import type { CiSettings } from './settings.js';
import { ordered, PIPELINE, sh, type Step } from './steps.js';

type RemoteScheme = 's3' | 'http' | 'folder';

/** The variables holding a credential or the signing key of a remote: never in `ci.env`, which every job gets. */
export const WRITE_SECRET_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'PIPELINE_REMOTE_TOKEN',
  'PIPELINE_REMOTE_PASSWORD',
  'PIPELINE_REMOTE_SIGNING_KEY',
];

const PULL_REQUEST = "startsWith(github.event_name, 'pull_request')";
/** `if:` of the steps that run on pull requests, and of those that run on every other event. */
export const ON_PULL_REQUEST = `\${{ ${PULL_REQUEST} }}`;
export const NOT_ON_PULL_REQUEST = `\${{ !${PULL_REQUEST} }}`;

function schemeOf(url: string): RemoteScheme {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  return scheme === 's3' ? 's3' : scheme === 'http' || scheme === 'https' ? 'http' : 'folder';
}

/** The credentials a remote reads from the environment (a folder takes none). */
function credentialVars(scheme: RemoteScheme): string[] {
  return scheme === 's3' ? ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] : scheme === 'http' ? ['PIPELINE_REMOTE_TOKEN'] : [];
}

const secret = (name: string): string => `\${{ secrets.${name} }}`;

/** The credentials and signing key a stage job that pushes gets, from the repository's secrets. */
export function remoteSecrets(url: string, ci: CiSettings = {}): Record<string, string> {
  const names = ci.remote?.credentials === false ? [] : credentialVars(schemeOf(url));
  return Object.fromEntries([...names, 'PIPELINE_REMOTE_SIGNING_KEY'].map((n) => [n, secret(n)]));
}

/** Bash lines that add a problem to `problems` unless a condition holds. */
function requirement(test: string, problem: string): string {
  return `${test} || problems+=(${sh(problem)})`;
}

/** The step that fails a job about to push when what the remote needs is missing; undefined when nothing is. */
function checkStep(url: string, ci: CiSettings, env: Record<string, string>): Step | undefined {
  const scheme = schemeOf(url);
  const lines: string[] = [];
  const creds = ci.remote?.credentials === false ? [] : credentialVars(scheme);
  if (creds.length > 0)
    lines.push(
      requirement(
        creds.map((n) => `[ -n "$${n}" ]`).join(' && '),
        `the repository secret${creds.length > 1 ? 's' : ''} ${creds.join(' and ')} ${creds.length > 1 ? 'are' : 'is'} not set: ` +
          'add them under Settings > Secrets and variables > Actions, or set `ci.remote.credentials: false` in pipeline.yaml when a step provides them',
      ),
    );
  if (scheme === 's3')
    lines.push(
      requirement(
        '[ -n "${AWS_REGION:-}${AWS_DEFAULT_REGION:-}${AWS_ENDPOINT_URL:-}${AWS_ENDPOINT_URL_S3:-}" ]',
        'no AWS region: set AWS_REGION in `ci.env` of pipeline.yaml (a region such as eu-west-1, or a repository variable), or AWS_ENDPOINT_URL for a self-hosted server',
      ),
    );
  if (ci.remote?.signed !== false)
    lines.push(
      requirement(
        '[ -n "$PIPELINE_REMOTE_SIGNING_KEY" ]',
        'the repository secret PIPELINE_REMOTE_SIGNING_KEY is not set, so the records this job pushes would be unsigned: ' +
          'add it, or set `ci.remote.signed: false` in pipeline.yaml to push unsigned records',
      ),
    );
  if (lines.length === 0) return undefined;
  return {
    name: 'Check the remote cache settings',
    if: NOT_ON_PULL_REQUEST,
    shell: 'bash',
    env,
    run: [
      'problems=()',
      ...lines,
      '[ "${#problems[@]}" -eq 0 ] && exit 0',
      'echo "### :x: The remote cache is not configured for this job" >> "$GITHUB_STEP_SUMMARY"',
      'for p in "${problems[@]}"; do',
      '  echo "::error title=Remote cache not configured::$p"',
      '  echo "- $p" >> "$GITHUB_STEP_SUMMARY"',
      'done',
      'exit 1',
      '',
    ].join('\n'),
  };
}

/**
 * Makes the step that runs a stage: `flags` go after `pipeline run STAGE --single`, `prelude` are bash lines before
 * it, `label` sets the step apart in its name. `if:` and `env:` are set here.
 */
export type RunStepMaker = (flags: string, prelude: string[], label: string | undefined) => Step;

/** The steps that run a stage through the remote cache: check and run on push-like events, run on pull requests. */
export function remoteRunSteps(config: PipelineConfig & { remote: NonNullable<PipelineConfig['remote']> }, ci: CiSettings, stage: StageConfig, makeRun: RunStepMaker): Step[] {
  const url = config.remote.url;
  const env = remoteSecrets(url, ci);
  const steps: Step[] = [];
  const check = checkStep(url, ci, env);
  if (check) steps.push(check);
  steps.push(withIf(makeRun('--pull --push', [], undefined), NOT_ON_PULL_REQUEST, env));
  steps.push(pullRequestRun(url, ci, stage, makeRun));
  return steps;
}

/** The step with its condition and environment. */
function withIf(step: Step, condition: string, env: Record<string, string>): Step {
  return ordered({ ...step, if: condition, ...(Object.keys(env).length > 0 ? { env } : {}) });
}

/** A pull request's run: read-only credentials when there are some, never a push, never the signing key. */
function pullRequestRun(url: string, ci: CiSettings, stage: StageConfig, makeRun: RunStepMaker): Step {
  const creds = ci.remote?.credentials === false ? [] : credentialVars(schemeOf(url));
  const label = 'pull request: no push';
  if (creds.length === 0) return withIf(makeRun('--pull --no-push', [], label), ON_PULL_REQUEST, {});
  const readOnly = Object.fromEntries(creds.map((n) => [n, secret(`${n}_READONLY`)]));
  const warning =
    `no read-only secret${creds.length > 1 ? 's' : ''} ${creds.map((n) => `${n}_READONLY`).join(' and ')} ` +
    `(a pull request from a fork gets no secrets): ${stage.name} runs without the remote cache`;
  const prelude = [
    'pull=--pull',
    `if ! { ${creds.map((n) => `[ -n "$${n}" ]`).join(' && ')}; }; then`,
    '  pull=--no-pull',
    `  echo ${sh(`::warning title=Remote cache not used::${warning}`)}`,
    `  echo ${sh(`:warning: ${warning}`)} >> "$GITHUB_STEP_SUMMARY"`,
    'fi',
  ];
  const step = makeRun('"$pull" --no-push', prelude, label);
  return withIf({ ...step, shell: 'bash' }, ON_PULL_REQUEST, readOnly);
}

/** `pipeline run STAGE --single` and its flags. */
export function runCommand(stage: StageConfig, flags: string): string {
  return `${PIPELINE} run ${sh(stage.name)} --single${flags ? ` ${flags}` : ''}`;
}
