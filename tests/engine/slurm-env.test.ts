// What a Slurm job of a stage gets, without a cluster: sbatch is started with the stage's environment (the base set,
// `env`, `passEnv`, the engine's variables; the runner's SBATCH_* settings), which `--export=ALL` hands to the job,
// and a stage with `passEnv` values has its job's output go through the masking filter on the node before Slurm
// writes it to the stage's log. The batch script is run here by /bin/sh as a node would run it, with the filter the
// runner names (the built host, dist/cli/host.js: `npm run build` first).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { StageConfig } from '../../runner/config/types.js';
import { maskFilterCommand, stageCommand } from '../../runner/exec/executor.js';
import { jobScript, sbatchEnvironment } from '../../runner/exec/slurm.js';

const SECRET = 'job-secret-0123456789';

function stage(over: Partial<StageConfig>): StageConfig {
  return { name: 's', kind: 'cmd', cmd: ['true'], shell: false, deps: [], needs: [], params: {}, ownParams: [], outs: [], metrics: [], env: {}, cache: true, gate: false, ...over } as StageConfig;
}

describe('slurm: the environment and the output of a stage job', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'pipeline-slurm-env-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('sbatch gets the stage environment and the runner SBATCH_* settings, never the rest of the runner environment', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { AWS_SECRET_ACCESS_KEY: 'aws', FOO_TOKEN: 'foo', SLURM_CONF: '/etc/slurm.conf', SBATCH_ACCOUNT: 'ml', PASSED: SECRET });
      const s = stage({ env: { MINE: 'x' }, passEnv: ['PASSED'] });
      const { env } = stageCommand({ stage: s, root: dir, recordsIn: dir, inputs: {}, deps: {}, outs: {}, logFile: '', verdictFile: path.join(dir, 'v'), loadErrorFile: path.join(dir, 'v.load-error'), attempt: 1, signal: new AbortController().signal });
      const sbatch = sbatchEnvironment(env);
      expect(sbatch).to.include({ MINE: 'x', PASSED: SECRET, SLURM_CONF: '/etc/slurm.conf', SBATCH_ACCOUNT: 'ml', PIPELINE_STAGE: 's', PATH: process.env.PATH });
      expect(sbatch).to.not.have.any.keys('AWS_SECRET_ACCESS_KEY', 'FOO_TOKEN');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('with passEnv values, the job output goes through the masking filter; the job exit status is the command one', () => {
    const s = stage({ cmd: [`printf 'out %s\\n' "$PASSED"; printf 'err %s\\n' "$PASSED" >&2; exit 3`], shell: true, passEnv: ['PASSED'] });
    const statusFile = path.join(dir, 's.status');
    const script = path.join(dir, 'job.sh');
    writeFileSync(script, jobScript(s, s.cmd!, statusFile, maskFilterCommand(['PASSED'])));
    // What Slurm would write to --output: the script's stdout and stderr.
    const out = execFileSync('/bin/sh', ['-c', `/bin/sh ${script} > ${path.join(dir, 'job.log')} 2>&1; echo $?`], {
      env: { PATH: process.env.PATH, PASSED: SECRET },
      encoding: 'utf8',
    });
    expect(out.trim()).to.equal('3');
    expect(readFileSync(statusFile, 'utf8')).to.equal('3\n');
    const log = readFileSync(path.join(dir, 'job.log'), 'utf8');
    expect(log.split('\n').sort()).to.deep.equal(['', 'err ***', 'out ***']);
    // Without passEnv values the script is the plain one: the command's output straight to the log.
    expect(jobScript(s, s.cmd!, statusFile)).to.not.include('--mask-output');
  });
});
