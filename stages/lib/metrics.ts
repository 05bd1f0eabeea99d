// Regression metrics with scikit-learn's definitions (r2_score, mean_squared_error, mean_absolute_error,
// mean_absolute_percentage_error with its epsilon), accumulated in float64.

export interface RegressionMetrics {
  r2: number;
  mse: number;
  mae: number;
  mape: number;
}

/** numpy's float64 machine epsilon, MAPE's floor for |y_true|. */
export const EPSILON = 2 ** -52;

function check(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length !== yPred.length) throw new RangeError(`metrics: ${yTrue.length} true values but ${yPred.length} predictions`);
  if (yTrue.length === 0) throw new RangeError('metrics: no values');
  return yTrue.length;
}

export function mse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = yTrue[i] - yPred[i];
    s += e * e;
  }
  return s / n;
}

export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(yPred[i] - yTrue[i]);
  return s / n;
}

export function mape(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(yPred[i] - yTrue[i]) / Math.max(Math.abs(yTrue[i]), EPSILON);
  return s / n;
}

/** 1 − SS_res/SS_tot; a constant y_true gives 1 for a perfect fit and 0 otherwise, as scikit-learn does. */
export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i];
  mean /= n;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    const e = yTrue[i] - yPred[i];
    const d = yTrue[i] - mean;
    res += e * e;
    tot += d * d;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}

export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  return { r2: r2(yTrue, yPred), mse: mse(yTrue, yPred), mae: mae(yTrue, yPred), mape: mape(yTrue, yPred) };
}
