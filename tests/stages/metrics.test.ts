import { expect } from 'chai';
import { mae, mape, mse, r2, regressionMetrics } from '../../stages/lib/metrics.js';
import { fitOls, predictLinear } from '../../stages/lib/ols.js';
import { expectRel, ref } from './reference.js';
import { loadRealSplit } from './real-data.js';

describe('regression metrics (scikit-learn definitions)', () => {
  it('each metric equals scikit-learn on small cases, including MAPE’s epsilon for a zero target', () => {
    for (const c of ref.metric_cases) {
      expectRel(r2(c.y_true, c.y_pred), c.r2, 1e-12, 'r2');
      expectRel(mse(c.y_true, c.y_pred), c.mse, 1e-12, 'mse');
      expectRel(mae(c.y_true, c.y_pred), c.mae, 1e-12, 'mae');
      expectRel(mape(c.y_true, c.y_pred), c.mape, 1e-12, 'mape');
    }
  });

  it('R², MSE, MAE and MAPE on the test set equal scikit-learn’s to 1e-9', () => {
    const { train, test } = loadRealSplit();
    const fit = fitOls(train.X, train.y, train.n, train.p);
    const m = regressionMetrics(test.y, predictLinear(test.X, test.n, test.p, fit.coef, fit.intercept));
    for (const k of ['r2', 'mse', 'mae', 'mape'] as const) expectRel(m[k], ref.metrics[k], 1e-9, k);
  });

  it('R² of a constant target is 1 for a perfect fit and 0 otherwise; mismatched lengths are refused', () => {
    expect(r2([2, 2, 2], [2, 2, 2])).to.equal(1);
    expect(r2([2, 2, 2], [2, 2, 3])).to.equal(0);
    expect(() => mse([1, 2], [1])).to.throw(RangeError);
    expect(() => mae([], [])).to.throw(RangeError);
  });
});
