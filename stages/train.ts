// Stage `train`: ordinary least squares with intercept on the train set (scikit-learn's LinearRegression).
// Out: build/model/model.json (schema in lib/model.ts).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { StageContext } from 'pipeline-dag/stage';
import * as z from 'zod/mini';
import { inputPath, outPath, PATHS } from './lib/artifacts.js';
import { jsonText, writeFileAtomic } from './lib/atomic.js';
import { decodeDataset } from './lib/dataset.js';
import { modelJson } from './lib/model.js';
import { fitOls } from './lib/ols.js';

interface Summary {
  features: string[];
  target: string;
  source_sha256: string;
  split: { seed: number; test_size: number };
}

/** This stage reads no params: changing one never re-runs it. */
export const params = z.object({});

export default async function train(ctx: StageContext): Promise<void> {
  const trainFile = inputPath(ctx, 'load', PATHS.train);
  const summaryFile = inputPath(ctx, 'load', PATHS.summary);
  const bytes = await readFile(trainFile);
  const data = decodeDataset(bytes, trainFile);
  const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as Summary;
  if (summary.features.length !== data.p) throw new Error(`${summaryFile}: ${summary.features.length} feature names for ${data.p} columns in ${trainFile}`);
  const fit = fitOls(data.X, data.y, data.n, data.p, summary.features);
  const model = modelJson({
    format: 'pipeline.linear-model',
    version: 1,
    target: summary.target,
    features: summary.features,
    coefficients: Array.from(fit.coef),
    intercept: fit.intercept,
    train_rows: data.n,
    data_sha256: createHash('sha256').update(bytes).digest('hex'),
    source_sha256: summary.source_sha256,
    split: summary.split,
  });
  await writeFileAtomic(outPath(ctx, PATHS.model), jsonText(model));
  ctx.log.info(`fitted ${data.p} coefficients + intercept on ${data.n} rows; intercept ${fit.intercept}`);
}
