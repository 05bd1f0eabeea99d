// Plots as vega-lite specs, rendered to SVG in Node (no browser, no canvas) and to PNG with resvg.
// The rendering libraries are heavy (vega and vega-lite take ~0.3 s to load and render), so they are imported only
// when a plot is drawn: the `compare` stage writes the specs (`writeComparePlotSpecs`), and `pipeline report`, which
// shows the plots, renders them.
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from './atomic.js';

/** Predictions on the test set: `actual` plus one array per model (`float`, `minmax-8`, `<scheme>-16`, ...). */
export interface ComparePlotData {
  actual: number[];
  predictions: Record<string, number[]>;
}

/** One set of linear-model coefficients to draw (the float model or a dequantized one). */
export interface CoefficientSet {
  /** Label shown in the legend, e.g. `float` or `minmax-8`. */
  model: string;
  coefficients: number[];
}

/** A model key such as `minmax-8` split into its scheme and bit width; `float` has neither. */
export interface ModelKey {
  key: string;
  scheme?: string;
  bits?: number;
}

export function parseModelKey(key: string): ModelKey {
  const m = /^(.+)-(\d+)$/.exec(key);
  return m ? { key, scheme: m[1], bits: Number(m[2]) } : { key };
}

/** Quantized model keys ordered by scheme (first seen order, `minmax` first) then bits. */
export function quantizedKeys(keys: Iterable<string>): ModelKey[] {
  const parsed = [...keys].map(parseModelKey).filter((k) => k.scheme !== undefined);
  const schemes = [...new Set(parsed.map((k) => k.scheme!))].sort((a, b) =>
    a === 'minmax' ? -1 : b === 'minmax' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  return parsed.sort((a, b) => schemes.indexOf(a.scheme!) - schemes.indexOf(b.scheme!) || a.bits! - b.bits!);
}

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const FLOAT_COLOR = '#4c4c4c';
const BIT_COLORS = ['#e45756', '#4c78a8', '#54a24b', '#b279a2', '#f58518'];
const MODEL_COLORS = ['#4c4c4c', '#e45756', '#f58518', '#4c78a8', '#72b7b2', '#54a24b', '#b279a2'];

export const baseConfig = {
  font: FONT,
  background: 'white',
  padding: 8,
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const, subtitleColor: '#555' },
  header: { labelFontSize: 12, titleFontSize: 12 },
};

/** Round for the embedded data: keeps SVG and spec sizes sane without visible change. */
function r6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function checkLengths(data: ComparePlotData): void {
  for (const [k, v] of Object.entries(data.predictions)) {
    if (v.length !== data.actual.length) {
      throw new Error(`plot data: predictions "${k}" has ${v.length} values but actual has ${data.actual.length}`);
    }
  }
}

/**
 * Histogram of prediction error (prediction − actual) per model: one panel per quantization scheme, each showing the
 * float model (reference) and the scheme's 8- and 16-bit models as step lines, on a shared x axis. The rare extreme
 * errors beyond the 0.5th/99.5th percentiles of all models are clipped into the outermost bins (said in the subtitle).
 */
