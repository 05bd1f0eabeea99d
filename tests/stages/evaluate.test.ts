import { expect } from 'chai';
import { predictionsCsv, type Evaluation } from '../../stages/lib/evaluate.js';

describe('predictions CSV', () => {
  it('writes a header, then one row per test row: actual, then each model in order, as shortest round-trip numbers', () => {
    const ev: Evaluation = {
      actual: Float64Array.from([4.526, -0, 1e21]),
      predictions: new Map([
        ['float', Float64Array.from([4.1317586593, 1e-7, -2.5])],
        ['minmax-8', Float64Array.from([0.1 + 0.2, 5e-324, Number.MAX_VALUE])],
      ]),
      metrics: new Map(),
    };
    expect(predictionsCsv(ev)).to.equal(
      'actual,float,minmax-8\n4.526,4.1317586593,0.30000000000000004\n0,1e-7,5e-324\n1e+21,-2.5,1.7976931348623157e+308\n',
    );
  });
});
