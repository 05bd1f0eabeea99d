// Predictions on a test set with the float model, each quantized model (integer weights, scales after) and each
// dequantized model; their metrics; and the printed summary (metrics table and first rows), shared by the predict
// stage and the `pipeline predict` command.
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import type { StageContext } from 'pipeline-dag/stage';
import { readDataset, type Dataset } from './dataset.js';
import { regressionMetrics, type RegressionMetrics } from './metrics.js';
import { readModel, type LinearModel } from './model.js';
import { predictLinear } from './ols.js';
import { dequantize, predictQuantized, unpackQuant, type Bits, type QuantModel } from './quant.js';
import { inputPath, PATHS, quantDirInputs, quantFileName, quantKeys } from './artifacts.js';
import { fixed, textTable } from './table.js';

/** What the compare and predict stages evaluate: the float model, the test set (checked to fit it), the quantized models. */
export async function readEvaluationInputs(ctx: StageContext): Promise<{ model: LinearModel; test: Dataset; quants: NamedQuant[] }> {
  const model = await readModel(inputPath(ctx, 'train', PATHS.model));
  const testFile = inputPath(ctx, 'load', PATHS.test);
  const test = await readDataset(testFile);
  checkCompatible(model, test, testFile);
  const quants = await readQuantModels(quantDirInputs(ctx));
  return { model, test, quants };
}

export interface NamedQuant {
  name: string;
  model: QuantModel;
}

/** Read `<scheme>.bin` of every scheme from each bit width's folder, scheme first, then bits (quantKeys order). */
export async function readQuantModels(dirs: Map<Bits, string>): Promise<NamedQuant[]> {
  const out: NamedQuant[] = [];
  for (const k of quantKeys(dirs.keys())) {
    const file = path.join(dirs.get(k.bits)!, quantFileName(k.scheme, 'bin'));
    const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`${file}: cannot read (${err.code ?? err.message}). Rebuild it with \`npx pipeline run\``);
    });
    const model = unpackQuant(bytes, file);
    if (model.scheme !== k.scheme || model.bits !== k.bits) throw new Error(`${file}: holds ${model.scheme}-${model.bits}, expected ${k.name}`);
    out.push({ name: k.name, model });
  }
  return out;
}

export interface Evaluation {
  actual: Float64Array;
  /** Column name → predictions: `float`, then per quantized model `<name>` (integer path) and `<name>-dq` (dequantized). */
  predictions: Map<string, Float64Array>;
  metrics: Map<string, RegressionMetrics>;
}

export function checkCompatible(model: LinearModel, data: Dataset, what: string): void {
  if (data.p !== model.coefficients.length) {
    throw new Error(`${what} has ${data.p} features but the model ${model.coefficients.length}; rebuild with \`npx pipeline run\``);
  }
}

export function evaluateAll(test: Dataset, model: LinearModel, quants: NamedQuant[], withDequantized = true): Evaluation {
  const predictions = new Map<string, Float64Array>();
  predictions.set('float', predictLinear(test.X, test.n, test.p, model.coefficients, model.intercept));
  for (const q of quants) {
    if (q.model.q.length !== test.p) throw new Error(`${q.name} has ${q.model.q.length} weights for ${test.p} features; rebuild with \`npx pipeline run\``);
    predictions.set(q.name, predictQuantized(q.model, test.X, test.n, test.p));
    if (withDequantized) predictions.set(`${q.name}-dq`, predictLinear(test.X, test.n, test.p, dequantize(q.model), q.model.intercept));
  }
  const metrics = new Map<string, RegressionMetrics>();
  for (const [k, v] of predictions) metrics.set(k, regressionMetrics(test.y, v));
  return { actual: test.y, predictions, metrics };
}

export function metricsTable(ev: Evaluation): string {
  const rows = [...ev.metrics].map(([k, m]) => [k, fixed(m.r2, 6), fixed(m.mse, 6), fixed(m.mae, 6), fixed(m.mape, 6)]);
  return textTable(['model', 'R²', 'MSE', 'MAE', 'MAPE'], rows);
}

/** The first `count` rows: actual, then each integer-path prediction with its absolute error. */
export function firstRowsTable(ev: Evaluation, count = 10): string {
  const cols = [...ev.predictions.keys()].filter((k) => !k.endsWith('-dq'));
  const headers = ['row', 'actual', ...cols.flatMap((c) => [c, '|err|'])];
  const rows: string[][] = [];
  for (let i = 0; i < Math.min(count, ev.actual.length); i++) {
    const a = ev.actual[i];
    rows.push([String(i + 1), fixed(a, 4), ...cols.flatMap((c) => [fixed(ev.predictions.get(c)![i], 4), fixed(Math.abs(ev.predictions.get(c)![i] - a), 4)])]);
  }
  return textTable(headers, rows, ['right']);
}

/** CSV with a header and shortest round-trip numbers. */
export function predictionsCsv(ev: Evaluation): string {
  const cols = [...ev.predictions.keys()];
  const cells = cols.map((c) => ev.predictions.get(c)!);
  let text = `${['actual', ...cols].join(',')}\n`;
  for (let i = 0; i < ev.actual.length; i++) {
    let line = String(ev.actual[i]);
    for (const c of cells) line += `,${c[i]}`;
    text += `${line}\n`;
  }
  return text;
}
