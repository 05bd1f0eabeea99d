// The quantize template on the real data through the real CLI: adding 4 to `bits: [8, 16]` in pipeline.yaml — and
// nothing else — adds a 4-bit model to compare, predict, the report, `pipeline predict --model q4` and the CI
// workflow, while the 8- and 16-bit results stay byte for byte what they were (their stages stay fresh).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { cleanupAll, filesUnder, projectCopy, realData, runCli, runJson, tempDir } from '../helpers/workspace.js';
import { ref } from './reference.js';

/** sha256 of every file under a folder of the workspace, by relative path. */
const hashes = (root: string, rel: string): Record<string, string> => Object.fromEntries(filesUnder(root, rel));

describe('the quantize template: adding a bit width to its matrix', function () {
  this.timeout(300000);
  let project: string;
  const source = ['--set', `load.source=${realData}`];
  const json = (rel: string) => JSON.parse(readFileSync(path.join(project, rel), 'utf8'));
  let baseline: { quant: Record<string, string>; models: Record<string, unknown> };

  before(async () => {
    project = projectCopy('more-bits');
    const r = await runJson(project, source);
    expect(r.exitCode, r.stderr).to.equal(0);
    baseline = { quant: hashes(project, 'build/quant'), models: json('build/compare/metrics.json').models };
    const yaml = readFileSync(path.join(project, 'pipeline.yaml'), 'utf8');
    expect(yaml.match(/stages\/quantize\.ts/g)).to.have.length(1);
    // The one edit.
    writeFileSync(path.join(project, 'pipeline.yaml'), yaml.replace('bits: [8, 16]', 'bits: [8, 16, 4]'));
  });
  after(() => cleanupAll());

  it('runs quantize-4 and what takes every quantized model; the 8- and 16-bit stages stay fresh, their files unchanged', async () => {
    const r = await runJson(project, source);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.statuses).to.deep.equal({
      load: 'cached',
      train: 'cached',
      gate: 'cached',
      'quantize-8': 'cached',
      'quantize-16': 'cached',
      'quantize-4': 'ran',
      compare: 'ran',
      predict: 'ran',
    });
    const quant = hashes(project, 'build/quant');
    expect(Object.keys(quant).sort()).to.deep.equal(
      ['q4', 'q8', 'q16'].flatMap((q) => ['minmax.bin', 'minmax.json', 'pow2.bin', 'pow2.json'].map((f) => `build/quant/${q}/${f}`)).sort(),
    );
    for (const [file, hash] of Object.entries(baseline.quant)) expect(quant[file], file).to.equal(hash);
    expect(json('build/quant/q4/minmax.json')).to.include({ scheme: 'minmax', bits: 4 });
    expect(json('build/quant/q4/pow2.json').q.every((q: number) => q >= -7 && q <= 7)).to.equal(true);
    expect(json('pipeline.lock').stages['quantize-4'].template).to.deep.equal({ name: 'quantize', matrix: { bits: 4 } });
  });

  it('compare has the 4-bit models in scheme then bits order, the others as before', () => {
    const { models } = json('build/compare/metrics.json');
    expect(Object.keys(models)).to.deep.equal(['float', 'minmax-4', 'minmax-8', 'minmax-16', 'pow2-4', 'pow2-8', 'pow2-16']);
    for (const [k, v] of Object.entries(baseline.models)) expect(models[k], k).to.deep.equal(v);
    expect([models['minmax-4'].size_bytes, models['pow2-4'].size_bytes]).to.deep.equal([28, 32]);
    expect(models['pow2-4'].r2).to.be.closeTo(ref.metrics.r2, 0.01);
    const md = readFileSync(path.join(project, 'build/compare/compare.md'), 'utf8');
    expect(md).to.match(/\n\| minmax-4 \| /);
    expect(md).to.match(/\n\| pow2-4 \| /);
  });

  it('predict predicts with the 4-bit models, integer and dequantized', () => {
    const header = readFileSync(path.join(project, 'build/predict/predictions.csv'), 'utf8').split('\n')[0];
    expect(header).to.equal('actual,float,minmax-4,minmax-4-dq,minmax-8,minmax-8-dq,minmax-16,minmax-16-dq,pow2-4,pow2-4-dq,pow2-8,pow2-8-dq,pow2-16,pow2-16-dq');
    expect(Object.keys(json('build/predict/metrics.json').models)).to.include.members(['minmax-4', 'pow2-4-dq']);
  });

  it('`pipeline predict --model q4` scores rows with the 4-bit model; without --input it predicts with every model', async () => {
    const dir = tempDir('more-bits-rows');
    const rows = path.join(dir, 'rows.csv');
    writeFileSync(rows, `${ref.features.join(',')}\n${ref.split.test_first3.X[0].join(',')}\n`);
    const q4 = await runCli(project, ['predict', '--model', 'q4', '--scheme', 'minmax', '--input', rows]);
    expect(q4.exitCode, q4.stderr).to.equal(0);
    const lines = q4.stdout.trimEnd().split('\n');
    expect(lines[0]).to.equal('row,prediction');
    expect(lines[1]).to.match(/^1,-?[0-9.e-]+$/);
    const q8 = await runCli(project, ['predict', '--model', 'q8', '--scheme', 'minmax', '--input', rows]);
    expect(q8.stdout).to.not.equal(q4.stdout);
    const all = await runCli(project, ['predict']);
    expect(all.exitCode, all.stderr).to.equal(0);
    expect(all.stdout).to.match(/\nminmax-4 +-?[0-9]/);
    expect(all.stdout).to.match(/\npow2-4-dq +0\.5/);
  });

  it('the report shows the 4-bit models in its table, plots and DAG', async () => {
    const r = await runCli(project, ['report', '--out', 'out-report']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const html = readFileSync(path.join(project, 'out-report/index.html'), 'utf8');
    expect(html).to.contain('data-model="minmax-4"');
    expect(html).to.contain('data-model="pow2-4"');
    expect(html).to.match(/<text [^>]*font-weight="bold"[^>]*>quantize-4<\/text>/);
    expect(html).to.contain('<tr data-stage="quantize-4">');
  });

  it('dag and the generated workflow have quantize-4; the docker job downloads its outs', async () => {
    expect((await runCli(project, ['dag', '--format', 'json'])).stdout).to.contain('"quantize-4"');
    mkdirSync(path.join(project, '.github', 'workflows'), { recursive: true });
    const g = await runCli(project, ['ci', 'generate']);
    expect(g.exitCode, g.stderr).to.equal(0);
    const wf = readFileSync(path.join(project, '.github/workflows/pipeline.yml'), 'utf8');
    expect(wf).to.contain('\n  quantize-4:\n');
    expect(wf).to.contain('npx --no-install pipeline run quantize-4 --single');
    expect(wf).to.contain('name: outs-quantize-4');
    const docker = wf.slice(wf.indexOf('\n  docker:\n'));
    expect(docker).to.contain('Restore the outs of quantize-4');
  });
});
