// The scikit-learn reference values (tests/fixtures/sklearn/reference.json, made by scripts/make-sklearn-fixtures.py).
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { referenceFile } from './harness.js';

export interface Reference {
  features: string[];
  n_rows: number;
  data_sha256: string;
  mt19937: { seed42_first10: number[]; seed0_first5: number[]; seed42_after1000: number };
  permutation: { n: number; first20: number[]; last5: number[]; sha256_int32le: string; small: Record<string, number[]> };
  split: {
    n_train: number;
    n_test: number;
    test_first20: number[];
    train_first20: number[];
    test_sha256_int32le: string;
    train_sha256_int32le: string;
    X_train_sha256_f64le: string;
    y_train_sha256_f64le: string;
    X_test_sha256_f64le: string;
    y_test_sha256_f64le: string;
    test_first3: { X: number[][]; y: number[] };
    train_column_means: number[];
    train_column_std: number[];
    y_train_mean: number;
  };
  linear_regression: { coef: number[]; intercept: number; test_pred_first10: number[] };
  metrics: { r2: number; mse: number; mae: number; mape: number };
  metric_cases: { y_true: number[]; y_pred: number[]; r2: number; mse: number; mae: number; mape: number }[];
  minmax: Record<'8' | '16', { q: number[]; r2: number; r2_without_bias_correction: number }>;
}

export const ref: Reference = JSON.parse(readFileSync(referenceFile, 'utf8'));

/** |actual − expected| ≤ rel·|expected| (or ≤ rel when expected is 0). */
export function expectRel(actual: number, expected: number, rel = 1e-9, what = ''): void {
  const tol = expected === 0 ? rel : rel * Math.abs(expected);
  expect(Math.abs(actual - expected), `${what} ${actual} vs ${expected}`).to.be.at.most(tol);
}
