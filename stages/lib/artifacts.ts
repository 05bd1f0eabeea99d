// The fixed artifact paths of the California-housing pipeline (workspace-relative, as declared in pipeline.yaml),
// and the model names used across compare, predict, the predict command and the report: the one place they are spelt.
import type { StageContext } from 'pipeline-dag/stage';
import { BITS, SCHEMES, type Bits, type Scheme } from './quant.js';

export const PATHS = {
  train: 'build/data/train.bin',
  test: 'build/data/test.bin',
  summary: 'build/data/summary.json',
  model: 'build/model/model.json',
  gateMetrics: 'build/gate/metrics.json',
  quantDir: (bits: Bits) => `build/quant/q${bits}`,
  /** One quantized model in its stage's folder: `<scheme>.json` (parameters and weights), `<scheme>.bin` (packed). */
  quantFile: (bits: Bits, scheme: Scheme, ext: 'json' | 'bin') => `build/quant/q${bits}/${quantFileName(scheme, ext)}`,
  compareMetrics: 'build/compare/metrics.json',
  compareMd: 'build/compare/compare.md',
  comparePredictions: 'build/compare/test-predictions.csv',
  comparePlots: 'build/compare/plots',
  predictions: 'build/predict/predictions.csv',
  predictMetrics: 'build/predict/metrics.json',
} as const;

/** The file name of a quantized model inside `PATHS.quantDir(bits)`. */
export function quantFileName(scheme: Scheme, ext: 'json' | 'bin'): string {
  return `${scheme}.${ext}`;
}

export interface QuantKey {
  name: string;
  scheme: Scheme;
  bits: Bits;
}

/** minmax-8, minmax-16, pow2-8, pow2-16: scheme first, then bits. */
export const QUANT_KEYS: QuantKey[] = SCHEMES.flatMap((scheme) => BITS.map((bits) => ({ name: `${scheme}-${bits}`, scheme, bits })));

/** The absolute path of one of the stage's declared outs. */
export function outPath(ctx: StageContext, out: string): string {
  const p = ctx.outs[out];
  if (!p) throw new Error(`stage ${ctx.stage}: pipeline.yaml must declare \`${out}\` among its outs (declared: ${Object.keys(ctx.outs).join(', ') || 'none'})`);
  return p;
}

/** The absolute path of an upstream stage's out. */
export function inputPath(ctx: StageContext, stage: string, out: string): string {
  const p = ctx.inputs[stage]?.[out];
  if (!p) throw new Error(`stage ${ctx.stage}: needs \`${stage}\` with out \`${out}\` in pipeline.yaml (add \`${stage}\` to its needs)`);
  return p;
}

/** Where quantize-8/quantize-16 outs come from: the stage named `quantize-<bits>` or any upstream declaring that dir. */
export function quantDirInput(ctx: StageContext, bits: Bits): string {
  const out = PATHS.quantDir(bits);
  const direct = ctx.inputs[`quantize-${bits}`]?.[out];
  if (direct) return direct;
  for (const outs of Object.values(ctx.inputs)) if (outs[out]) return outs[out];
  return inputPath(ctx, `quantize-${bits}`, out);
}
