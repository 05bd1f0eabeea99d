// A synthetic workspace with the artifacts a pipeline run leaves behind (shapes as the stages write them), with
// realistic California-housing-like numbers from a seeded generator, so the report can be tested without a run.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MODEL_FORMAT, modelJson, type LinearModel } from '../../../stages/lib/model.js';

export const FEATURES = ['MedInc', 'HouseAge', 'AveRooms', 'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude'];
// Coefficients of the float model on the real split (rounded; realistic magnitudes).
export const FLOAT_COEFFICIENTS = [
  0.448675, 0.00972426, -0.123323, 0.783145, -2.02962e-6, -0.00352632, -0.419792, -0.433708,
];
export const FLOAT_INTERCEPT = -37.0233;
export const SCHEMES = ['minmax', 'pow2'];
/** The sha256 of the data the synthetic summary names. */
export const SOURCE_SHA256 = 'a2b44dcc7e1c9091b43c4f458b25cbd1f7e8068d08edd26bc4703108d3fa6214';
export const STAGES = ['load', 'train', 'gate', 'quantize-8', 'quantize-16', 'compare', 'predict'];
export const EDGES: [string, string][] = [
  ['load', 'train'],
  ['load', 'gate'],
  ['train', 'gate'],
  ['train', 'quantize-8'],
  ['train', 'quantize-16'],
  ['load', 'quantize-8'],
  ['load', 'quantize-16'],
  ['gate', 'quantize-8'],
  ['gate', 'quantize-16'],
  ['quantize-8', 'compare'],
  ['quantize-16', 'compare'],
  ['train', 'compare'],
  ['load', 'compare'],
  ['compare', 'predict'],
];

/** Park–Miller style LCG with a Box–Muller normal: deterministic, good enough for plot data. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const u = () => {
    s = (Math.imul(s, 48271) >>> 0) % 2147483647;
    return (s + 0.5) / 2147483647;
  };
  const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return { u, normal };
}

export interface SyntheticOptions {
  rows?: number;
  /** Leave these workspace-relative files out. */
  omit?: string[];
  /** Status per stage in last-run.json (default: all `ran`). */
  statuses?: Record<string, 'ran' | 'cached' | 'skipped' | 'failed' | 'blocked'>;
}

export interface SyntheticWorkspace {
  rows: number;
  models: string[];
  stages: string[];
}

