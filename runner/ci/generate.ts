// The GitHub Actions workflow that mirrors the stage DAG (written and checked by check.ts).
// A `test` job, then one job per stage whose `needs:` are exactly the stage's upstream stages (plus `test`);
// each stage job restores its upstream outs (one artifact per stage), restores the pipeline cache keyed by the
// stage's fingerprint, runs `pipeline run STAGE --single` and uploads its outs; then the extra jobs of `ci.jobs`.
// Knows nothing about what the stages compute.
import { Document } from 'yaml';
import { parseCiSettings, type CiJob, type CiSettings, type CiStep } from './settings.js';
import { Dag } from '../core/dag.js';
import { StageGraph } from '../graph/graph.js';
import { ConfigError, suggestion } from '../core/errors.js';
import type { PipelineConfig, StageConfig } from '../config/types.js';

/** Where the generated workflow lives, relative to the workspace root. */
export const WORKFLOW_PATH = '.github/workflows/pipeline.yml';
/** Per-stage manifest uploaded with the outs: it anchors every artifact at the workspace root. */
export const MANIFEST_DIR = '.pipeline-ci';

const CHECKOUT = 'actions/checkout@v4';
const SETUP_NODE = 'actions/setup-node@v4';
const CACHE = 'actions/cache@v4';
const UPLOAD = 'actions/upload-artifact@v4';
const DOWNLOAD = 'actions/download-artifact@v4';
const PIPELINE = 'npx --no-install pipeline';
const JOB_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Prints the `reason` of one stage from `pipeline run --json` output: node -e REASON_JS FILE STAGE. */
const REASON_JS =
  "const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));" +
  ' const s = (r.stages || []).find((s) => s.name === process.argv[2]);' +
  " process.stdout.write(s && s.reason ? String(s.reason) : '')";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Step = Record<string, Json>;
type Job = Record<string, Json>;

/** The artifact that carries a stage's outs from its job to the jobs after it. */
export function artifactName(stage: string): string {
  return `outs-${stage}`;
}

/** The GitHub job id of a stage: its name when that is a valid id, else a sanitized form. */
export function stageJobId(stage: string): string {
  if (JOB_ID.test(stage)) return stage;
  const id = stage.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(id) ? id : `_${id}`;
}

