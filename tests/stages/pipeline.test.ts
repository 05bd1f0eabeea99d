// The stage modules run in order on the real data in a temp workspace, with a hand-built context.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { GateVerdict } from '../../runner/public/stage.js';
import { DataError } from '../../stages/lib/housing.js';
import { parseModel } from '../../stages/lib/model.js';
import { OUTS, pipelineSpecs, realData, type Logged } from './harness.js';
import { runPipeline, runStage } from './run.js';
import { expectRel, ref } from './reference.js';

/** Every file under the workspace's build/ folder with its bytes. */
function snapshot(ws: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(ws, p), readFileSync(p));
    }
  };
  walk(path.join(ws, 'build'));
  return out;
}

const json = (ws: string, p: string) => JSON.parse(readFileSync(path.join(ws, p), 'utf8'));

describe('the California-housing stages on the real data', function () {
  this.timeout(120000);
  let ws: string;
  let logs: Record<string, Logged>;
  const tmpDirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'pipeline-stages-'));
    tmpDirs.push(d);
    return d;
  };

  before(async () => {
    ws = tmp();
    logs = await runPipeline(ws);
  });
  after(() => {
    for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
  });

  it('load writes the split data sets and a summary', () => {
    const s = json(ws, 'build/data/summary.json');
    expect(s).to.include({ rows: 20640, train_rows: 16512, test_rows: 4128, target: 'MedHouseVal', source: realData });
    expect(s.features).to.deep.equal(ref.features);
    expect(s.source_sha256).to.equal(ref.data_sha256);
    expect(s.data_sha256).to.equal(ref.data_sha256);
    expect(s.split).to.deep.equal({ seed: 42, test_size: 0.2 });
    expect(readFileSync(path.join(ws, 'build/data/train.bin')).length).to.equal(1254928);
    expect(readFileSync(path.join(ws, 'build/data/test.bin')).length).to.equal(313744);
  });

  it('train writes a schema-valid model equal to scikit-learn’s', () => {
    const file = path.join(ws, 'build/model/model.json');
    const m = parseModel(readFileSync(file, 'utf8'), file);
    m.coefficients.forEach((c, j) => expectRel(c, ref.linear_regression.coef[j], 1e-9, m.features[j]));
    expectRel(m.intercept, ref.linear_regression.intercept, 1e-9, 'intercept');
    expect(m.train_rows).to.equal(16512);
    expect(m.split).to.deep.equal({ seed: 42, test_size: 0.2 });
  });

  it('gate: test-set R², MSE, MAE and MAPE equal scikit-learn’s to 1e-9', () => {
    const g = json(ws, 'build/gate/metrics.json');
    expect(Object.keys(g)).to.deep.equal(['r2', 'mse', 'mae', 'mape']);
    for (const k of ['r2', 'mse', 'mae', 'mape'] as const) expectRel(g[k], ref.metrics[k], 1e-9, k);
    expect(logs.gate.info.join('\n')).to.contain('gate passed: R² 0.5758 > r2_min 0.5');
  });

  it('gate with r2_min 0.99 throws a GateVerdict `R² 0.5758 ≤ r2_min 0.99`, after writing its metrics', async () => {
    const spec = { ...pipelineSpecs(realData).gate, params: { r2_min: 0.99 } };
    const ws2 = tmp();
    for (const o of [...OUTS.load, ...OUTS.train]) {
      mkdirSync(path.dirname(path.join(ws2, o)), { recursive: true });
      copyFileSync(path.join(ws, o), path.join(ws2, o));
    }
    let err: unknown;
    await runStage(ws2, 'gate', spec).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(GateVerdict);
    expect((err as Error).message).to.equal('R² 0.5758 ≤ r2_min 0.99');
    expect(json(ws2, 'build/gate/metrics.json')).to.deep.equal(json(ws, 'build/gate/metrics.json'));
  });

  it('quantize writes <scheme>.json and <scheme>.bin for minmax and pow2, 8 and 16 bits', () => {
    for (const bits of [8, 16]) {
      expect(readdirSync(path.join(ws, `build/quant/q${bits}`)).sort()).to.deep.equal(['minmax.bin', 'minmax.json', 'pow2.bin', 'pow2.json']);
      const mm = json(ws, `build/quant/q${bits}/minmax.json`);
      expect(mm.q).to.deep.equal(ref.minmax[String(bits) as '8' | '16'].q);
      expect(mm.packed.size_bytes).to.equal(readFileSync(path.join(ws, `build/quant/q${bits}/minmax.bin`)).length);
    }
    const p8 = json(ws, 'build/quant/q8/pow2.json');
    expect(p8.params.exponents).to.deep.equal([1, 4, 1, -1, 10, 4, 1, 1]);
    expect(p8.q).to.deep.equal([127, 22, -35, 55, 0, -8, -119, -123]);
    expect(p8.packed.size_bytes).to.equal(36);
  });

  it('compare: the metrics JSON has float and every scheme × bits; minmax-8 R² ≈ 0.30, pow2-8 within 0.001 of float', () => {
    const { models } = json(ws, 'build/compare/metrics.json');
    expect(Object.keys(models)).to.deep.equal(['float', 'minmax-8', 'minmax-16', 'pow2-8', 'pow2-16']);
    for (const m of Object.values(models)) {
      expect(Object.keys(m as object)).to.deep.equal(['r2', 'mse', 'mae', 'mape', 'max_abs_delta', 'mean_abs_delta', 'size_bytes']);
    }
    for (const k of ['r2', 'mse', 'mae', 'mape'] as const) expectRel(models.float[k], ref.metrics[k], 1e-9, k);
    expect(models.float.max_abs_delta).to.equal(0);
    expect(models['minmax-8'].r2).to.be.closeTo(0.2989942650597578, 1e-12);
    expect(Math.abs(models['pow2-8'].r2 - models.float.r2)).to.be.below(0.001);
    expect(models['pow2-8'].r2).to.be.closeTo(0.5765641717067235, 1e-12);
    expect(models['minmax-8'].max_abs_delta).to.be.closeTo(7.9776, 1e-6);
    expect(models['pow2-8'].max_abs_delta).to.be.below(0.25);
    expect([models.float, models['minmax-8'], models['minmax-16'], models['pow2-8'], models['pow2-16']].map((m) => m.size_bytes)).to.deep.equal([72, 32, 40, 36, 44]);
  });

  it('compare: Markdown table, per-row predictions CSV and the plots as vega-lite specs; the table is printed', () => {
    const md = readFileSync(path.join(ws, 'build/compare/compare.md'), 'utf8');
    expect(md).to.contain('| model | R² | ΔR² | MSE | MAE | MAPE | max \\|Δpred\\| | mean \\|Δpred\\| | bytes |');
    expect(md).to.match(/\| minmax-8 \| 0\.2990 \| -0\.2768 \|/);
    expect(md).to.match(/\| pow2-8 \| 0\.5766 \| \+7\.76e-4 \|/);
    const csv = readFileSync(path.join(ws, 'build/compare/test-predictions.csv'), 'utf8').trimEnd().split('\n');
    expect(csv[0]).to.equal('actual,float,minmax-8,minmax-16,pow2-8,pow2-16');
    expect(csv.length).to.equal(4129);
    expect(Number(csv[1].split(',')[1])).to.be.closeTo(ref.linear_regression.test_pred_first10[0], 1e-12);
    const plots = readdirSync(path.join(ws, 'build/compare/plots')).sort();
    expect(plots).to.deep.equal(['error-distribution.vl.json', 'predicted-vs-actual.vl.json']);
    for (const p of plots) {
      const spec = JSON.parse(readFileSync(path.join(ws, 'build/compare/plots', p), 'utf8'));
      expect(spec.$schema).to.match(/vega-lite/);
      const values = spec.data?.values ?? spec.layer[0].data.values;
      expect(values.length).to.be.at.least(csv.length - 1);
    }
    expect(logs.compare.info.join('\n')).to.match(/minmax-8 +0\.2990 +-0\.2768/);
  });

  it('predict: float, integer-weight and dequantized predictions, metrics, and the first 10 rows printed', () => {
    const csv = readFileSync(path.join(ws, 'build/predict/predictions.csv'), 'utf8').trimEnd().split('\n');
    expect(csv[0]).to.equal('actual,float,minmax-8,minmax-8-dq,minmax-16,minmax-16-dq,pow2-8,pow2-8-dq,pow2-16,pow2-16-dq');
    expect(csv.length).to.equal(4129);
    const { models } = json(ws, 'build/predict/metrics.json');
    expectRel(models.float.r2, ref.metrics.r2, 1e-9);
    expect(models['pow2-8'].r2).to.be.closeTo(models['pow2-8-dq'].r2, 1e-12);
    const out = logs.predict.info.join('\n');
    expect(out).to.match(/first 10 rows:\nrow +actual +float +\|err\| +minmax-8/);
    expect(out).to.match(/\n +1 +0\.4770 +0\.7191 +0\.2421 /);
    expect(out).to.match(/\n +10 +4\.4660 +3\.9156 +0\.5504 /);
  });

  it('is deterministic: a second run in another workspace writes the same bytes in every artifact', async () => {
    const ws2 = tmp();
    await runPipeline(ws2);
    const a = snapshot(ws);
    const b = snapshot(ws2);
    expect([...b.keys()].sort()).to.deep.equal([...a.keys()].sort());
    for (const [k, v] of a) expect(b.get(k)!.equals(v), k).to.equal(true);
  });

  it('load from a .tgz holding CaliforniaHousing/cal_housing.data gives the same data sets', async () => {
    const { create } = await import('tar');
    const dir = tmp();
    mkdirSync(path.join(dir, 'src/CaliforniaHousing'), { recursive: true });
    copyFileSync(realData, path.join(dir, 'src/CaliforniaHousing/cal_housing.data'));
    mkdirSync(path.join(dir, 'ws'));
    await create({ gzip: true, file: path.join(dir, 'ws/cal_housing.tgz'), cwd: path.join(dir, 'src'), portable: true }, ['CaliforniaHousing/cal_housing.data']);
    const ws2 = path.join(dir, 'ws');
    await runStage(ws2, 'load', pipelineSpecs('cal_housing.tgz').load);
    for (const f of ['build/data/train.bin', 'build/data/test.bin']) {
      expect(readFileSync(path.join(ws2, f)).equals(readFileSync(path.join(ws, f))), f).to.equal(true);
    }
    const s = json(ws2, 'build/data/summary.json');
    expect(s.archive_member).to.equal('CaliforniaHousing/cal_housing.data');
    expect(s.data_sha256).to.equal(ref.data_sha256);
    expect(s.source_sha256).to.not.equal(ref.data_sha256);
  });

  it('load refuses bad data naming line and column, and writes nothing', async () => {
    const ws2 = tmp();
    const lines = readFileSync(realData, 'utf8').split('\n');
    lines[99] = lines[99].replace(/,[^,]+,([^,]+),([^,]+)$/, ',0,$1,$2');
    writeFileSync(path.join(ws2, 'bad.data'), lines.join('\n'));
    let err: unknown;
    await runStage(ws2, 'load', pipelineSpecs('bad.data').load).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(DataError);
    expect((err as Error).message).to.match(/bad\.data:100:\d+: households is 0; it must be positive/);
    for (const o of OUTS.load) expect(existsSync(path.join(ws2, o)), o).to.equal(false);
    expect(readdirSync(path.join(ws2, 'build/data'))).to.deep.equal([]);
  });

  it('quantize with bias_correction false keeps the float intercept: minmax-8 R² turns negative', async () => {
    const ws2 = tmp();
    for (const o of [...OUTS.load, ...OUTS.train]) {
      mkdirSync(path.dirname(path.join(ws2, o)), { recursive: true });
      copyFileSync(path.join(ws, o), path.join(ws2, o));
    }
    await runStage(ws2, 'quantize-8', { ...pipelineSpecs(realData)['quantize-8'], params: { bits: 8, bias_correction: false } });
    const mm = json(ws2, 'build/quant/q8/minmax.json');
    expect(mm.bias_corrected).to.equal(false);
    expect(mm.bias_correction).to.equal(0);
    expect(mm.intercept).to.equal(json(ws, 'build/model/model.json').intercept);
    let err: Error | undefined;
    await runStage(ws2, 'quantize-8', { ...pipelineSpecs(realData)['quantize-8'], params: { bits: 8, bias_correction: 'no' } }).catch((e: Error) => (err = e));
    expect(err?.message).to.contain('quantize-8.bias_correction is "no"; expected true or false');
  });

  it('quantize refuses bits outside 2..16 or not whole; gate refuses a non-numeric r2_min', async () => {
    const failure = (bits: unknown) => runStage(ws, 'quantize-8', { ...pipelineSpecs(realData)['quantize-8'], params: { bits } }).then(() => undefined, (e: Error) => e.message);
    for (const bits of [1, 17, 4.5, '8'])
      expect(await failure(bits), String(bits)).to.equal(`quantize-8.bits: quantize-8.bits is ${JSON.stringify(bits)}; expected a whole number from 2 to 16. Set it in pipeline.yaml or with --set quantize-8.bits=VALUE`);
    let err: Error | undefined;
    await runStage(tmp(), 'gate', { ...pipelineSpecs(realData).gate, params: { r2_min: 'high' } }).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/^gate\.r2_min is "high"; expected a number\. Set it in pipeline\.yaml or with --set gate\.r2_min=VALUE/);
  });
});
