// `executor:` and a stage's `resources:` (read by the Slurm executor): parsed into the config, every mistake a
// diagnostic at its place, and mapped to sbatch flags.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../runner/config/load.js';
import { ConfigError } from '../../runner/core/errors.js';
import type { Diagnostic } from '../../runner/core/diagnostic.js';
import { jobScript, sbatchFlags, slurmTime } from '../../runner/exec/slurm.js';

let file: string;
let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipeline-resources-'));
  file = path.join(dir, 'pipeline.yaml');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function errors(text: string): Diagnostic[] {
  try {
    parseConfigText(text, file);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).diagnostics;
  }
  return [];
}

describe('config: executor and resources', () => {
  it('parses `executor:` and every resource key; resources leave the fingerprint definition alone', () => {
    const config = parseConfigText(
      'version: 1\nexecutor: slurm\nstages:\n  a:\n    cmd: x\n    timeout: 2m\n    resources: {cpus: 4, memory: 8G, time: 1h, partition: batch, sbatch: [--qos=low]}\n  b: {cmd: y, resources: {memory: 512}}\n',
      file,
    );
    expect(config.executor).to.equal('slurm');
    expect(config.stages[0].resources).to.deep.equal({ cpus: 4, memory: ['8G'], timeMs: 3_600_000, partition: 'batch', sbatch: ['--qos=low'] });
    expect(config.stages[1].resources).to.deep.equal({ memory: ['512'], sbatch: [] });
    expect(parseConfigText('version: 1\nstages:\n  a: {cmd: x}\n', file).executor).to.equal(undefined);
  });

  it('an unknown resource key is an error at its place, naming the keys there are', () => {
    const text = 'version: 1\nstages:\n  a:\n    cmd: x\n    resources: {cpus: 2, gpus: 1}\n';
    const [d, ...rest] = errors(text);
    expect(rest).to.deep.equal([]);
    expect(d.code).to.equal('unknown-key');
    expect([d.line, d.col]).to.deep.equal([5, 26]);
    expect(d.message).to.equal('stage `a`: unknown key `gpus` in `resources` (did you mean `cpus`?)');
    expect(d.hint).to.include('cpus, memory, time, partition, sbatch').and.include('sbatch: [--option=value]');
  });

  it('wrong resource values and an unknown executor are errors at their places', () => {
    const text = 'version: 1\nexecutor: kubernetes\nstages:\n  a: {cmd: x, resources: {cpus: 0, memory: 4GB, time: soon}}\n';
    const ds = errors(text);
    expect(ds.map((d) => [d.code, d.line, d.message.split(';')[0]])).to.deep.equal([
      ['invalid-value', 2, '`executor` must be `local` (child processes on this machine) or `slurm` (one Slurm batch job per stage that runs)'],
      ['invalid-value', 4, 'stage `a`: `resources.cpus` must be a whole number > 0 (CPUs per job, `--cpus-per-task`)'],
      ['invalid-value', 4, 'stage `a`: `resources.memory` must be megabytes (a whole number) or a size like `512M`, `4G` (`--mem`), or a list of them, one per attempt of a stage with `retries` (the last repeats)'],
      ['invalid-value', 4, 'stage `a`: `resources.time` must be seconds (a number > 0) or a duration like `30s`, `10m`, `1h` (`--time`)'],
    ]);
  });

  it('a memory list: one value per attempt, each checked at its place; sbatch gets the attempt\'s value, the last repeating', () => {
    const config = parseConfigText('version: 1\nstages:\n  a:\n    cmd: x\n    retries: 3\n    resources: {memory: [2G, 4096, 8G]}\n', file);
    const stage = config.stages[0];
    expect(stage.resources).to.deep.equal({ memory: ['2G', '4096', '8G'], sbatch: [] });
    const mem = (attempt?: number) => sbatchFlags(stage, { root: '/ws', logFile: '/ws/a.log', attempt }).filter((f) => f.startsWith('--mem'));
    expect([mem(), mem(1), mem(2), mem(3), mem(4)]).to.deep.equal([['--mem=2G'], ['--mem=2G'], ['--mem=4096'], ['--mem=8G'], ['--mem=8G']]);
    // The first bad value, at its place.
    const bad = errors('version: 1\nstages:\n  a:\n    cmd: x\n    retries: 3\n    resources: {memory: [2G, 4GB, 0, []]}\n');
    expect(bad.map((d) => [d.code, d.line, d.col, d.message.split('; ')[1]])).to.deep.equal([['wrong-type', 6, 30, 'got the string "4GB"']]);
    expect(bad[0].hint).to.equal('e.g. `resources: {memory: 8G}`, or one value per attempt of a stage with `retries`: `resources: {memory: [2G, 4G, 8G]}`');
    const empty = errors('version: 1\nstages:\n  a:\n    cmd: x\n    resources: {memory: []}\n');
    expect(empty.map((d) => [d.code, d.line, d.col])).to.deep.equal([['invalid-value', 5, 25]]);
  });

  it('maps resources and the timeout to sbatch flags, and writes a job script that records the exit status', () => {
    const config = parseConfigText('version: 1\nstages:\n  a:\n    cmd: "echo \'hi\' | tr a-z A-Z"\n    shell: true\n    timeout: 90\n    resources: {cpus: 2, memory: 1G, partition: p, sbatch: [--qos=low]}\n', file);
    const stage = config.stages[0];
    expect(sbatchFlags(stage, { root: '/ws', logFile: '/ws/.pipeline/logs/a.log' })).to.deep.equal([
      '--job-name=pipeline-a',
      '--output=/ws/.pipeline/logs/a.log',
      '--open-mode=truncate',
      '--chdir=/ws',
      '--export=ALL',
      '--cpus-per-task=2',
      '--mem=1G',
      '--time=1:30',
      '--partition=p',
      '--qos=low',
    ]);
    expect(slurmTime(500)).to.equal('0:01');
    expect(slurmTime(3_600_000)).to.equal('60:00');
    const script = jobScript(stage, stage.cmd!, '/ws/.pipeline/tmp/a.status');
    expect(script).to.include(`/bin/sh -c 'echo '\\''hi'\\'' | tr a-z A-Z' </dev/null`);
    expect(script).to.include(`mv -f '/ws/.pipeline/tmp/a.status.tmp' '/ws/.pipeline/tmp/a.status'`);
  });
});
