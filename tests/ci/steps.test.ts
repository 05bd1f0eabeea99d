// The shell steps of the generated workflow, run for real with bash the way GitHub Actions runs `shell: bash`
// (`bash --noprofile --norc -eo pipefail FILE`), against a stand-in `npx` that plays `pipeline`.
import { expect } from 'chai';
import { execa } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { generateWorkflow } from '../../runner/ci/generate.js';
import { configFromYaml } from './build-config.js';

interface Step {
  name?: string;
  id?: string;
  run?: string;
}

const YAML = `version: 1
stages:
  load: {cmd: make load, outs: [build/data/test.bin, build/data/summary.json]}
  train: {cmd: make train, needs: [load], outs: [build/model/model.json]}
  gate: {cmd: make gate, needs: [train], gate: true, outs: [build/gate/metrics.json]}
  quantize-8: {cmd: make q8, needs: [gate], outs: [build/quant/q8]}
  predict: {cmd: make predict, needs: [quantize-8], outs: [build/predict]}
`;

const FAKE_NPX = `#!/bin/sh
# Plays \`npx --no-install pipeline ...\` for the workflow steps.
[ "$1" = --no-install ] && [ "$2" = pipeline ] || { echo "unexpected npx call: $*" >&2; exit 99; }
shift 2
echo "$*" >> "$FAKE_CALLS"
case "$1" in
  fingerprint) [ -n "$FAKE_FINGERPRINT" ] || { echo "fingerprint failed" >&2; exit 2; }; echo "$FAKE_FINGERPRINT" ;;
  run)
    printf 'running %s\n' "$2" >&2
    printf '%b' "$FAKE_STDERR" >&2
    case " $* " in
      *" --json "*) [ -n "$FAKE_JSON" ] && printf '%s' "$FAKE_JSON" ;;
      *) echo "ran $2" ;;
    esac
    exit "\${FAKE_EXIT:-0}" ;;
esac
`;