export function errorDistributionSpec(data: ComparePlotData): TopLevelSpec {
  checkLengths(data);
  const quant = quantizedKeys(Object.keys(data.predictions));
  const schemes = [...new Set(quant.map((k) => k.scheme!))];
  const float = data.predictions.float;
  const all: number[] = [];
  for (const [, pred] of Object.entries(data.predictions)) {
    for (let i = 0; i < pred.length; i++) all.push(pred[i] - data.actual[i]);
  }
  all.sort((a, b) => a - b);
  const lo = Math.floor(quantile(all, 0.005) * 2) / 2;
  const hi = Math.ceil(quantile(all, 0.995) * 2) / 2;
  const step = [0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1].find((s) => (hi - lo) / s <= 80) ?? (hi - lo) / 80;
  const tickStep = hi - lo > 6 ? 1 : 0.5;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / tickStep) * tickStep; t <= hi + 1e-9; t += tickStep) ticks.push(r6(t));
  const clip = (e: number) => r6(Math.min(hi, Math.max(lo, e)));
  const rows: { scheme: string; model: string; error: number }[] = [];
  const bitsLabels = [...new Set(quant.map((k) => `${k.bits}-bit`))];
  for (const scheme of schemes) {
    if (float) for (let i = 0; i < float.length; i++) rows.push({ scheme, model: 'float', error: clip(float[i] - data.actual[i]) });
    for (const k of quant.filter((q) => q.scheme === scheme)) {
      const pred = data.predictions[k.key];
      for (let i = 0; i < pred.length; i++) rows.push({ scheme, model: `${k.bits}-bit`, error: clip(pred[i] - data.actual[i]) });
    }
  }
  const domain = [...(float ? ['float'] : []), ...bitsLabels];
  const range = [...(float ? ['#b8b8b8'] : []), ...bitsLabels.map((_, i) => BIT_COLORS[i % BIT_COLORS.length])];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Prediction error on the test set',
      subtitle: `prediction − actual, per scheme: float vs 8- and 16-bit; errors outside [${lo}, ${hi}] clipped to the edges`,
    },
    data: { values: rows },
    facet: { column: { field: 'scheme', type: 'nominal', title: null, sort: schemes, header: { labelFontWeight: 'bold', labelFontSize: 13 } } },
    spec: {
      width: 320,
      height: 220,
      mark: { type: 'line', interpolate: 'step' },
      encoding: {
        x: {
          field: 'error',
          type: 'quantitative',
          bin: { extent: [lo, hi], step },
          axis: { values: ticks, format: '~g' },
          title: 'prediction − actual (100k $)',
        },
        y: { aggregate: 'count', type: 'quantitative', title: 'test rows' },
        color: { field: 'model', type: 'nominal', title: 'model', scale: { domain, range }, sort: domain },
        // The float line is wide and light and drawn first, so it shows where a quantized line lies on top of it.
        strokeWidth: { condition: { test: "datum.model === 'float'", value: 4 }, value: 1.6 },
      },
    },
    resolve: { scale: { y: 'shared' } },
    config: baseConfig,
  };
}

