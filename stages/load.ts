// Stage `load`: get cal_housing.data (canonical archive download, or a local archive or .data file), parse it strictly,
// derive scikit-learn's features and split exactly as train_test_split(test_size, random_state=seed).
// Outs: build/data/train.bin, build/data/test.bin (format in lib/dataset.ts), build/data/summary.json.
import { createHash } from 'node:crypto';
import type { StageContext } from 'pipeline-dag/stage';
import * as z from 'zod/mini';
import { outPath, PATHS } from './lib/artifacts.js';
import { jsonText, writeFileAtomic } from './lib/atomic.js';
import { encodeDataset, takeRows } from './lib/dataset.js';
import { FEATURES, parseHousing, TARGET } from './lib/housing.js';
import { intParam, numberParam, stringParam } from './lib/params.js';
import { ARCHIVE_MEMBER, CANONICAL_URL, locateSource, readSourceData } from './lib/source.js';
import { trainTestSplit } from './lib/split.js';

/** The params this stage reads (the engine checks them before anything runs and passes only these). */
export const params = z.object({
  source: z.optional(z.string().check(z.minLength(1))),
  sha256: z.optional(z.nullable(z.string().check(z.regex(/^[0-9a-fA-F]{64}$/)))),
  seed: z.optional(z.int().check(z.minimum(0), z.maximum(0xffffffff))),
  test_size: z.optional(z.number().check(z.positive())),
});

export default async function load(ctx: StageContext): Promise<void> {
  const source = stringParam(ctx, 'source', CANONICAL_URL)!;
  const sha256 = stringParam(ctx, 'sha256');
  const seed = intParam(ctx, 'seed', 42, 0, 0xffffffff);
  const testSize = numberParam(ctx, 'test_size', 0.2);
  const trainOut = outPath(ctx, PATHS.train);
  const testOut = outPath(ctx, PATHS.test);
  const summaryOut = outPath(ctx, PATHS.summary);

  const located = await locateSource(source, {
    workspace: ctx.workspace,
    sha256,
    signal: ctx.signal,
    log: (m) => ctx.log.info(m),
  });
  const data = await readSourceData(located.file);
  const h = parseHousing(data.text, data.label);
  let split;
  try {
    split = trainTestSplit(h.n, testSize, seed);
  } catch (err) {
    throw new Error(`${ctx.stage}.test_size: ${(err as Error).message}`, { cause: err });
  }
  const p = FEATURES.length;
  const train = encodeDataset(takeRows(h.X, h.y, p, split.train));
  const test = encodeDataset(takeRows(h.X, h.y, p, split.test));
  const summary = {
    rows: h.n,
    train_rows: split.train.length,
    test_rows: split.test.length,
    features: FEATURES,
    target: TARGET,
    source,
    source_sha256: data.sourceSha256,
    data_sha256: data.dataSha256,
    archive_member: data.archive ? ARCHIVE_MEMBER : null,
    split: { seed, test_size: testSize },
    train_sha256: createHash('sha256').update(train).digest('hex'),
    test_sha256: createHash('sha256').update(test).digest('hex'),
  };
  await writeFileAtomic(trainOut, train);
  await writeFileAtomic(testOut, test);
  await writeFileAtomic(summaryOut, jsonText(summary));
  ctx.log.info(
    `loaded ${h.n} rows from ${located.url ?? located.file}${data.archive ? ` (${ARCHIVE_MEMBER})` : ''}: ` +
      `${split.train.length} train, ${split.test.length} test (seed ${seed}, test_size ${testSize})`,
  );
}
