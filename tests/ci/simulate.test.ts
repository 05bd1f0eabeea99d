// The generated workflow of the housing pipeline, run job by job on this machine (see simulate.ts): every stage in its
// own fresh checkout with only its upstream artifacts, the real `pipeline fingerprint` and `pipeline run STAGE
// --single`, the real data. The split run must give the same outs as one `pipeline run`; a second workflow run must
// restore every stage from the fingerprint-keyed cache; a failing gate must stop the jobs after it, visibly.
import { expect } from 'chai';
import { execa } from 'execa';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { generateWorkflow } from '../../runner/ci/generate.js';
import { parseConfigText } from '../../runner/config/load.js';
import { repoRoot } from './build-config.js';
import { WorkflowSimulator, type Runner } from './simulate.js';

const dataFile = path.resolve(repoRoot, '../shared/data/cal_housing.data');
const STAGES = ['load', 'train', 'gate', 'quantize-8', 'quantize-16', 'compare', 'predict'];

/** A checkout of the repository whose pipeline.yaml reads the local data file (CI downloads the archive instead). */
async function prepareCheckout(dir: string, edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<string> {
  const files = (await execa('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot })).stdout.split('\0');
  for (const f of files.filter((f) => f !== '' && existsSync(path.join(repoRoot, f)))) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    cpSync(path.join(repoRoot, f), path.join(dir, f));
  }
  const doc = parseDocument(readFileSync(path.join(dir, 'pipeline.yaml'), 'utf8'));
  doc.setIn(['stages', 'load', 'params', 'source'], dataFile);
  edit(doc);
  writeFileSync(path.join(dir, 'pipeline.yaml'), doc.toString());
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  const tsc = await execa(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: dir,
    reject: false,
    all: true,
  });
  if (tsc.exitCode !== 0) throw new Error(`tsc failed:\n${tsc.all}`);
  return generateWorkflow(parseConfigText(readFileSync(path.join(dir, 'pipeline.yaml'), 'utf8'), path.join(dir, 'pipeline.yaml')));
}

function statuses(run: Runner): Record<string, string> {
  return Object.fromEntries(STAGES.map((s) => [s, run.results.get(s)!.status]));
}

function explain(run: Runner): string {
  return [...run.results].map(([id, r]) => `--- ${id}: ${r.status}\n${r.log.trim().split('\n').slice(-15).join('\n')}`).join('\n');
}

describe('the generated workflow, run job by job on this machine', function () {
  this.timeout(10 * 60 * 1000);
  let scratch: string;
  before(() => {
    expect(existsSync(dataFile), dataFile).to.equal(true);
    scratch = mkdtempSync(path.join(os.tmpdir(), 'pipeline-ci-run-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  describe('a passing pipeline', () => {
    let sim: WorkflowSimulator;
    let workflow: string;
    let first: Runner;
    let checkout: string;
    before(async () => {
      checkout = path.join(scratch, 'checkout');
      mkdirSync(checkout);
      workflow = await prepareCheckout(checkout, () => {});
      sim = new WorkflowSimulator(checkout);
      first = await sim.run(workflow, STAGES);
    });
    after(() => sim?.dispose());

    it('runs every stage job, each from its upstream artifacts only', () => {
      expect(statuses(first), explain(first)).to.deep.equal(Object.fromEntries(STAGES.map((s) => [s, 'success'])));
      expect([...first.artifacts.keys()].sort()).to.deep.equal(STAGES.map((s) => `outs-${s}`).sort());
      expect(first.results.get('gate')!.summary).to.equal('### :white_check_mark: Quality gate `gate` passed\n');
    });

    it('keeps every artifact rooted at the workspace (paths as in pipeline.yaml)', () => {
      const manifest = readFileSync(path.join(first.artifacts.get('outs-load')!, '.pipeline-ci/load.txt'), 'utf8');
      expect(manifest).to.match(/^stage: load\nfingerprint: [0-9a-f]{64}\nout: build\/data\/train\.bin\nout: build\/data\/test\.bin\nout: build\/data\/summary\.json\n$/);
      for (const f of ['build/data/train.bin', 'build/data/test.bin', 'build/data/summary.json']) {
        expect(existsSync(path.join(first.artifacts.get('outs-load')!, f)), f).to.equal(true);
      }
      expect(existsSync(path.join(first.artifacts.get('outs-quantize-8')!, 'build/quant/q8'))).to.equal(true);
    });

    it('produces the same outs as one `pipeline run` in one workspace', async () => {
      const whole = path.join(scratch, 'whole');
      cpSync(checkout, whole, { recursive: true, verbatimSymlinks: true });
      const r = await execa(process.execPath, ['bin/pipeline.js', 'run'], { cwd: whole, reject: false, all: true });
      expect(r.exitCode, r.all).to.equal(0);
      for (const [stage, file] of [
        ['predict', 'build/predict/metrics.json'],
        ['predict', 'build/predict/predictions.csv'],
        ['compare', 'build/compare/metrics.json'],
        ['train', 'build/model/model.json'],
        ['gate', 'build/gate/metrics.json'],
      ]) {
        const fromCi = readFileSync(path.join(first.artifacts.get(`outs-${stage}`)!, file));
        expect(fromCi.equals(readFileSync(path.join(whole, file))), file).to.equal(true);
      }
      const metrics = JSON.parse(readFileSync(path.join(whole, 'build/predict/metrics.json'), 'utf8'));
      expect(metrics.models.float.r2.toFixed(4)).to.equal('0.5758');
    });

    it('a second workflow run restores every stage from the cache keyed by its fingerprint', async () => {
      const second = await sim.run(workflow, STAGES);
      expect(statuses(second), explain(second)).to.deep.equal(Object.fromEntries(STAGES.map((s) => [s, 'success'])));
      for (const stage of STAGES) {
        const r = second.results.get(stage)!;
        // The pipeline-cache step is the first cache step of the job.
        expect(r.cacheHits[0], stage).to.equal('exact');
        expect(r.log, `${stage}:\n${r.log}`).to.match(/\b0 ran\b/);
        expect(r.log, `${stage}:\n${r.log}`).to.match(/\b1 cached\b/);
      }
      for (const [stage, file] of [['predict', 'build/predict/metrics.json'], ['quantize-16', 'build/quant/q16']]) {
        const a = path.join(first.artifacts.get(`outs-${stage}`)!, file);
        const b = path.join(second.artifacts.get(`outs-${stage}`)!, file);
        expect(existsSync(b), file).to.equal(true);
        if (file.endsWith('.json')) expect(readFileSync(b, 'utf8')).to.equal(readFileSync(a, 'utf8'));
      }
    });
  });

  describe('a failing gate', () => {
    it('fails the gate job with exit 3 and its reason in the summary; the jobs after it do not run', async () => {
      const checkout = path.join(scratch, 'strict');
      mkdirSync(checkout);
      const workflow = await prepareCheckout(checkout, (doc) => doc.setIn(['stages', 'gate', 'params', 'r2_min'], 0.99));
      const sim = new WorkflowSimulator(checkout);
      try {
        const run = await sim.run(workflow, STAGES);
        expect(statuses(run), explain(run)).to.deep.equal({
          load: 'success',
          train: 'success',
          gate: 'failure',
          'quantize-8': 'skipped',
          'quantize-16': 'skipped',
          compare: 'skipped',
          predict: 'skipped',
        });
        const gate = run.results.get('gate')!;
        expect(gate.exitCode).to.equal(3);
        const lines = gate.summary.split('\n');
        expect(lines[0], gate.summary).to.equal('### :x: Quality gate `gate` failed (exit 3)');
        expect(lines[2], gate.summary).to.match(/R² 0\.5758 ≤ r2_min 0\.99/);
        expect(lines.slice(3), gate.summary).to.deep.equal(['', 'Not run because of it: `quantize-8`, `quantize-16`, `compare`, `predict`', '']);
        expect(gate.log).to.match(/::error title=Quality gate gate failed::.*R² 0\.5758 ≤ r2_min 0\.99/);
        if (run.results.has('docker')) expect(run.results.get('docker')!.status).to.equal('skipped');
      } finally {
        sim.dispose();
      }
    });
  });
});
