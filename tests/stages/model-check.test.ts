// The quick structural check of model.json (no zod) must agree with the zod schema: it accepts a model only when
// the schema does. Every mutation below is judged by both.
import { expect } from 'chai';
import { isValidModel, modelSchema } from '../../stages/lib/model.js';
import { GOOD_MODEL as good } from './model-fixture.js';


const variants: [string, unknown][] = [
  ['the model as written', good],
  ['keys in another order', Object.fromEntries(Object.entries(good).reverse())],
  ['an extra key', { ...good, extra: 1 }],
  ['a __proto__ key', JSON.parse(JSON.stringify(good).replace('{', '{"__proto__": {"x": 1},'))],
  ['a missing key', (({ intercept: _, ...rest }) => rest)(good)],
  ['another format', { ...good, format: 'pickle' }],
  ['version 2', { ...good, version: 2 }],
  ['an empty target', { ...good, target: '' }],
  ['a 201-character target', { ...good, target: 'x'.repeat(201) }],
  ['a 200-character target', { ...good, target: 'x'.repeat(200) }],
  ['no features', { ...good, features: [], coefficients: [] }],
  ['duplicate features', { ...good, features: ['a', 'a'] }],
  ['a numeric feature name', { ...good, features: ['a', 2] }],
  ['features not an array', { ...good, features: 'ab' }],
  ['more coefficients than features', { ...good, coefficients: [1, 2, 3] }],
  ['an infinite coefficient', { ...good, coefficients: [Infinity, 1] }],
  ['a NaN coefficient', { ...good, coefficients: [NaN, 1] }],
  ['a string coefficient', { ...good, coefficients: ['1', 2] }],
  ['a null intercept', { ...good, intercept: null }],
  ['an infinite intercept', { ...good, intercept: -Infinity }],
  ['train_rows 0', { ...good, train_rows: 0 }],
  ['train_rows 1.5', { ...good, train_rows: 1.5 }],
  ['train_rows 2^60', { ...good, train_rows: 2 ** 60 }],
  ['an upper-case sha256', { ...good, data_sha256: 'A'.repeat(64) }],
  ['a short sha256', { ...good, source_sha256: 'b'.repeat(63) }],
  ['a split with an extra key', { ...good, split: { seed: 1, test_size: 0.2, shuffle: false } }],
  ['a split without test_size', { ...good, split: { seed: 1 } }],
  ['a negative seed', { ...good, split: { seed: -1, test_size: 0.2 } }],
  ['test_size 0', { ...good, split: { seed: 1, test_size: 0 } }],
  ['an array split', { ...good, split: [1, 0.2] }],
  ['an array', [1, 2]],
  ['null', null],
  ['a number', 7],
  ['1,000 features', { ...good, features: Array.from({ length: 1000 }, (_, i) => `f${i}`), coefficients: new Array(1000).fill(0) }],
  ['1,001 features', { ...good, features: Array.from({ length: 1001 }, (_, i) => `f${i}`), coefficients: new Array(1001).fill(0) }],
];

describe('model.json quick check', () => {
  for (const [what, value] of variants) {
    it(`agrees with the schema on ${what}`, () => {
      expect(isValidModel(value), what).to.equal(modelSchema().safeParse(value).success);
    });
  }

  it('accepts the model as written without the schema', () => {
    expect(isValidModel(good)).to.equal(true);
  });
});
