// scikit-learn's `train_test_split(..., test_size, random_state=seed)` on row indices (ShuffleSplit semantics):
// test = the first ceil(test_size · n) entries of the permutation, train = the rest, both in permutation order.
import { permutation } from './mt19937.js';

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/** Number of test rows: ceil(test_size · n) for a fraction in (0, 1), or test_size itself for an integer ≥ 1. */
export function testCount(n: number, testSize: number): number {
  if (typeof testSize !== 'number' || !Number.isFinite(testSize) || testSize <= 0) {
    throw new RangeError(`test_size must be a fraction between 0 and 1 or a whole number of rows, got ${testSize}`);
  }
  const nTest = testSize < 1 ? Math.ceil(testSize * n) : testSize;
  if (!Number.isInteger(nTest)) throw new RangeError(`test_size above 1 must be a whole number of rows, got ${testSize}`);
  if (nTest >= n || nTest < 1) {
    throw new RangeError(`test_size ${testSize} leaves ${n - nTest} of ${n} rows for training; use a smaller test_size`);
  }
  return nTest;
}

export function trainTestSplit(n: number, testSize: number, seed: number): Split {
  const nTest = testCount(n, testSize);
  const perm = permutation(n, seed);
  return { test: perm.slice(0, nTest), train: perm.slice(nTest) };
}
