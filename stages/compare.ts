// Stage `compare`: float vs every scheme × bits on the test set — R², MSE, MAE, MAPE, max and mean |Δprediction|
// against the float model, packed size in bytes — as a metrics JSON, a Markdown table, the per-row predictions and
// the plots as vega-lite specs. Nothing in the DAG reads the plots, so they are not rendered here (that would load
// vega, ~0.3 s on the run's longest chain): `pipeline report` renders them to SVG and PNG when someone looks.
// Outs: build/compare/metrics.json, compare.md, test-predictions.csv, plots/*.vl.json.
import type { StageContext } from 'pipeline-dag/stage';
import * as z from 'zod/mini';
import { outPath, PATHS } from './lib/artifacts.js';
import { jsonText, writeFileAtomic } from './lib/atomic.js';
import { evaluateAll, predictionsCsv, readEvaluationInputs, type Evaluation } from './lib/evaluate.js';
import { floatPackedSize } from './lib/model.js';
import { packedSize } from './lib/quant.js';
import { delta, fixed, markdownTable, signed, textTable } from './lib/table.js';

export interface CompareRow {
  r2: number;
  mse: number;
  mae: number;
  mape: number;
  max_abs_delta: number;
  mean_abs_delta: number;
  size_bytes: number;
}

export function compareRows(ev: Evaluation, sizes: Record<string, number>): Record<string, CompareRow> {
  const base = ev.predictions.get('float')!;
  const out: Record<string, CompareRow> = {};
  for (const [name, pred] of ev.predictions) {
    let max = 0;
    let sum = 0;
    for (let i = 0; i < pred.length; i++) {
      const d = Math.abs(pred[i] - base[i]);
      if (d > max) max = d;
      sum += d;
    }
    const m = ev.metrics.get(name)!;
    out[name] = { r2: m.r2, mse: m.mse, mae: m.mae, mape: m.mape, max_abs_delta: max, mean_abs_delta: sum / pred.length, size_bytes: sizes[name] };
  }
  return out;
}

function tableCells(models: Record<string, CompareRow>): { headers: string[]; rows: string[][] } {
  const float = models.float;
  const headers = ['model', 'R²', 'ΔR²', 'MSE', 'MAE', 'MAPE', 'max |Δpred|', 'mean |Δpred|', 'bytes'];
  const rows = Object.entries(models).map(([name, r]) => [
    name,
    fixed(r.r2),
    name === 'float' ? '' : signed(r.r2 - float.r2),
    fixed(r.mse),
    fixed(r.mae),
    fixed(r.mape),
    delta(r.max_abs_delta),
    delta(r.mean_abs_delta),
    String(r.size_bytes),
  ]);
  return { headers, rows };
}

export function compareMarkdown(models: Record<string, CompareRow>, testRows: number): string {
  const { headers, rows } = tableCells(models);
  return [
    '# Float vs quantized models',
    '',
    `Test set: ${testRows} rows. Δ columns compare each model's predictions with the float model's. Bytes: packed`,
    'weights and intercept (float: float64 coefficients + intercept; quantized: the `.bin` file with its header).',
    '',
    markdownTable(headers, rows),
    '',
  ].join('\n');
}

/** This stage reads no params: changing one never re-runs it. */
export const params = z.object({});

export default async function compare(ctx: StageContext): Promise<void> {
  const { model, test, quants } = await readEvaluationInputs(ctx);
  const ev = evaluateAll(test, model, quants, false);
  const sizes: Record<string, number> = { float: floatPackedSize(test.p) };
  for (const q of quants) sizes[q.name] = packedSize(q.model.scheme, q.model.bits, q.model.q.length);
  const models = compareRows(ev, sizes);

  const plotsDir = outPath(ctx, PATHS.comparePlots);
  const metricsOut = outPath(ctx, PATHS.compareMetrics);
  const mdOut = outPath(ctx, PATHS.compareMd);
  const csvOut = outPath(ctx, PATHS.comparePredictions);
  const { writeComparePlotSpecs } = await import('./lib/plots.js');
  const predictions: Record<string, number[]> = {};
  for (const [k, v] of ev.predictions) predictions[k] = Array.from(v);
  const plots = await writeComparePlotSpecs(plotsDir, { actual: Array.from(ev.actual), predictions });

  await writeFileAtomic(csvOut, predictionsCsv(ev));
  await writeFileAtomic(mdOut, compareMarkdown(models, test.n));
  await writeFileAtomic(metricsOut, jsonText({ models }));
  const { headers, rows } = tableCells(models);
  ctx.log.info(`compare (test set, ${test.n} rows):\n${textTable(headers, rows)}\nplots: ${plots.join(', ')}`);
}