/** Single-quote a word for bash. */
function sh(word: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function stepOf(step: CiStep): Step {
  // Keep a stable key order whatever order the user wrote.
  const order = ['name', 'id', 'if', 'uses', 'with', 'shell', 'working-directory', 'env', 'run', 'continue-on-error', 'timeout-minutes'];
  const out: Step = {};
  for (const key of order) {
    const value = (step as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value as Json;
  }
  return out;
}

function nodeSetup(nodeVersion: string | number): Step[] {
  return [
    { uses: CHECKOUT },
    { uses: SETUP_NODE, with: { 'node-version': nodeVersion, cache: 'npm' } },
    { run: 'npm ci' },
  ];
}

const dags = new WeakMap<PipelineConfig, Dag>();
/** The stage graph of a config (built once per config). */
const stageDag = (config: PipelineConfig): Dag => dags.get(config) ?? dags.set(config, new StageGraph(config).dag).get(config)!;

/** All stages downstream of `stage`, in declaration order. */
function downstreamOf(config: PipelineConfig, stage: string): string[] {
  const after = stageDag(config).descendants([stage]);
  return config.stages.filter((s) => after.has(s.name)).map((s) => s.name);
}

function checkOuts(config: PipelineConfig, stage: StageConfig): void {
  stage.outs.forEach((out, i) => {
    if (out.includes('${{') || /[\r\n]/.test(out)) {
      throw new ConfigError(
        config.positionOf(['stages', stage.name, 'outs', i]),
        `out \`${out}\` of stage \`${stage.name}\` cannot be carried between CI jobs (it contains \`\${{\` or a line break)`,
        'rename the out',
        'ci-out-name',
      );
    }
  });
}

function stageJob(config: PipelineConfig, ci: CiSettings, stage: StageConfig): Job {
  const nodeVersion = ci['node-version'] ?? 20;
  const name = stage.gate ? `${stage.name} (quality gate)` : stage.name;
  const steps: Step[] = [...nodeSetup(nodeVersion)];

  for (const upstream of unique(stage.needs)) {
    steps.push({
      name: `Restore the outs of ${upstream}`,
      uses: DOWNLOAD,
      with: { name: artifactName(upstream), path: '.' },
    });
  }
  steps.push({
    name: 'Fingerprint',
    id: 'fingerprint',
    shell: 'bash',
    run: `fingerprint=$(${PIPELINE} fingerprint ${sh(stage.name)})\necho "fingerprint=$fingerprint" >> "$GITHUB_OUTPUT"\n`,
  });
  // With a remote cache, the stage pulls its result from it and pushes what it made; otherwise the local store
  // travels between workflow runs in one actions/cache entry per stage, keyed by its fingerprint.
  const remote = config.remote;
  if (!remote) {
    steps.push({
      name: 'Restore the pipeline cache',
      uses: CACHE,
      with: {
        path: '.pipeline/cache',
        key: `pipeline-${stage.name}-\${{ steps.fingerprint.outputs.fingerprint }}`,
        'restore-keys': `pipeline-${stage.name}-`,
      },
    });
  }
  for (const extra of ci['stage-steps']?.[stage.name] ?? []) steps.push(stepOf(extra));

  const run = `${PIPELINE} run ${sh(stage.name)} --single${remote ? ' --pull --push' : ''}`;
  const runEnv = remote ? remoteSecrets(remote.url) : undefined;
  if (stage.gate) {
    const blocked = downstreamOf(config, stage.name);
    const blockedText = blocked.length > 0 ? blocked.map((b) => `\`${b}\``).join(', ') : 'none';
    steps.push({
      name: `Run ${stage.name} (quality gate)`,
      shell: 'bash',
      ...(runEnv ? { env: runEnv } : {}),
      run: [
        'set +e',
        '# progress on stderr (the job log); the run as JSON, whose entry for the gate holds its reason',
        `${run} --json > "$RUNNER_TEMP/gate.json"`,
        'code=$?',
        `reason=$(node -e "${REASON_JS}" "$RUNNER_TEMP/gate.json" ${sh(stage.name)} 2>/dev/null)`,
        '[ -n "$reason" ] || reason="see the log of this job"',
        'if [ "$code" -eq 0 ]; then',
        `  echo "### :white_check_mark: Quality gate \\\`${stage.name}\\\` passed" >> "$GITHUB_STEP_SUMMARY"`,
        'else',
        '  {',
        `    echo "### :x: Quality gate \\\`${stage.name}\\\` failed (exit $code)"`,
        '    echo',
        '    echo "$reason"',
        '    echo',
        `    echo "Not run because of it: ${blockedText.replace(/`/g, '\\`')}"`,
        '  } >> "$GITHUB_STEP_SUMMARY"',
        `  echo "::error title=Quality gate ${stage.name} failed::$reason"`,
        'fi',
        'exit "$code"',
        '',
      ].join('\n'),
    });
  } else {
    steps.push({ name: `Run ${stage.name}`, ...(runEnv ? { env: runEnv } : {}), run });
  }

  if (stage.outs.length > 0) {
    const manifest = `${MANIFEST_DIR}/${stage.name}.txt`;
    steps.push({
      name: 'Check the outs',
      shell: 'bash',
      run: [
        `for out in ${stage.outs.map(sh).join(' ')}; do`,
        `  [ -e "$out" ] || { echo "::error title=Missing out::stage ${stage.name} did not produce $out"; exit 1; }`,
        'done',
        `mkdir -p ${MANIFEST_DIR}`,
        `{ echo "stage: ${stage.name}"; echo "fingerprint: \${{ steps.fingerprint.outputs.fingerprint }}"; printf 'out: %s\\n' ${stage.outs.map(sh).join(' ')}; } > ${manifest}`,
        '',
      ].join('\n'),
    });
    steps.push({
      name: `Upload the outs of ${stage.name}`,
      uses: UPLOAD,
      with: {
        name: artifactName(stage.name),
        // The manifest at the workspace root keeps the artifact's paths relative to the root.
        path: [manifest, ...stage.outs].join('\n') + '\n',
        'if-no-files-found': 'error',
        'include-hidden-files': true,
      },
    });
  }

  const job: Job = {
    name,
    needs: ['test', ...unique(stage.needs).map(stageJobId)],
    'runs-on': ci['runs-on'] ?? 'ubuntu-latest',
  };
  if (ci.env && Object.keys(ci.env).length > 0) job.env = ci.env;
  job.steps = steps;
  return job;
}

