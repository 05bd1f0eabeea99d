import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { MT19937, permutation } from '../../stages/lib/mt19937.js';
import { testCount, trainTestSplit } from '../../stages/lib/split.js';
import { ref } from './reference.js';

const sha = (a: Int32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

describe('MT19937 and the numpy permutation', () => {
  it('gives numpy’s first outputs for seed 42 (init_genrand)', () => {
    const rng = new MT19937(42);
    const out = Array.from({ length: 10 }, () => rng.nextUint32());
    expect(out.slice(0, 3)).to.deep.equal([1608637542, 3421126067, 4083286876]);
    expect(out).to.deep.equal(ref.mt19937.seed42_first10);
  });

  it('gives numpy’s outputs for seed 0 and across a state refill (output 1001)', () => {
    const r0 = new MT19937(0);
    expect(Array.from({ length: 5 }, () => r0.nextUint32())).to.deep.equal(ref.mt19937.seed0_first5);
    const r = new MT19937(42);
    for (let i = 0; i < 1000; i++) r.nextUint32();
    expect(r.nextUint32()).to.equal(ref.mt19937.seed42_after1000);
  });

  it('refuses seeds numpy refuses', () => {
    expect(() => new MT19937(-1)).to.throw(RangeError);
    expect(() => new MT19937(2 ** 32)).to.throw(RangeError);
    expect(() => new MT19937(1.5)).to.throw(RangeError);
  });

  it('RandomState(42).permutation(20640): checksum of the int32 index array, first and last entries', () => {
    const p = permutation(ref.permutation.n, 42);
    expect(Array.from(p.slice(0, 20))).to.deep.equal(ref.permutation.first20);
    expect(Array.from(p.slice(-5))).to.deep.equal(ref.permutation.last5);
    expect(sha(p)).to.equal(ref.permutation.sha256_int32le);
  });

  it('small permutations for other seeds and sizes (bounds across mask widths, seed 2^32 − 1)', () => {
    for (const [key, expected] of Object.entries(ref.permutation.small)) {
      const [seed, size] = key.split(':').map(Number);
      expect(Array.from(permutation(size, seed)), key).to.deep.equal(expected);
    }
    expect(Array.from(permutation(0, 1))).to.deep.equal([]);
  });
});

describe('train_test_split', () => {
  it('splits 20,640 rows into 16,512 train and 4,128 test, the same rows in the same order as scikit-learn', () => {
    const s = trainTestSplit(ref.n_rows, 0.2, 42);
    expect(s.train.length).to.equal(16512);
    expect(s.test.length).to.equal(4128);
    expect(s.train.length).to.equal(ref.split.n_train);
    expect(s.test.length).to.equal(ref.split.n_test);
    expect(Array.from(s.test.slice(0, 20))).to.deep.equal(ref.split.test_first20);
    expect(Array.from(s.train.slice(0, 20))).to.deep.equal(ref.split.train_first20);
    expect(sha(s.test)).to.equal(ref.split.test_sha256_int32le);
    expect(sha(s.train)).to.equal(ref.split.train_sha256_int32le);
  });

  it('counts test rows as ceil(test_size · n), or takes a whole number of rows', () => {
    expect(testCount(20640, 0.2)).to.equal(4128);
    expect(testCount(10, 0.25)).to.equal(3);
    expect(testCount(10, 4)).to.equal(4);
    for (const bad of [0, -0.1, 10, 11, 2.5, Number.NaN]) expect(() => testCount(10, bad), String(bad)).to.throw(RangeError, /test_size/);
  });
});
