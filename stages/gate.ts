// Stage `gate`: the test-set gate. Writes build/gate/metrics.json ({r2, mse, mae, mape}, scikit-learn's definitions)
// and fails as a gate when R² ≤ r2_min (param, default 0.5), which blocks everything downstream.
import type { StageContext } from 'pipeline-dag/stage';
import * as z from 'zod/mini';
import { GateVerdict } from 'pipeline-dag/stage';
import { inputPath, outPath, PATHS } from './lib/artifacts.js';
import { jsonText, writeFileAtomic } from './lib/atomic.js';
import { readDataset } from './lib/dataset.js';
import { checkCompatible } from './lib/evaluate.js';
import { regressionMetrics } from './lib/metrics.js';
import { readModel } from './lib/model.js';
import { predictLinear } from './lib/ols.js';
import { numberParam } from './lib/params.js';

/** The verdict line: `R² 0.5758 ≤ r2_min 0.99`. */
export function gateReason(r2: number, r2Min: number): string {
  return `R² ${r2.toFixed(4)} ≤ r2_min ${r2Min}`;
}

/** The params this stage reads (the engine checks them before anything runs and passes only these). */
export const params = z.object({ r2_min: z.optional(z.number()) });

export default async function gate(ctx: StageContext): Promise<void> {
  const r2Min = numberParam(ctx, 'r2_min', 0.5);
  const model = await readModel(inputPath(ctx, 'train', PATHS.model));
  const testFile = inputPath(ctx, 'load', PATHS.test);
  const test = await readDataset(testFile);
  checkCompatible(model, test, testFile);
  const pred = predictLinear(test.X, test.n, test.p, model.coefficients, model.intercept);
  const m = regressionMetrics(test.y, pred);
  await writeFileAtomic(outPath(ctx, PATHS.gateMetrics), jsonText({ r2: m.r2, mse: m.mse, mae: m.mae, mape: m.mape }));
  ctx.log.info(`test set (${test.n} rows): R² ${m.r2.toFixed(4)}, MSE ${m.mse.toFixed(4)}, MAE ${m.mae.toFixed(4)}, MAPE ${m.mape.toFixed(4)}`);
  if (!(m.r2 > r2Min)) throw new GateVerdict(gateReason(m.r2, r2Min));
  ctx.log.info(`gate passed: R² ${m.r2.toFixed(4)} > r2_min ${r2Min}`);
}
