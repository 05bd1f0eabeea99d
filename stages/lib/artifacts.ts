// The fixed artifact paths of the California-housing pipeline (workspace-relative, as declared in pipeline.yaml),
// and the model names used across compare, predict, the predict command and the report: the one place they are spelt.
import type { StageContext } from 'pipeline-dag/stage';
import { isBits, SCHEMES, type Bits, type Scheme } from './quant.js';

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

/** The quantized models of these widths: minmax-8, minmax-16, pow2-8, pow2-16 for [16, 8] (scheme first, then bits). */
export function quantKeys(bits: Iterable<Bits>): QuantKey[] {
  const widths = [...new Set(bits)].sort((a, b) => a - b);
  return SCHEMES.flatMap((scheme) => widths.map((b) => ({ name: `${scheme}-${b}`, scheme, bits: b })));
}

/** The bit width of a quantized models' folder (`build/quant/q8` → 8), or undefined for any other path. */
export function quantDirBits(out: string): Bits | undefined {
  const m = /^build\/quant\/q([0-9]+)$/.exec(out);
  const bits = m ? Number(m[1]) : undefined;
  return isBits(bits) && PATHS.quantDir(bits) === out ? bits : undefined;
}

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

/**
 * The quantized models' folders among the stage's inputs, by bit width: every out of an upstream stage that is a
 * `PATHS.quantDir(bits)` (the quantize template's expansions write one each, whatever their names). At least one.
 */
export function quantDirInputs(ctx: StageContext): Map<Bits, string> {
  const dirs = new Map<Bits, string>();
  const from = new Map<Bits, string>();
  for (const [stage, outs] of Object.entries(ctx.inputs))
    for (const [out, abs] of Object.entries(outs)) {
      const bits = quantDirBits(out);
      if (bits === undefined) continue;
      if (from.has(bits)) throw new Error(`stage ${ctx.stage}: \`${out}\` comes from both \`${from.get(bits)}\` and \`${stage}\`; one stage writes each bit width`);
      dirs.set(bits, abs);
      from.set(bits, stage);
    }
  if (dirs.size === 0) {
    throw new Error(`stage ${ctx.stage}: no quantized model among its inputs (a \`build/quant/q<bits>\` out of a stage it needs); add \`quantize\` to its needs in pipeline.yaml`);
  }
  return new Map([...dirs].sort(([a], [b]) => a - b));
}