/** The credentials a remote needs, from the repository's secrets (a secret that is not set is an empty string). */
export function remoteSecrets(url: string): Record<string, string> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  const names = scheme === 's3' ? ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] : scheme === 'http' || scheme === 'https' ? ['PIPELINE_REMOTE_TOKEN'] : [];
  names.push('PIPELINE_REMOTE_SIGNING_KEY');
  return Object.fromEntries(names.map((n) => [n, `\${{ secrets.${n} }}`]));
}

function extraJob(ci: CiSettings, id: string, spec: CiJob, ids: Map<string, string>): Job {
  const steps: Step[] = [];
  const setup = spec.setup ?? 'checkout';
  if (setup === 'node') steps.push(...nodeSetup(ci['node-version'] ?? 20));
  else if (setup === 'checkout') steps.push({ uses: CHECKOUT });
  for (const stage of spec.artifacts ?? []) {
    steps.push({ name: `Restore the outs of ${stage}`, uses: DOWNLOAD, with: { name: artifactName(stage), path: '.' } });
  }
  steps.push(...spec.steps.map(stepOf));
  const job: Job = {};
  if (spec.name !== undefined) job.name = spec.name;
  job.needs = (spec.needs ?? []).map((n) => ids.get(n) ?? n);
  job['runs-on'] = spec['runs-on'] ?? ci['runs-on'] ?? 'ubuntu-latest';
  if (spec.if !== undefined) job.if = spec.if;
  if (spec['timeout-minutes'] !== undefined) job['timeout-minutes'] = spec['timeout-minutes'];
  const env = { ...(ci.env ?? {}), ...(spec.env ?? {}) };
  if (Object.keys(env).length > 0) job.env = env;
  job.steps = steps;
  return job;
}

