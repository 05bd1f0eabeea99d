// OLS fit (stages/lib/ols.ts, the function the `train` stage uses) on 2,000,000 × 8 synthetic rows, with the
// coefficients checked against the known truth the rows were generated from.
import { fitOls } from '../../stages/lib/ols.js';
import type { BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { repeatFn } from '../measure.js';
import { prng } from '../../tests/helpers/prng.js';

export const OLS_N = 2_000_000;
export const OLS_P = 8;
// Coefficients and feature ranges shaped like the housing model (features of very different scales).
const BETA = [0.4367, 0.0094, -0.1073, 0.6451, -0.0000040, -0.0038, -0.4213, -0.4345];
const INTERCEPT = -36.94;
const LOW = [0.5, 1, 1, 0.3, 3, 0.7, 32.5, -124.3];
const HIGH = [15, 52, 10, 2, 5000, 6, 42, -114.3];
const SIGMA = 0.01;

export function olsData(n = OLS_N): { X: Float64Array; y: Float64Array } {
  const next = prng(20240601);
  const X = new Float64Array(n * OLS_P);
  const y = new Float64Array(n);
  for (let i = 0, o = 0; i < n; i++, o += OLS_P) {
    let s = INTERCEPT;
    for (let j = 0; j < OLS_P; j++) {
      const x = LOW[j] + (HIGH[j] - LOW[j]) * next();
      X[o + j] = x;
      s += BETA[j] * x;
    }
    // Box–Muller normal noise.
    const u = 1 - next();
    const v = next();
    y[i] = s + SIGMA * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return { X, y };
}

export function olsFigure(ctx: BenchContext): Figure {
  const f = newFigure('OLS fit on 2,000,000 × 8 synthetic rows');
  const n = OLS_N;
  const { X, y } = olsData(n);
  const r = repeatFn(() => fitOls(X, y, n, OLS_P), { runs: Math.max(ctx.runs, 5) });
  f.rows.push({ label: '`fitOls` (stages/lib/ols.ts), in process', unit: 'ms', stats: r.ms });
  f.targets.push({ what: 'OLS fit', value: r.ms.median, limit: 250, dir: 'max', unit: 'ms' });

  // Independent uniform features: the standard error of β̂_j is σ / (sd_j √n); allow 6 of them.
  let worst = 0;
  const errors: string[] = [];
  for (let j = 0; j < OLS_P; j++) {
    const sd = (HIGH[j] - LOW[j]) / Math.sqrt(12);
    const se = SIGMA / (sd * Math.sqrt(n));
    const err = Math.abs(r.last.coef[j] - BETA[j]);
    worst = Math.max(worst, err / se);
    errors.push(`β${j + 1} ${err.toExponential(1)}`);
  }
  // Intercept: Var = σ²/n · (1 + Σ mean_j² / var_j) for independent features.
  let k = 1;
  for (let j = 0; j < OLS_P; j++) k += ((LOW[j] + HIGH[j]) / 2) ** 2 / ((HIGH[j] - LOW[j]) ** 2 / 12);
  const interceptErr = Math.abs(r.last.intercept - INTERCEPT);
  worst = Math.max(worst, interceptErr / (SIGMA * Math.sqrt(k / n)));
  errors.push(`intercept ${interceptErr.toExponential(1)}`);
  const ok = worst <= 6;
  f.checks.push({
    what: 'every |β̂ − β| and the intercept within 6 standard errors of the known truth (σ / (sd_j·√n) for β_j)',
    ok,
    detail: `worst ${worst.toFixed(2)} standard errors; ${errors.join(', ')}`,
  });
  f.notes.push(
    `Rows: 8 independent uniform features over ranges like the housing features (0.5–15 … 3–5000), y = Xβ − ${Math.abs(INTERCEPT)} + N(0, ${SIGMA}²) with a fixed β and seed; ` +
      'the data are generated once, only the fit is timed (the same function `train` calls: two passes in float64, then Cholesky).',
  );
  return f;
}