/** Scatter of predicted vs actual for one model (the float model by default), with the y = x line. */
export function predictedVsActualSpec(data: ComparePlotData, model = 'float'): TopLevelSpec {
  checkLengths(data);
  const pred = data.predictions[model];
  if (!pred) throw new Error(`plot data: no predictions for model "${model}"`);
  const points = data.actual.map((a, i) => ({ actual: r6(a), predicted: r6(pred[i]) }));
  // The axes cover the 0.1st–99.9th percentiles; the few points beyond (one prediction of 11.5 on the real test
  // set) are drawn on the edge instead of squeezing everything else.
  const all = [...data.actual, ...pred].sort((a, b) => a - b);
  const lo = Math.floor(quantile(all, 0.001));
  const hi = Math.ceil(quantile(all, 0.999));
  const outside = points.filter((p) => p.actual < lo || p.actual > hi || p.predicted < lo || p.predicted > hi).length;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Predicted vs actual (${model} model)`, subtitle: [`${points.length} test rows; the line is y = x`, ...(outside ? [`${outside} outside the axes are drawn on the edge`] : [])] },
    width: 420,
    height: 380,
    layer: [
      {
        data: { values: points },
        // aria: false drops a per-point aria-label, which would triple the SVG size.
        mark: { type: 'circle', size: 9, opacity: 0.35, color: '#4c78a8', aria: false },
        encoding: {
          x: { field: 'actual', type: 'quantitative', title: 'actual MedHouseVal (100k $)', scale: { domain: [lo, hi], clamp: true } },
          y: { field: 'predicted', type: 'quantitative', title: 'predicted MedHouseVal (100k $)', scale: { domain: [lo, hi], clamp: true } },
        },
      },
      {
        data: { values: [{ actual: lo, predicted: lo }, { actual: hi, predicted: hi }] },
        mark: { type: 'line', color: '#e45756', strokeWidth: 1.5 },
        encoding: { x: { field: 'actual', type: 'quantitative' }, y: { field: 'predicted', type: 'quantitative' } },
      },
    ],
    config: baseConfig,
  };
}

/**
 * Coefficient values per feature, the float model next to each dequantized model, as grouped horizontal bars on a
 * symmetric-log axis (the coefficients span six orders of magnitude: Population's is about 1e-6, AveBedrms' near 1).
 */
export function coefficientsSpec(features: string[], sets: CoefficientSet[]): TopLevelSpec {
  for (const s of sets) {
    if (s.coefficients.length !== features.length) {
      throw new Error(`plot data: model "${s.model}" has ${s.coefficients.length} coefficients but there are ${features.length} features`);
    }
  }
  const rows = sets.flatMap((s) => s.coefficients.map((c, i) => ({ feature: features[i], model: s.model, value: c })));
  const models = sets.map((s) => s.model);
  // Decade ticks inside the data's range (ticks outside it would widen the chart).
  const lo = Math.min(0, ...rows.map((r) => r.value));
  const hi = Math.max(0, ...rows.map((r) => r.value));
  const ticks = [-1, -1e-2, -1e-4, -1e-6, 0, 1e-6, 1e-4, 1e-2, 1].filter((t) => t >= lo && t <= hi);
  const range = models.map((m, i) => (m === 'float' ? FLOAT_COLOR : MODEL_COLORS[(i % (MODEL_COLORS.length - 1)) + 1]));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Coefficients: float vs dequantized',
      // Two short lines: vega estimates text widths without a canvas, generously, and one long line widens the chart.
      subtitle: ['symmetric-log axis, linear within ±1e-6, so that tiny', 'coefficients such as Population’s stay visible'],
    },
    data: { values: rows },
    width: 380,
    height: features.length * (9 * models.length + 12),
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'feature', type: 'nominal', sort: features, title: 'feature' },
      yOffset: { field: 'model', type: 'nominal', sort: models },
      x: {
        field: 'value',
        type: 'quantitative',
        scale: { type: 'symlog', constant: 1e-6 },
        axis: { values: ticks, format: '~g' },
        title: 'coefficient value',
      },
      color: { field: 'model', type: 'nominal', title: 'model', sort: models, scale: { domain: models, range } },
    },
    config: baseConfig,
  };
}

/** Compile a vega-lite spec and render it to an SVG string (headless, deterministic). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vl, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type ResvgModule = typeof import('@resvg/resvg-js');
let resvgModule: ResvgModule | undefined;

/** Rasterize an SVG to PNG with resvg (loaded on first use), scaled to `width` pixels (default: the SVG's own). */
export function svgToPng(svg: string, width?: number): Buffer {
  // resvg is a CommonJS native addon: `require` loads it lazily and synchronously.
  resvgModule ??= createRequire(import.meta.url)('@resvg/resvg-js') as ResvgModule;
  const resvg = new resvgModule.Resvg(svg, {
    fitTo: width === undefined ? { mode: 'original' } : { mode: 'width', value: width },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: 'white',
  });
  return resvg.render().asPng();
}

/**
 * The compare stage's plots: `error-distribution.svg` and `predicted-vs-actual.svg` in `outDir` (created).
 * Returns the file names written, in that order.
 */
export async function renderComparePlots(outDir: string, data: ComparePlotData): Promise<string[]> {
  const plots: [string, TopLevelSpec][] = [
    ['error-distribution.svg', errorDistributionSpec(data)],
    ['predicted-vs-actual.svg', predictedVsActualSpec(data)],
  ];
  const rendered = await Promise.all(plots.map(async ([name, spec]) => [name, await renderSvg(spec)] as const));
  await mkdir(outDir, { recursive: true });
  for (const [name, svg] of rendered) await writeFileAtomic(path.join(outDir, name), svg);
  return rendered.map(([name]) => name);
}

/**
 * The compare stage's plots as vega-lite specs with their data inline, `error-distribution.vl.json` and
 * `predicted-vs-actual.vl.json` in `outDir` (created): the same specs `pipeline report` renders, written without
 * loading vega. Any vega-lite tool draws them. Returns the file names written, in that order.
 */
export async function writeComparePlotSpecs(outDir: string, data: ComparePlotData): Promise<string[]> {
  const specs: [string, TopLevelSpec][] = [
    ['error-distribution.vl.json', errorDistributionSpec(data)],
    ['predicted-vs-actual.vl.json', predictedVsActualSpec(data)],
  ];
  await mkdir(outDir, { recursive: true });
  for (const [name, spec] of specs) await writeFileAtomic(path.join(outDir, name), `${JSON.stringify(spec)}\n`);
  return specs.map(([name]) => name);
}