describe('ci workflow: the generated shell steps, run with bash', () => {
  const steps: Record<string, Step[]> = {};
  let dir: string;
  let workspace: string;

  before(() => {
    const wf = parse(generateWorkflow(configFromYaml(YAML))) as { jobs: Record<string, { steps: Step[] }> };
    for (const [id, job] of Object.entries(wf.jobs)) steps[id] = job.steps;
  });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-ci-steps-'));
    workspace = path.join(dir, 'ws');
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    mkdirSync(workspace);
    writeFileSync(path.join(dir, 'bin', 'npx'), FAKE_NPX);
    chmodSync(path.join(dir, 'bin', 'npx'), 0o755);
    for (const f of ['output', 'summary', 'calls']) writeFileSync(path.join(dir, f), '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Run one step as GitHub does, after substituting the `${{ ... }}` expressions it uses. */
  async function runStep(step: Step, env: Record<string, string> = {}, outputs: Record<string, string> = {}) {
    let script = step.run ?? '';
    script = script.replace(/\$\{\{ steps\.fingerprint\.outputs\.fingerprint \}\}/g, outputs.fingerprint ?? '');
    expect(script).not.to.contain('${{');
    const file = path.join(dir, 'step.sh');
    writeFileSync(file, script);
    return execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
      cwd: workspace,
      reject: false,
      env: {
        PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`,
        GITHUB_OUTPUT: path.join(dir, 'output'),
        GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
        RUNNER_TEMP: dir,
        FAKE_CALLS: path.join(dir, 'calls'),
        ...env,
      },
    });
  }

  const find = (job: string, pred: (s: Step) => boolean): Step => {
    const step = steps[job].find(pred);
    expect(step, `a step in ${job}`).to.not.equal(undefined);
    return step as Step;
  };
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');

  it('the fingerprint step writes the fingerprint to $GITHUB_OUTPUT', async () => {
    const r = await runStep(find('train', (s) => s.id === 'fingerprint'), { FAKE_FINGERPRINT: 'ab12cd' });
    expect(r.exitCode).to.equal(0);
    expect(read('output')).to.equal('fingerprint=ab12cd\n');
    expect(read('calls')).to.equal('fingerprint train\n');
  });

  it('the fingerprint step fails the job when `pipeline fingerprint` fails', async () => {
    const r = await runStep(find('train', (s) => s.id === 'fingerprint'), { FAKE_FINGERPRINT: '' });
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.contain('fingerprint failed');
    expect(read('output')).to.equal('');
  });

  const verdict = (status: string, reason: string) =>
    JSON.stringify({
      ok: false,
      exitCode: 3,
      stages: [
        { name: 'train', status: 'skipped', reason: 'not selected' },
        { name: 'gate', status, reason },
      ],
    });

  it('a failing gate exits with its code, writes the reason to the step summary and an error annotation', async () => {
    const step = find('gate', (s) => s.name === 'Run gate (quality gate)');
    const r = await runStep(step, {
      FAKE_EXIT: '3',
      FAKE_STDERR: 'gate failed  R² 0.5758 ≤ r2_min 0.99\\n',
      FAKE_JSON: verdict('failed', 'R² 0.5758 ≤ r2_min 0.99'),
    });
    expect(r.exitCode).to.equal(3);
    expect(read('calls')).to.equal('run gate --single --json\n');
    expect(r.stdout).to.equal('::error title=Quality gate gate failed::R² 0.5758 ≤ r2_min 0.99');
    expect(r.stderr).to.equal('running gate\ngate failed  R² 0.5758 ≤ r2_min 0.99');
    expect(read('summary')).to.equal(
      '### :x: Quality gate `gate` failed (exit 3)\n\nR² 0.5758 ≤ r2_min 0.99\n\nNot run because of it: `quantize-8`, `predict`\n',
    );
  });

  it('a gate that fails without a verdict (no JSON) still fails visibly and points at the log', async () => {
    const step = find('gate', (s) => s.name === 'Run gate (quality gate)');
    const r = await runStep(step, { FAKE_EXIT: '2', FAKE_STDERR: 'pipeline.yaml:3:4: bad\\n', FAKE_JSON: '' });
    expect(r.exitCode).to.equal(2);
    expect(r.stdout).to.equal('::error title=Quality gate gate failed::see the log of this job');
    expect(read('summary')).to.contain('### :x: Quality gate `gate` failed (exit 2)\n\nsee the log of this job\n');
  });

  it('a passing gate exits 0 and says so in the step summary', async () => {
    const r = await runStep(find('gate', (s) => s.name === 'Run gate (quality gate)'), {
      FAKE_EXIT: '0',
      FAKE_STDERR: '',
      FAKE_JSON: verdict('ran', 'never run'),
    });
    expect(r.exitCode).to.equal(0);
    expect(read('summary')).to.equal('### :white_check_mark: Quality gate `gate` passed\n');
  });

  it('the outs check writes the manifest that anchors the artifact at the workspace root', async () => {
    mkdirSync(path.join(workspace, 'build/data'), { recursive: true });
    writeFileSync(path.join(workspace, 'build/data/test.bin'), 'x');
    writeFileSync(path.join(workspace, 'build/data/summary.json'), '{}');
    const r = await runStep(find('load', (s) => s.name === 'Check the outs'), {}, { fingerprint: 'f00d' });
    expect(r.exitCode).to.equal(0);
    expect(readFileSync(path.join(workspace, '.pipeline-ci/load.txt'), 'utf8')).to.equal(
      'stage: load\nfingerprint: f00d\nout: build/data/test.bin\nout: build/data/summary.json\n',
    );
  });

  it('the outs check fails the job with an annotation when a declared out is missing', async () => {
    mkdirSync(path.join(workspace, 'build/data'), { recursive: true });
    writeFileSync(path.join(workspace, 'build/data/test.bin'), 'x');
    const r = await runStep(find('load', (s) => s.name === 'Check the outs'), {}, { fingerprint: 'f00d' });
    expect(r.exitCode).to.equal(1);
    expect(r.stdout).to.equal('::error title=Missing out::stage load did not produce build/data/summary.json');
  });

  it('a plain stage step runs the stage alone and passes its exit code through', async () => {
    const step = find('quantize-8', (s) => s.name === 'Run quantize-8');
    const ok = await runStep(step, { FAKE_EXIT: '0' });
    expect(ok.exitCode).to.equal(0);
    const failed = await runStep(step, { FAKE_EXIT: '1', FAKE_STDERR: 'boom\\n' });
    expect(failed.exitCode).to.equal(1);
    expect(ok.stdout).to.equal('ran quantize-8');
    expect(read('calls')).to.equal('run quantize-8 --single\nrun quantize-8 --single\n');
  });
});
