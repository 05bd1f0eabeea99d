// Column statistics of a row-major matrix, in float64 (two passes for the standard deviation).

export function columnMeans(X: Float64Array, n: number, p: number): Float64Array {
  const m = new Float64Array(p);
  for (let i = 0, o = 0; i < n; i++, o += p) for (let j = 0; j < p; j++) m[j] += X[o + j];
  for (let j = 0; j < p; j++) m[j] /= n;
  return m;
}

/** Population standard deviation (ddof = 0, as numpy's std) of every column. */
export function columnStd(X: Float64Array, n: number, p: number): Float64Array {
  const m = columnMeans(X, n, p);
  const s = new Float64Array(p);
  for (let i = 0, o = 0; i < n; i++, o += p) {
    for (let j = 0; j < p; j++) {
      const d = X[o + j] - m[j];
      s[j] += d * d;
    }
  }
  for (let j = 0; j < p; j++) s[j] = Math.sqrt(s[j] / n);
  return s;
}
