import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { datasetSize, decodeDataset, encodeDataset } from '../../stages/lib/dataset.js';
import { DataError, FEATURES, parseHousing } from '../../stages/lib/housing.js';
import { realData } from './harness.js';
import { expectRel, ref } from './reference.js';
import { loadRealSplit } from './real-data.js';

const GOOD = '-122.230000,37.880000,41.000000,880.000000,129.000000,322.000000,126.000000,8.325200,452600.000000';
const GOOD2 = '-122.220000,37.860000,21.000000,7099.000000,1106.000000,2401.000000,1138.000000,8.301400,358500.000000';
const f64sha = (a: Float64Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

function parseError(text: string): DataError {
  try {
    parseHousing(text, 'cal.data');
  } catch (err) {
    expect(err).to.be.instanceOf(DataError);
    return err as DataError;
  }
  throw new Error('expected a DataError');
}

describe('cal_housing.data parsing', () => {
  it('derives scikit-learn’s features bit for bit: the split train/test matrices hash as numpy’s', () => {
    const { train, test } = loadRealSplit();
    expect(f64sha(train.X)).to.equal(ref.split.X_train_sha256_f64le);
    expect(f64sha(train.y)).to.equal(ref.split.y_train_sha256_f64le);
    expect(f64sha(test.X)).to.equal(ref.split.X_test_sha256_f64le);
    expect(f64sha(test.y)).to.equal(ref.split.y_test_sha256_f64le);
    expect(Array.from(test.X.slice(0, 8))).to.deep.equal(ref.split.test_first3.X[0]);
    expect(test.y[2]).to.equal(ref.split.test_first3.y[2]);
    expect(FEATURES).to.deep.equal(ref.features);
  });

  it('parses all 20,640 rows of the real file', () => {
    const h = parseHousing(readFileSync(realData, 'utf8'), realData);
    expect(h.n).to.equal(20640);
    expect(h.X.length).to.equal(20640 * 8);
  });

  it('computes the first row’s features as fetch_california_housing does', () => {
    const h = parseHousing(`${GOOD}\n`, 'x');
    expect(Array.from(h.X)).to.deep.equal([8.3252, 41, 880 / 126, 129 / 126, 322, 322 / 126, 37.88, -122.23]);
    expectRel(h.y[0], 4.526, 1e-15);
  });

  it('accepts CRLF line ends, no final newline, a byte-order mark and blanks around values, with identical numbers', () => {
    const plain = parseHousing(`${GOOD}\n${GOOD2}\n`, 'x');
    for (const text of [`${GOOD}\r\n${GOOD2}\r\n`, `${GOOD}\n${GOOD2}`, `\ufeff${GOOD}\n${GOOD2}\n`, `${GOOD.replace(/,/g, ' , ')}\n${GOOD2}\n`]) {
      const h = parseHousing(text, 'x');
      expect(Array.from(h.X)).to.deep.equal(Array.from(plain.X));
      expect(Array.from(h.y)).to.deep.equal(Array.from(plain.y));
    }
  });

  it('reads every plain decimal to the very double Number() gives (signs, leading or trailing point, 1 to 17 digits, exponents)', () => {
    // A fixed-seed generator: the same rows every run. Plain decimals of up to 15 digits take the in-place reading;
    // longer ones, exponents and a leading `+` are in the mix so both readings are compared with Number().
    let state = 0x9e3779b9;
    const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const digits = (count: number) => Array.from({ length: count }, () => String(Math.floor(next() * 10))).join('');
    const decimal = () => {
      const sign = ['', '', '-', '+'][Math.floor(next() * 4)];
      const total = 1 + Math.floor(next() * 17);
      const cut = Math.floor(next() * (total + 1));
      const body = [`${digits(total)}`, `${digits(cut)}.${digits(total - cut)}`, `.${digits(total)}`, `${digits(total)}.`][Math.floor(next() * 4)];
      const exponent = next() < 0.1 ? `e${Math.floor(next() * 40) - 20}` : '';
      return `${sign}${body === '.' ? '0' : body}${exponent}`;
    };
    const rows: string[][] = [];
    for (let i = 0; i < 4000; i++) {
      const row = Array.from({ length: 9 }, decimal);
      row[6] = `${1 + Math.floor(next() * 5000)}.${digits(3)}`; // households must be positive
      rows.push(row);
    }
    const h = parseHousing(`${rows.map((r) => r.join(',')).join('\n')}\n`, 'x');
    const wrong: string[] = [];
    rows.forEach((r, i) => {
      const v = r.map(Number);
      const want = [v[7], v[2], v[3] / v[6], v[4] / v[6], v[5], v[5] / v[6], v[1], v[0], v[8] / 100000];
      const got = [...h.X.subarray(i * 8, i * 8 + 8), h.y[i]];
      if (got.some((x, k) => !Object.is(x, want[k]))) wrong.push(r.join(','));
    });
    expect(wrong).to.deep.equal([]);
    expect(parseHousing(`${withField(0, '-0.0')}\n`, 'x').X[7]).to.equal(-0);
  });

  const fields = GOOD.split(',');
  const withField = (k: number, v: string) => fields.map((f, i) => (i === k ? v : f)).join(',');

  it('refuses a row with too few fields, naming line and column', () => {
    const e = parseError(`${GOOD}\n${fields.slice(0, 8).join(',')}\n`);
    expect(e.line).to.equal(2);
    expect(e.col).to.equal(fields.slice(0, 8).join(',').length + 1);
    expect(e.message).to.match(/^cal\.data:2:\d+: expected 9 comma-separated fields .*found 8\. Fix or remove that row/);
  });

  it('refuses a row with too many fields, pointing at the first extra one', () => {
    const e = parseError(`${GOOD},1\n`);
    expect([e.line, e.col]).to.deep.equal([1, GOOD.length + 2]);
    expect(e.message).to.contain('found 10');
  });

  it('refuses a non-numeric value with its column', () => {
    const e = parseError(`${GOOD}\n${GOOD}\n${withField(3, 'abc')}\n`);
    expect([e.line, e.col]).to.deep.equal([3, fields.slice(0, 3).join(',').length + 2]);
    expect(e.message).to.contain('totalRooms is "abc", not a number');
  });

  it('refuses NaN, Infinity, inf and values that overflow to infinity', () => {
    for (const v of ['NaN', 'nan', 'Infinity', '-inf', '+INF']) {
      const e = parseError(withField(7, v));
      expect(e.message, v).to.contain(`medianIncome is "${v}", not a finite number`);
      expect(e.col).to.equal(fields.slice(0, 7).join(',').length + 2);
    }
    expect(parseError(withField(0, '1e999')).message).to.contain('longitude 1e999 overflows');
  });

  it('refuses zero (and negative) households, since three features divide by it', () => {
    const e = parseError(`${GOOD}\n${withField(6, '0')}\n`);
    expect([e.line, e.col]).to.deep.equal([2, fields.slice(0, 6).join(',').length + 2]);
    expect(e.message).to.contain('households is 0; it must be positive');
    expect(parseError(withField(6, '-3')).message).to.contain('households is -3');
  });

  it('refuses an empty file, a whitespace-only file and a blank line', () => {
    for (const text of ['', '\n', '  \n']) expect(parseError(text).message, JSON.stringify(text)).to.contain('the file is empty');
    const e = parseError(`${GOOD}\n\n${GOOD}\n`);
    expect([e.line, e.col]).to.deep.equal([2, 1]);
    expect(e.message).to.contain('blank line');
  });

  it('refuses a header row, saying to delete it', () => {
    const e = parseError(`longitude,latitude,housingMedianAge,totalRooms,totalBedrooms,population,households,medianIncome,medianHouseValue\n${GOOD}\n`);
    expect([e.line, e.col]).to.deep.equal([1, 1]);
    expect(e.message).to.contain('The file must not have a header row: delete line 1');
  });

  it('refuses other number spellings numpy would not read as a plain decimal (hex, an empty field)', () => {
    expect(parseError(withField(2, '0x10')).message).to.contain('"0x10", not a number');
    expect(parseError(withField(2, '')).message).to.contain('housingMedianAge is "", not a number');
  });
});

describe('binary data set', () => {
  it('round-trips exactly and has the documented size', () => {
    const { test } = loadRealSplit();
    const buf = encodeDataset(test);
    expect(buf.length).to.equal(16 + 76 * 4128);
    expect(buf.length).to.equal(313744);
    expect(datasetSize(16512, 8)).to.equal(1254928);
    const back = decodeDataset(buf, 'test.bin');
    expect(back.n).to.equal(test.n);
    expect(f64sha(back.X)).to.equal(f64sha(test.X));
    expect(Array.from(back.rows)).to.deep.equal(Array.from(test.rows));
  });

  it('lays out every value little-endian at its documented offset, and reads them back from an unaligned copy', () => {
    const { test } = loadRealSplit();
    const buf = encodeDataset(test);
    const n = test.n;
    const p = test.p;
    for (const i of [0, 1, n - 1]) {
      for (let j = 0; j < p; j++) expect(buf.readDoubleLE(16 + 8 * (i * p + j))).to.equal(test.X[i * p + j]);
      expect(buf.readDoubleLE(16 + 8 * n * p + 8 * i)).to.equal(test.y[i]);
      expect(buf.readInt32LE(16 + 8 * n * p + 8 * n + 4 * i)).to.equal(test.rows[i]);
    }
    const unaligned = new Uint8Array(buf.length + 3).subarray(3);
    unaligned.set(buf);
    const back = decodeDataset(unaligned, 'test.bin');
    expect(f64sha(back.X)).to.equal(f64sha(test.X));
    expect(f64sha(back.y)).to.equal(f64sha(test.y));
    expect(Array.from(back.rows)).to.deep.equal(Array.from(test.rows));
  });

  it('refuses a truncated, foreign or wrong-version file, naming it', () => {
    const { test } = loadRealSplit();
    const buf = encodeDataset(test);
    expect(() => decodeDataset(buf.subarray(0, buf.length - 1), 'test.bin')).to.throw(/test\.bin: 313743 bytes.*truncated or corrupt.*Re-run the load stage/);
    expect(() => decodeDataset(Buffer.from('hello world, not data'), 'x.bin')).to.throw(/x\.bin: not a pipeline data set/);
    const v2 = Buffer.from(buf);
    v2.writeUInt32LE(2, 4);
    expect(() => decodeDataset(v2, 'x.bin')).to.throw(/format version 2/);
  });
});
