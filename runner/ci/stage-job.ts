// One stage's job: restore its upstream outs (one artifact per stage), fingerprint it, restore the pipeline cache
// keyed by the fingerprint (or go through the `remote:` cache, remote-cache.ts), run `pipeline run STAGE --single`,
// check and upload its outs. A gate's failure writes its reason to the run summary.
import type { PipelineConfig, StageConfig } from '../config/types.js';
import { remoteRunSteps, runCommand, type RunStepMaker } from './remote-cache.js';
import { perStage, type CiSettings } from './settings.js';
import { artifactName, CACHE, DOWNLOAD, MANIFEST_DIR, nodeSetup, PIPELINE, sh, stageJobId, stepOf, unique, UPLOAD, type Job, type Step } from './steps.js';

/** GitHub cancels a stage job after this many minutes unless `ci:` says otherwise. */
export const DEFAULT_TIMEOUT_MINUTES = 60;
/** Minutes a job needs besides its stage (checkout, npm ci, artifacts): added to a stage's own `timeout:`. */
export const SETUP_MINUTES = 10;

/** Prints the `reason` of one stage from `pipeline run --json` output: node -e REASON_JS FILE STAGE. */
const REASON_JS =
  "const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));" +
  ' const s = (r.stages || []).find((s) => s.name === process.argv[2]);' +
  " process.stdout.write(s && s.reason ? String(s.reason) : '')";

/**
 * A stage job's `timeout-minutes`: `ci.stage-timeout-minutes.STAGE` (or its template's), else `ci.timeout-minutes` (default 60) raised to
 * the stage's own `timeout:` plus the setup's minutes, so GitHub never cancels a stage its own limit would let run.
 */
export function stageTimeoutMinutes(ci: CiSettings, stage: StageConfig): number {
  const own = perStage(ci['stage-timeout-minutes'], stage);
  if (own !== undefined) return own;
  const base = ci['timeout-minutes'] ?? DEFAULT_TIMEOUT_MINUTES;
  return stage.timeoutMs === undefined ? base : Math.max(base, Math.ceil(stage.timeoutMs / 60_000) + SETUP_MINUTES);
}

export function stageJob(config: PipelineConfig, ci: CiSettings, stage: StageConfig, downstream: string[]): Job {
  const steps: Step[] = [...nodeSetup(ci['node-version'] ?? 20)];
  for (const upstream of unique(stage.needs))
    steps.push({ name: `Restore the outs of ${upstream}`, uses: DOWNLOAD, with: { name: artifactName(upstream), path: '.' } });
  steps.push({
    name: 'Fingerprint',
    id: 'fingerprint',
    shell: 'bash',
    run: `fingerprint=$(${PIPELINE} fingerprint ${sh(stage.name)})\necho "fingerprint=$fingerprint" >> "$GITHUB_OUTPUT"\n`,
  });
  // With a remote cache, the stage pulls its result from it and pushes what it made; otherwise the local store
  // travels between workflow runs in one actions/cache entry per stage, keyed by its fingerprint.
  if (!config.remote) steps.push(cacheStep(stage));
  for (const extra of perStage(ci['stage-steps'], stage) ?? []) steps.push(stepOf(extra));
  const makeRun: RunStepMaker = (flags, prelude, label) => runStep(stage, downstream, runCommand(stage, flags), prelude, label);
  if (config.remote) steps.push(...remoteRunSteps({ ...config, remote: config.remote }, ci, stage, makeRun));
  else steps.push(makeRun('', [], undefined));
  steps.push(...outsSteps(stage));

  const job: Job = {
    name: stage.gate ? `${stage.name} (quality gate)` : stage.name,
    needs: ['test', ...unique(stage.needs).map(stageJobId)],
    'runs-on': ci['runs-on'] ?? 'ubuntu-latest',
    'timeout-minutes': stageTimeoutMinutes(ci, stage),
  };
  if (ci.env && Object.keys(ci.env).length > 0) job.env = ci.env;
  job.steps = steps;
  return job;
}

function cacheStep(stage: StageConfig): Step {
  return {
    name: 'Restore the pipeline cache',
    uses: CACHE,
    with: {
      path: '.pipeline/cache',
      key: `pipeline-${stage.name}-\${{ steps.fingerprint.outputs.fingerprint }}`,
      'restore-keys': `pipeline-${stage.name}-`,
    },
  };
}

/**
 * The step that runs the stage: `command`, after the `prelude` lines; a gate also reports its verdict. `label` says
 * in the step's name what sets it apart (`Run fit (pull request: no push)`).
 */
function runStep(stage: StageConfig, downstream: string[], command: string, prelude: string[], label: string | undefined): Step {
  const labels = [stage.gate ? 'quality gate' : undefined, label].filter((l) => l !== undefined);
  const name = `Run ${stage.name}${labels.length > 0 ? ` (${labels.join(', ')})` : ''}`;
  if (!stage.gate) return { name, run: prelude.length === 0 ? command : [...prelude, command, ''].join('\n') };
  const blockedText = downstream.length > 0 ? downstream.map((b) => `\`${b}\``).join(', ') : 'none';
  return {
    name,
    shell: 'bash',
    run: [
      ...prelude,
      'set +e',
      '# progress on stderr (the job log); the run as JSON, whose entry for the gate holds its reason',
      `${command} --json > "$RUNNER_TEMP/gate.json"`,
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
  };
}

/** Every out must exist; they travel, with a manifest rooting them at the workspace, as the stage's artifact. */
function outsSteps(stage: StageConfig): Step[] {
  if (stage.outs.length === 0) return [];
  const manifest = `${MANIFEST_DIR}/${stage.name}.txt`;
  return [
    {
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
    },
    {
      name: `Upload the outs of ${stage.name}`,
      uses: UPLOAD,
      with: {
        name: artifactName(stage.name),
        // The manifest at the workspace root keeps the artifact's paths relative to the root.
        path: [manifest, ...stage.outs].join('\n') + '\n',
        'if-no-files-found': 'error',
        'include-hidden-files': true,
      },
    },
  ];
}
