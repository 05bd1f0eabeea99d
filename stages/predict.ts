// Stage `predict`: predict the test set with the float model, each quantized model (integer weights in the dot
// product, scales applied after) and each dequantized model (`<name>-dq`); print the metrics and the first 10 rows.
// Outs: build/predict/predictions.csv, build/predict/metrics.json.
import type { StageContext } from 'pipeline-dag/stage';
import * as z from 'zod/mini';
import { outPath, PATHS } from './lib/artifacts.js';
import { jsonText, writeFileAtomic } from './lib/atomic.js';
import { evaluateAll, firstRowsTable, metricsTable, predictionsCsv, readEvaluationInputs } from './lib/evaluate.js';

/** This stage reads no params: changing one never re-runs it. */
export const params = z.object({});

export default async function predict(ctx: StageContext): Promise<void> {
  const { model, test, quants } = await readEvaluationInputs(ctx);
  const ev = evaluateAll(test, model, quants, true);
  const metrics: Record<string, unknown> = {};
  for (const [k, m] of ev.metrics) metrics[k] = { r2: m.r2, mse: m.mse, mae: m.mae, mape: m.mape };
  await writeFileAtomic(outPath(ctx, PATHS.predictions), predictionsCsv(ev));
  await writeFileAtomic(outPath(ctx, PATHS.predictMetrics), jsonText({ models: metrics }));
  ctx.log.info(`test set, ${test.n} rows (-dq: dequantized weights in float):\n${metricsTable(ev)}`);
  ctx.log.info(`first 10 rows:\n${firstRowsTable(ev, 10)}`);
}
