// Ordinary least squares with an intercept, as scikit-learn's LinearRegression: center the columns, solve the normal
// equations of the centered data, intercept = mean(y) − mean(X)·coef. Two passes over the data in float64: the means,
// then the centered cross-products (upper triangle). The Gram matrix is scaled to unit diagonal before the Cholesky
// factorization, so features of very different magnitudes (Population vs AveBedrms) lose no precision.

export interface OlsFit {
  coef: Float64Array;
  intercept: number;
}

/** Fit y ≈ X·coef + intercept. X is row-major n × p. Throws when a feature is constant or the columns are collinear. */
export function fitOls(X: Float64Array, y: Float64Array, n: number, p: number, names?: readonly string[]): OlsFit {
  if (X.length !== n * p || y.length !== n) throw new RangeError(`fitOls: X has ${X.length} values and y ${y.length}, expected ${n}·${p} and ${n}`);
  if (n <= p) throw new RangeError(`fitOls: ${n} rows cannot determine ${p} coefficients and an intercept`);
  const mean = new Float64Array(p);
  let ySum = 0;
  for (let i = 0, o = 0; i < n; i++, o += p) {
    for (let j = 0; j < p; j++) mean[j] += X[o + j];
    ySum += y[i];
  }
  for (let j = 0; j < p; j++) mean[j] /= n;
  const yMean = ySum / n;

  const A = new Float64Array(p * p);
  const b = new Float64Array(p);
  const d = new Float64Array(p);
  for (let i = 0, o = 0; i < n; i++, o += p) {
    for (let j = 0; j < p; j++) d[j] = X[o + j] - mean[j];
    const r = y[i] - yMean;
    for (let j = 0; j < p; j++) {
      const dj = d[j];
      b[j] += dj * r;
      const row = j * p;
      for (let k = j; k < p; k++) A[row + k] += dj * d[k];
    }
  }

  const label = (j: number) => (names?.[j] !== undefined ? `${names[j]} (column ${j + 1})` : `column ${j + 1}`);
  const s = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    if (!(A[j * p + j] > 0)) throw new Error(`fitOls: feature ${label(j)} is constant; remove it`);
    s[j] = Math.sqrt(A[j * p + j]);
  }
  // Scaled symmetric matrix C = D⁻¹AD⁻¹ (lower triangle filled from the upper), right side D⁻¹b.
  const C = new Float64Array(p * p);
  const z = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    z[j] = b[j] / s[j];
    for (let k = j; k < p; k++) {
      const v = A[j * p + k] / (s[j] * s[k]);
      C[j * p + k] = v;
      C[k * p + j] = v;
    }
  }
  const L = cholesky(C, p, label);
  const w = choleskySolve(L, p, z);
  const coef = new Float64Array(p);
  let intercept = yMean;
  for (let j = 0; j < p; j++) {
    coef[j] = w[j] / s[j];
    intercept -= mean[j] * coef[j];
  }
  return { coef, intercept };
}

/** Lower-triangular L with L·Lᵀ = C (row-major p × p). */
export function cholesky(C: Float64Array, p: number, label: (j: number) => string = (j) => `column ${j + 1}`): Float64Array {
  const L = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let diag = C[j * p + j];
    for (let k = 0; k < j; k++) diag -= L[j * p + k] * L[j * p + k];
    if (!(diag > 1e-13)) throw new Error(`fitOls: feature ${label(j)} is a linear combination of the others (collinear); remove it`);
    const ljj = Math.sqrt(diag);
    L[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let v = C[i * p + j];
      for (let k = 0; k < j; k++) v -= L[i * p + k] * L[j * p + k];
      L[i * p + j] = v / ljj;
    }
  }
  return L;
}

/** Solve L·Lᵀ·x = b. */
export function choleskySolve(L: Float64Array, p: number, b: Float64Array): Float64Array {
  const t = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let v = b[i];
    for (let k = 0; k < i; k++) v -= L[i * p + k] * t[k];
    t[i] = v / L[i * p + i];
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let v = t[i];
    for (let k = i + 1; k < p; k++) v -= L[k * p + i] * x[k];
    x[i] = v / L[i * p + i];
  }
  return x;
}

/** X·coef + intercept for every row. */
export function predictLinear(X: Float64Array, n: number, p: number, coef: ArrayLike<number>, intercept: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0, o = 0; i < n; i++, o += p) {
    let s = 0;
    for (let j = 0; j < p; j++) s += X[o + j] * coef[j];
    out[i] = s + intercept;
  }
  return out;
}