/** Write the artifacts into `dir` (the workspace root). */
export function writeSyntheticWorkspace(dir: string, opts: SyntheticOptions = {}): SyntheticWorkspace {
  const n = opts.rows ?? 4128;
  const omit = new Set(opts.omit ?? []);
  const { u, normal } = rng(42);
  const write = (rel: string, content: string) => {
    if (omit.has(rel)) return;
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  };

  const models = ['float', ...SCHEMES.flatMap((s) => [`${s}-8`, `${s}-16`])];
  const actual: number[] = [];
  const preds: Record<string, number[]> = Object.fromEntries(models.map((m) => [m, [] as number[]]));
  for (let i = 0; i < n; i++) {
    const a = Math.min(5.00001, Math.max(0.14999, Math.exp(0.7 + 0.55 * normal())));
    actual.push(a);
    const f = a + 0.72 * normal() * (0.6 + 0.4 * u());
    preds.float.push(f);
    preds['minmax-8'].push(f + 0.9 * normal() - 0.05);
    preds['minmax-16'].push(f + 0.004 * normal());
    preds['pow2-8'].push(f + 0.006 * normal());
    preds['pow2-16'].push(f + 0.00003 * normal());
  }
  const header = ['actual', ...models].join(',');
  const lines = actual.map((a, i) => [a, ...models.map((m) => preds[m][i])].map((x) => x.toFixed(6)).join(','));
  write('build/compare/test-predictions.csv', `${header}\n${lines.join('\n')}\n`);

  const metrics = (m: string) => {
    const p = preds[m];
    let sse = 0, sae = 0, sape = 0, mean = 0, maxd = 0, sumd = 0;
    for (const a of actual) mean += a / n;
    let sst = 0;
    for (let i = 0; i < n; i++) {
      const e = p[i] - actual[i];
      sse += e * e;
      sae += Math.abs(e);
      sape += Math.abs(e) / Math.max(Math.abs(actual[i]), 2.220446049250313e-16);
      sst += (actual[i] - mean) ** 2;
      const d = Math.abs(p[i] - preds.float[i]);
      maxd = Math.max(maxd, d);
      sumd += d;
    }
    const bits = /-(\d+)$/.exec(m)?.[1];
    return {
      r2: 1 - sse / sst,
      mse: sse / n,
      mae: sae / n,
      mape: sape / n,
      max_abs_delta: maxd,
      mean_abs_delta: sumd / n,
      size_bytes: bits === undefined ? 72 : m.startsWith('minmax') ? 8 * Number(bits) / 8 + 16 : 8 * Number(bits) / 8 + 72,
    };
  };
  write('build/compare/metrics.json', JSON.stringify({ models: Object.fromEntries(models.map((m) => [m, metrics(m)])) }, null, 2));
  const g = metrics('float');
  write('build/gate/metrics.json', JSON.stringify({ r2: g.r2, mse: g.mse, mae: g.mae, mape: g.mape }, null, 2));

  // The train stage's model file, in the shape stages/lib/model.ts checks (the report reads it with that schema).
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const model: LinearModel = {
    format: MODEL_FORMAT,
    version: 1,
    target: 'MedHouseVal',
    features: FEATURES,
    coefficients: FLOAT_COEFFICIENTS,
    intercept: FLOAT_INTERCEPT,
    train_rows: n * 4,
    data_sha256: sha('synthetic data'),
    source_sha256: sha('synthetic source'),
    split: { seed: 42, test_size: 0.2 },
  };
  write('build/model/model.json', JSON.stringify(modelJson(model), null, 2));
  for (const scheme of SCHEMES) {
    for (const bits of [8, 16]) {
      const noise = scheme === 'minmax' ? (bits === 8 ? 0.004 : 0.00002) : bits === 8 ? 0.002 : 0.000008;
      const coefficients = FLOAT_COEFFICIENTS.map((c) => (scheme === 'minmax' ? c + noise * normal() : c * (1 + noise * normal())));
      write(
        `build/quant/q${bits}/${scheme}.json`,
        JSON.stringify({ scheme, bits, coefficients, intercept: FLOAT_INTERCEPT + 0.01 * normal() }, null, 2),
      );
    }
  }

  write(
    'build/data/summary.json',
    JSON.stringify({ rows: 20640, source: 'data/cal_housing.data', data_sha256: SOURCE_SHA256, split: { seed: 42, test_size: 0.2 } }, null, 2),
  );
  const statuses = opts.statuses ?? {};
  const lastRun = {
    schemaVersion: 1,
    ok: true,
    exitCode: 0,
    startedAt: '2025-01-01T12:00:00.000Z',
    durationMs: 1234,
    stages: STAGES.map((name, i) => {
      const status = statuses[name] ?? 'ran';
      return {
        name,
        status,
        reason: status === 'cached' ? 'up to date' : status === 'ran' ? 'changed param `seed` (1 → 2)' : status,
        durationMs: status === 'cached' ? 1 : 40 + 37 * i,
        fingerprint: (0x1234567 * (i + 1)).toString(16).padStart(16, '0'),
        ...(name === 'gate' ? { params: { seed: 42, r2_min: 0.5 } } : name === 'load' ? { params: { source: 'data/cal_housing.data', note: '<b>&' } } : {}),
        outcome: status === 'failed' ? { kind: 'failed', cause: { kind: 'exit', exitCode: 1, message: 'exited with code 1' } } : { kind: status === 'cached' ? 'fresh' : status },
        reasons:
          status === 'cached'
            ? [{ code: 'up-to-date', message: 'up to date' }]
            : status === 'ran'
              ? [{ code: 'param-changed', message: 'changed param `seed` (1 → 2)', name: 'seed', from: 1, to: 2 }]
              : [],
      };
    }),
    dag: { nodes: STAGES, edges: EDGES },
  };
  write('.pipeline/last-run.json', JSON.stringify(lastRun, null, 2));
  return { rows: n, models, stages: STAGES };
}
