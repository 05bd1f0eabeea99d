import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  coefficientsSpec,
  errorDistributionSpec,
  parseModelKey,
  predictedVsActualSpec,
  quantizedKeys,
  renderComparePlots,
  renderSvg,
  svgToPng,
  type ComparePlotData,
} from '../../stages/lib/plots.js';
import { countMarks, pngSize, PNG_SIGNATURE, svgTexts } from './helpers/svg.js';
import { FEATURES, FLOAT_COEFFICIENTS, writeSyntheticWorkspace } from './helpers/synthetic.js';

function loadCompareData(dir: string): ComparePlotData {
  const lines = readFileSync(path.join(dir, 'build/compare/test-predictions.csv'), 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const cols = header.map((_, j) => lines.slice(1).map((l) => Number(l.split(',')[j])));
  return { actual: cols[0], predictions: Object.fromEntries(header.slice(1).map((k, j) => [k, cols[j + 1]])) };
}

describe('plots', function () {
  let dir: string;
  let data: ComparePlotData;

  before(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-plots-'));
    writeSyntheticWorkspace(dir);
    data = loadCompareData(dir);
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses and orders model keys: minmax first, then the other scheme, 8 before 16', function () {
    expect(parseModelKey('minmax-8')).to.deep.equal({ key: 'minmax-8', scheme: 'minmax', bits: 8 });
    expect(parseModelKey('float')).to.deep.equal({ key: 'float' });
    expect(quantizedKeys(['float', 'abc-16', 'minmax-16', 'abc-8', 'minmax-8']).map((k) => k.key)).to.deep.equal([
      'minmax-8',
      'minmax-16',
      'abc-8',
      'abc-16',
    ]);
  });

  it('error distribution: one panel per scheme, three step lines each (float, 8-bit, 16-bit), axis titles', async function () {
    const svg = await renderSvg(errorDistributionSpec(data));
    expect(svg.startsWith('<svg')).to.equal(true);
    const marks = countMarks(svg);
    // 2 schemes × 3 series = 6 line paths.
    expect(marks).to.deep.equal({ line: 6 });
    const texts = svgTexts(svg);
    expect(texts).to.include('prediction − actual (100k $)');
    expect(texts).to.include('test rows');
    expect(texts).to.include.members(['minmax', 'pow2', 'float', '8-bit', '16-bit']);
  });

  it('predicted vs actual: one circle per test row and the y = x line', async function () {
    const svg = await renderSvg(predictedVsActualSpec(data));
    expect(countMarks(svg)).to.deep.equal({ symbol: 4128, line: 1 });
    const texts = svgTexts(svg);
    expect(texts).to.include('actual MedHouseVal (100k $)');
    expect(texts).to.include('predicted MedHouseVal (100k $)');
  });

  it('coefficients: one bar per feature and model', async function () {
    const sets = [
      { model: 'float', coefficients: FLOAT_COEFFICIENTS },
      { model: 'minmax-8', coefficients: FLOAT_COEFFICIENTS.map((c) => c + 0.003) },
      { model: 'minmax-16', coefficients: FLOAT_COEFFICIENTS.map((c) => c * 1.0001) },
    ];
    const svg = await renderSvg(coefficientsSpec(FEATURES, sets));
    expect(countMarks(svg)).to.deep.equal({ rect: 8 * 3 });
    const texts = svgTexts(svg);
    expect(texts).to.include.members(['coefficient value', 'feature', ...FEATURES]);
  });

  it('rejects data of mismatched lengths with a message naming the model', function () {
    expect(() => errorDistributionSpec({ actual: [1, 2], predictions: { float: [1], 'minmax-8': [1, 2] } })).to.throw(
      /predictions "float" has 1 values but actual has 2/,
    );
    expect(() => coefficientsSpec(FEATURES, [{ model: 'q', coefficients: [1] }])).to.throw(/model "q" has 1 coefficients/);
  });

  it('compiles without vega-lite warnings', async function () {
    const logged: unknown[][] = [];
    const saved = { warn: console.warn, log: console.log, error: console.error };
    console.warn = console.log = console.error = (...args: unknown[]) => void logged.push(args);
    try {
      await renderSvg(errorDistributionSpec(data));
      await renderSvg(predictedVsActualSpec(data));
      await renderSvg(coefficientsSpec(FEATURES, [{ model: 'float', coefficients: FLOAT_COEFFICIENTS }]));
    } finally {
      Object.assign(console, saved);
    }
    expect(logged).to.deep.equal([]);
  });

  it('predicted vs actual: points beyond the 0.1st–99.9th percentiles are clamped to the edge and counted', async function () {
    const actual = Array.from({ length: 2000 }, (_, i) => 1 + (i % 40) / 10);
    const float = actual.map((a) => a + 0.1);
    float[7] = 11.5;
    const spec = predictedVsActualSpec({ actual, predictions: { float } }) as { title: { subtitle: string[] } };
    expect(spec.title.subtitle).to.deep.equal(['2000 test rows; the line is y = x', '1 outside the axes are drawn on the edge']);
    const svg = await renderSvg(spec as never);
    expect(countMarks(svg)).to.deep.equal({ symbol: 2000, line: 1 });
  });

  it('renders the same bytes twice', async function () {
    const a = await renderSvg(errorDistributionSpec(data));
    const b = await renderSvg(errorDistributionSpec(loadCompareData(dir)));
    expect(a === b).to.equal(true);
    const c = await renderSvg(predictedVsActualSpec(data));
    const d = await renderSvg(predictedVsActualSpec(data));
    expect(c === d).to.equal(true);
  });

  it('has no element ids, so several plots can be inlined in one page', async function () {
    for (const spec of [errorDistributionSpec(data), predictedVsActualSpec(data), coefficientsSpec(FEATURES, [{ model: 'float', coefficients: FLOAT_COEFFICIENTS }])]) {
      expect(await renderSvg(spec)).not.to.match(/\sid="/);
    }
  });

  it('PNG: signature, requested width, same bytes twice', async function () {
    const svg = await renderSvg(predictedVsActualSpec(data));
    const png = svgToPng(svg, 900);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).to.equal(true);
    expect(pngSize(png).width).to.equal(900);
    expect(svgToPng(svg, 900).equals(png)).to.equal(true);
    const natural = Number(/width="(\d+)"/.exec(svg)![1]);
    expect(pngSize(svgToPng(svg)).width).to.equal(natural);
  });

  it('renderComparePlots writes both SVGs into a new folder and returns their names', async function () {
    const out = path.join(dir, 'out', 'plots');
    const names = await renderComparePlots(out, data);
    expect(names).to.deep.equal(['error-distribution.svg', 'predicted-vs-actual.svg']);
    expect(readdirSync(out).sort()).to.deep.equal(['error-distribution.svg', 'predicted-vs-actual.svg']);
    for (const n of names) {
      const svg = readFileSync(path.join(out, n), 'utf8');
      expect(Object.values(countMarks(svg)).reduce((s, x) => s + x, 0)).to.be.greaterThan(0);
    }
    const first = readFileSync(path.join(out, names[0]));
    await renderComparePlots(out, data);
    expect(readFileSync(path.join(out, names[0])).equals(first)).to.equal(true);
  });
});
