// Stage `predict`: predict the test set with the float model, each quantized model (integer weights in the dot
// product, scales applied after) and each dequantized model (`<name>-dq`); print the metrics and the first 10 rows.
// Outs: build/predict/predictions.csv, build/predict/metrics.json.
import type { StageContext } from '../runner/context.js';
import { inputPath, outPath, PATHS, quantDirInput } from './lib/artifacts.js';
import { jsonText, writeFileAtomic } from './lib/atomic.js';
import { readDataset } from './lib/dataset.js';
import { checkCompatible, evaluateAll, firstRowsTable, metricsTable, predictionsCsv, readQuantModels } from './lib/evaluate.js';
import { readModel } from './lib/model.js';

export default async function predict(ctx: StageContext): Promise<void> {
  const model = await readModel(inputPath(ctx, 'train', PATHS.model));
  const testFile = inputPath(ctx, 'load', PATHS.test);
  const test = await readDataset(testFile);
  checkCompatible(model, test, testFile);
  const quants = await readQuantModels({ 8: quantDirInput(ctx, 8), 16: quantDirInput(ctx, 16) });
  const ev = evaluateAll(test, model, quants, true);
  const metrics: Record<string, unknown> = {};
  for (const [k, m] of ev.metrics) metrics[k] = { r2: m.r2, mse: m.mse, mae: m.mae, mape: m.mape };
  await writeFileAtomic(outPath(ctx, PATHS.predictions), predictionsCsv(ev));
  await writeFileAtomic(outPath(ctx, PATHS.predictMetrics), jsonText({ models: metrics }));
  ctx.log.info(`test set, ${test.n} rows (-dq: dequantized weights in float):\n${metricsTable(ev)}`);
  ctx.log.info(`first 10 rows:\n${firstRowsTable(ev, 10)}`);
}
