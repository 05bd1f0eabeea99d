import { expect } from 'chai';
import { fitOls, predictLinear } from '../../stages/lib/ols.js';
import { expectRel, ref } from './reference.js';
import { loadRealSplit } from './real-data.js';

describe('OLS', () => {
  it('coefficients and intercept equal scikit-learn’s LinearRegression to 1e-9 relative', () => {
    const { train } = loadRealSplit();
    const fit = fitOls(train.X, train.y, train.n, train.p);
    ref.linear_regression.coef.forEach((c, j) => expectRel(fit.coef[j], c, 1e-9, ref.features[j]));
    expectRel(fit.intercept, ref.linear_regression.intercept, 1e-9, 'intercept');
  });

  it('test-set predictions equal scikit-learn’s', () => {
    const { train, test } = loadRealSplit();
    const fit = fitOls(train.X, train.y, train.n, train.p);
    const pred = predictLinear(test.X, test.n, test.p, fit.coef, fit.intercept);
    ref.linear_regression.test_pred_first10.forEach((v, i) => expectRel(pred[i], v, 1e-9, `row ${i}`));
  });

  it('recovers an exact linear relation with columns of very different magnitudes', () => {
    const n = 1000;
    const p = 3;
    const X = new Float64Array(n * p);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i * p] = Math.sin(i);
      X[i * p + 1] = 30000 * Math.cos(i * 0.7) + 1e5;
      X[i * p + 2] = 1e-3 * ((i * 7919) % 101);
      y[i] = 2 * X[i * p] - 3e-6 * X[i * p + 1] + 500 * X[i * p + 2] + 4;
    }
    const fit = fitOls(X, y, n, p);
    expectRel(fit.coef[0], 2, 1e-10);
    expectRel(fit.coef[1], -3e-6, 1e-8);
    expectRel(fit.coef[2], 500, 1e-10);
    expectRel(fit.intercept, 4, 1e-9);
  });

  it('refuses a constant or collinear feature, naming it', () => {
    const n = 10;
    const X = new Float64Array(n * 2);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i * 2] = i;
      X[i * 2 + 1] = 5;
      y[i] = i;
    }
    expect(() => fitOls(X, y, n, 2, ['a', 'b'])).to.throw(/feature b \(column 2\) is constant/);
    for (let i = 0; i < n; i++) X[i * 2 + 1] = 2 * i + 1;
    expect(() => fitOls(X, y, n, 2, ['a', 'b'])).to.throw(/collinear/);
    expect(() => fitOls(X, y, 2, 2)).to.throw(RangeError);
  });
});
