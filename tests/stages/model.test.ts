import { expect } from 'chai';
import { ModelError, parseModel } from '../../stages/lib/model.js';
import { GOOD_MODEL as good } from './model-fixture.js';


function refused(text: string): string {
  try {
    parseModel(text, 'build/model/model.json');
  } catch (err) {
    expect(err).to.be.instanceOf(ModelError);
    return (err as Error).message;
  }
  throw new Error('expected the model to be refused');
}

const edit = (patch: Record<string, unknown>) => JSON.stringify({ ...good, ...patch });

describe('model.json schema', () => {
  it('accepts the model it writes and keeps the key order', () => {
    const text = JSON.stringify(good);
    expect(parseModel(text, 'm.json')).to.deep.equal(good);
    expect(Object.keys(good)).to.deep.equal(['format', 'version', 'target', 'features', 'coefficients', 'intercept', 'train_rows', 'data_sha256', 'source_sha256', 'split']);
  });

  it('refuses extra keys, also a __proto__ key', () => {
    expect(refused(edit({ extra: 1 }))).to.match(/^build\/model\/model\.json:1:\d+: not a valid model: \(top level\): Unrecognized key: "extra"\. Rebuild it with `npx pipeline run`/);
    expect(refused(JSON.stringify(good).replace('{', '{"__proto__": {"polluted": true},'))).to.contain('Unrecognized key: "__proto__"');
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(refused(edit({ split: { seed: 1, test_size: 0.2, shuffle: false } }))).to.contain('split: Unrecognized key: "shuffle"');
  });

  it('refuses coefficients of the wrong length, duplicate features and missing keys', () => {
    expect(refused(edit({ coefficients: [1, 2, 3] }))).to.contain('coefficients: 3 coefficients for 2 features');
    expect(refused(edit({ features: ['a', 'a'] }))).to.contain('features.1: duplicate feature "a"');
    const { intercept: _, ...rest } = good;
    expect(refused(JSON.stringify(rest))).to.contain('intercept: Invalid input: expected number');
  });

  it('refuses NaN, Infinity (1e999) and strings as coefficients', () => {
    expect(refused(JSON.stringify(good).replace('1.5', 'NaN'))).to.contain('not valid JSON');
    expect(refused(JSON.stringify(good).replace('1.5', '1e999'))).to.contain('coefficients.0: Invalid input: expected number, received Infinity');
    expect(refused(edit({ coefficients: ['1', 2] }))).to.contain('coefficients.0: Invalid input: expected number, received string');
    expect(refused(edit({ intercept: null }))).to.contain('intercept');
  });

  it('refuses other formats, versions, bad hashes, a non-object and oversized files', () => {
    expect(refused(edit({ format: 'pickle' }))).to.contain('format');
    expect(refused(edit({ version: 2 }))).to.contain('version');
    expect(refused(edit({ data_sha256: 'xyz' }))).to.contain('data_sha256: expected a lowercase hex sha256');
    expect(refused('[1, 2]')).to.contain('(top level)');
    expect(refused(' '.repeat((1 << 20) + 1))).to.contain('too large for a model');
  });
});
