// The `quantize` template, one stage per value of its matrix key `bits` (`quantize-8`, `quantize-16`, …): quantize
// the float model's coefficients with each scheme (minmax, pow2; see lib/quant.ts) to `bits` bits (2 to 16),
// bias-correct the intercept on the train set (param `bias_correction`, default true; false keeps the float
// intercept, to show what the correction is worth), and write per scheme `<scheme>.json` (quant params, integer and
// dequantized weights, intercepts) and `<scheme>.bin` (the packed bytes) into build/quant/q<bits>/.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { StageContext } from 'pipeline-dag/stage';
import * as z from 'zod/mini';
import { inputPath, outPath, PATHS, quantFileName } from './lib/artifacts.js';
import { jsonText, writeFileAtomic } from './lib/atomic.js';
import { readDataset } from './lib/dataset.js';
import { checkCompatible } from './lib/evaluate.js';
import { readModel } from './lib/model.js';
import { intParam } from './lib/params.js';
import {
  biasCorrectedIntercept,
  checkBits,
  dequantize,
  elementScales,
  MAX_BITS,
  MIN_BITS,
  packQuant,
  quantizeMinmax,
  quantizePow2,
  SCHEMES,
  type QuantModel,
} from './lib/quant.js';
import { columnStd } from './lib/stats.js';

/** The params this stage reads (the engine checks them before anything runs and passes only these). */
export const params = z.object({
  bits: z.number().check(z.int(), z.gte(MIN_BITS), z.lte(MAX_BITS)),
  bias_correction: z.optional(z.boolean()),
});

export default async function quantize(ctx: StageContext): Promise<void> {
  let bits;
  try {
    bits = checkBits(intParam(ctx, 'bits', 8, MIN_BITS, MAX_BITS));
  } catch (err) {
    throw new Error(`${ctx.stage}.bits: ${(err as Error).message}`, { cause: err });
  }
  const correct = ctx.params.bias_correction ?? true;
  if (typeof correct !== 'boolean') {
    throw new Error(`${ctx.stage}.bias_correction is ${JSON.stringify(correct)}; expected true or false. Set it in pipeline.yaml or with --set ${ctx.stage}.bias_correction=false`);
  }
  const dir = outPath(ctx, PATHS.quantDir(bits));
  const model = await readModel(inputPath(ctx, 'train', PATHS.model));
  const trainFile = inputPath(ctx, 'load', PATHS.train);
  const train = await readDataset(trainFile);
  checkCompatible(model, train, trainFile);
  const std = columnStd(train.X, train.n, train.p);
  await mkdir(dir, { recursive: true });
  for (const scheme of SCHEMES) {
    const q: QuantModel = scheme === 'minmax' ? quantizeMinmax(model.coefficients, bits) : quantizePow2(model.coefficients, bits, std);
    const dq = dequantize(q);
    q.intercept = correct ? biasCorrectedIntercept(train.X, train.y, train.n, train.p, dq, model.intercept) : model.intercept;
    const packed = packQuant(q);
    const scales = elementScales(q);
    const params =
      scheme === 'minmax'
        ? { min: q.min, scale: q.scale }
        : { scale: q.scale, exponents: Array.from(q.exponents), feature_std: Array.from(std) };
    const info = {
      scheme,
      bits,
      features: model.features,
      params,
      q: Array.from(q.q),
      coefficients: Array.from(dq),
      step: Array.from(scales, (s) => 1 / s),
      max_abs_weight_error: Math.max(...model.coefficients.map((w, j) => Math.abs(w - dq[j]))),
      intercept: q.intercept,
      float_intercept: model.intercept,
      bias_corrected: correct,
      bias_correction: q.intercept - model.intercept,
      packed: { file: quantFileName(scheme, 'bin'), size_bytes: packed.length, sha256: createHash('sha256').update(packed).digest('hex') },
    };
    await writeFileAtomic(path.join(dir, quantFileName(scheme, 'bin')), packed);
    await writeFileAtomic(path.join(dir, quantFileName(scheme, 'json')), jsonText(info));
    ctx.log.info(`${scheme}-${bits}: q = [${info.q.join(', ')}], intercept ${q.intercept}, ${packed.length} bytes`);
  }
}