/** Check ids, `needs` and `artifacts` of the extra jobs; returns name → job id for every job. */
function checkJobs(config: PipelineConfig, ci: CiSettings): Map<string, string> {
  const ids = new Map<string, string>([['test', 'test']]);
  const owner = new Map<string, string>([['test', 'the test job']]);
  for (const stage of config.stages) {
    const id = stageJobId(stage.name);
    if (owner.has(id)) {
      throw new ConfigError(
        stage.pos,
        `stage \`${stage.name}\` would get the CI job id \`${id}\`, which ${owner.get(id)} already has`,
        'rename the stage',
        'ci-job-id',
      );
    }
    ids.set(stage.name, id);
    owner.set(id, `stage \`${stage.name}\``);
  }
  const jobs = ci.jobs ?? {};
  for (const id of Object.keys(jobs)) {
    if (!JOB_ID.test(id)) {
      throw new ConfigError(
        config.positionOf(['ci', 'jobs', id]),
        `CI job id \`${id}\` is not valid`,
        'a job id starts with a letter or `_` and holds only letters, digits, `_` and `-`',
        'ci-job-id',
      );
    }
    if (owner.has(id)) {
      throw new ConfigError(
        config.positionOf(['ci', 'jobs', id]),
        `CI job \`${id}\` clashes with ${owner.get(id)}`,
        'pick another job id',
        'ci-job-id',
      );
    }
    owner.set(id, `the job \`${id}\` of ci.jobs`);
  }
  const known = [...ids.keys(), ...Object.keys(jobs)];
  for (const [id, spec] of Object.entries(jobs)) {
    (spec.needs ?? []).forEach((need, i) => {
      if (!known.includes(need) || need === id) {
        throw new ConfigError(
          config.positionOf(['ci', 'jobs', id, 'needs', i]),
          need === id ? `CI job \`${id}\` needs itself` : `CI job \`${id}\` needs unknown job or stage \`${need}\`${suggestion(need, known)}`,
          'list stage names, `test`, or other jobs of ci.jobs',
          'unknown-need',
        );
      }
    });
  }
  // Cycles among the extra jobs, and artifacts that are not upstream.
  const jobIds = Object.keys(jobs);
  const jobDag = new Dag(jobIds, (id) => jobs[id]?.needs ?? []);
  const cycle = jobDag.findCycle();
  if (cycle) {
    const closing = cycle[cycle.length - 1];
    throw new ConfigError(
      config.positionOf(['ci', 'jobs', closing, 'needs']),
      `CI jobs form a cycle: ${[...cycle, cycle[0]].join(' → ')}`,
      'remove one of these needs',
      'cycle',
    );
  }
  /** Every job and stage that job `id` comes after. */
  const upstream = (id: string): Set<string> => {
    const out = new Set<string>();
    for (const job of [id, ...jobDag.ancestors([id])])
      for (const need of jobs[job]?.needs ?? []) {
        out.add(need);
        if (!jobs[need]) for (const u of stageDag(config).ancestors([need])) out.add(u);
      }
    return out;
  };
  for (const [id, spec] of Object.entries(jobs)) {
    const before = upstream(id);
    (spec.artifacts ?? []).forEach((stage, i) => {
      const where = config.positionOf(['ci', 'jobs', id, 'artifacts', i]);
      if (!config.stages.some((s) => s.name === stage)) {
        throw new ConfigError(
          where,
          `CI job \`${id}\` downloads the outs of unknown stage \`${stage}\`${suggestion(stage, config.stages.map((s) => s.name))}`,
          `stages: ${config.stages.map((s) => s.name).join(', ')}`,
          'unknown-stage',
        );
      }
      if (!before.has(stage)) {
        throw new ConfigError(
          where,
          `CI job \`${id}\` downloads the outs of \`${stage}\`, which is not upstream of it`,
          `add \`${stage}\` (or a stage after it) to \`ci.jobs.${id}.needs\``,
          'ci-artifact',
        );
      }
      if (config.stages.find((s) => s.name === stage)?.outs.length === 0) {
        throw new ConfigError(where, `stage \`${stage}\` has no outs to download`, 'remove it from artifacts', 'ci-artifact');
      }
    });
  }
  return ids;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** The workflow YAML for a config: deterministic (same config → same bytes). Throws ConfigError on a bad `ci:`. */
export function generateWorkflow(config: PipelineConfig): string {
  const ci = parseCiSettings(config);
  const ids = checkJobs(config, ci);
  for (const stage of config.stages) checkOuts(config, stage);
  const nodeVersion = ci['node-version'] ?? 20;
  const runsOn = ci['runs-on'] ?? 'ubuntu-latest';

  const testJob: Job = { 'runs-on': runsOn };
  const testEnv = { ...(ci.env ?? {}), ...(ci.test?.env ?? {}) };
  if (Object.keys(testEnv).length > 0) testJob.env = testEnv;
  testJob.steps = [
    ...nodeSetup(nodeVersion),
    ...(ci.test?.steps ?? []).map(stepOf),
    { run: ci.test?.command ?? 'npm test' },
    ...(ci.test?.['after-steps'] ?? []).map((step) => ({ if: 'always()', ...(stepOf(step) as Record<string, Json>) })),
  ];

  const jobs: Record<string, Json> = { test: testJob };
  for (const stage of config.stages) jobs[stageJobId(stage.name)] = stageJob(config, ci, stage);
  for (const [id, spec] of Object.entries(ci.jobs ?? {})) jobs[id] = extraJob(ci, id, spec, ids);

  const workflow: Record<string, Json> = {
    name: ci.name ?? 'pipeline',
    on: (ci.on as Record<string, Json> | undefined) ?? {
      push: { branches: ['main'] },
      pull_request: null,
      workflow_dispatch: null,
    },
    permissions: { contents: 'read' },
    concurrency: { group: '${{ github.workflow }}-${{ github.ref }}', 'cancel-in-progress': true },
    jobs,
  };
  const doc = new Document(workflow, { aliasDuplicateObjects: false });
  doc.commentBefore =
    ' Generated from pipeline.yaml by `npx pipeline ci generate`; do not edit by hand.\n' +
    ' `npx pipeline ci check` fails when this file differs from what pipeline.yaml generates.';
  return doc.toString({ lineWidth: 0, minContentWidth: 0, nullStr: '' });
}
