// The California-housing file (cal_housing.data, as the canonical archive ships it) parsed strictly, and the features
// derived exactly as scikit-learn's `fetch_california_housing`: columns reordered, three ratios over households,
// target in units of 100,000.

export const RAW_COLUMNS = [
  'longitude',
  'latitude',
  'housingMedianAge',
  'totalRooms',
  'totalBedrooms',
  'population',
  'households',
  'medianIncome',
  'medianHouseValue',
] as const;

export const FEATURES = ['MedInc', 'HouseAge', 'AveRooms', 'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude'];
export const TARGET = 'MedHouseVal';

/** A bad line in the data file: `file:line:col: what` plus how to fix it. Nothing has been written when it is thrown. */
export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly detail: string,
    readonly hint: string,
  ) {
    super(`${file}:${line}:${col}: ${detail}. ${hint}`);
    this.name = 'DataError';
  }
}

export interface Housing {
  n: number;
  /** Row-major features, n × 8, in the order of FEATURES. */
  X: Float64Array;
  y: Float64Array;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i;
const HINT_VALUE = 'Fix or remove that row, or point load.source at an intact copy of the data';

/**
 * Parse the text of cal_housing.data. Accepted: LF or CRLF line ends, an optional final newline, a UTF-8 byte-order
 * mark, blanks around a value. Refused, naming line and column: a header row or any other non-numeric value, NaN or
 * ±Infinity (also by overflow), a row without exactly 9 fields, a blank line, households ≤ 0, an empty file.
 *
 * Each line is read in place (no split into strings) when it is 9 plain decimals — digits with at most one point,
 * an optional sign, no blanks, no exponent, at most 15 digits — whose values are then exact: the digits as an
 * integer (below 2^53) divided by a power of ten up to 10^15, both exact doubles, so the one correctly rounded
 * division gives the double nearest the decimal, as `Number` does. Any other line goes through the full reading
 * (`readLine`), which accepts what it allows and names what it refuses.
 */
export function parseHousing(text: string, file: string): Housing {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // As many lines as `text.split('\n')` gives with a final empty piece dropped.
  let n = text.endsWith('\n') ? 0 : 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) n++;
  const firstEnd = text.indexOf('\n');
  if (n === 0 || (n === 1 && text.slice(0, firstEnd === -1 ? text.length : firstEnd).trim() === '')) {
    throw new DataError(file, 1, 1, 'the file is empty: no rows', 'Point load.source at cal_housing.data (20,640 rows of 9 numbers)');
  }
  const X = new Float64Array(n * FEATURES.length);
  const y = new Float64Array(n);
  const v = new Float64Array(RAW_COLUMNS.length);
  for (let i = 0, start = 0; i < n; i++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const contentEnd = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (!plainRow(text, start, contentEnd, v)) readLine(text.slice(start, end), i + 1, v, file);
    const households = v[6];
    if (households <= 0) {
      throw new DataError(
        file,
        i + 1,
        fieldStart(text.slice(start, contentEnd).split(','), 6),
        `households is ${households}; it must be positive (AveRooms, AveBedrms and AveOccup divide by it)`,
        HINT_VALUE,
      );
    }
    start = end + 1;
    const o = i * FEATURES.length;
    X[o] = v[7];
    X[o + 1] = v[2];
    X[o + 2] = v[3] / households;
    X[o + 3] = v[4] / households;
    X[o + 4] = v[5];
    X[o + 5] = v[5] / households;
    X[o + 6] = v[1];
    X[o + 7] = v[0];
    y[i] = v[8] / 100000;
  }
  return { n, X, y };
}

/** 10^k for k ≤ 15: exact doubles. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * The 9 values of text[start, end) into v when each is a plain decimal (see parseHousing); false, with v partly
 * written, for anything else (blanks, an exponent, more than 15 digits, a wrong field count, anything not a number).
 */
function plainRow(text: string, start: number, end: number, v: Float64Array): boolean {
  let pos = start;
  for (let k = 0; k < RAW_COLUMNS.length; k++) {
    let c = pos < end ? text.charCodeAt(pos) : -1;
    const negative = c === 45;
    if (c === 45 || c === 43) pos++;
    let m = 0;
    let digits = 0;
    let decimals = 0;
    let point = false;
    for (; pos < end; pos++) {
      c = text.charCodeAt(pos);
      if (c >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        digits++;
        if (point) decimals++;
      } else if (c === 46 && !point) point = true;
      else break;
    }
    if (digits === 0 || digits > 15) return false;
    if (k < RAW_COLUMNS.length - 1) {
      if (pos >= end || text.charCodeAt(pos) !== 44) return false;
      pos++;
    } else if (pos !== end) return false;
    v[k] = (negative ? -m : m) / POW10[decimals];
  }
  return true;
}

/** One line read in full: its 9 values into v, or the DataError naming what is wrong and where. */
function readLine(raw: string, lineNo: number, v: Float64Array, file: string): void {
  let line = raw;
  if (line.endsWith('\r')) line = line.slice(0, -1);
  if (line.trim() === '') {
    throw new DataError(file, lineNo, 1, 'blank line', 'Remove blank lines: every line must hold one row of 9 comma-separated numbers');
  }
  const fields = line.split(',');
  if (fields.length !== RAW_COLUMNS.length) {
    const col = fields.length > RAW_COLUMNS.length ? fieldStart(fields, RAW_COLUMNS.length) : line.length + 1;
    throw new DataError(file, lineNo, col, `expected 9 comma-separated fields (${RAW_COLUMNS.join(', ')}), found ${fields.length}`, HINT_VALUE);
  }
  for (let k = 0; k < fields.length; k++) {
    const value = fields[k].trim();
    if (!NUMBER.test(value)) {
      const col = fieldStart(fields, k) + (fields[k].length - fields[k].trimStart().length);
      if (NON_FINITE.test(value)) {
        throw new DataError(file, lineNo, col, `${RAW_COLUMNS[k]} is ${JSON.stringify(value)}, not a finite number`, HINT_VALUE);
      }
      const header = lineNo === 1 && /[A-Za-z_]/.test(value);
      throw new DataError(
        file,
        lineNo,
        col,
        `${RAW_COLUMNS[k]} is ${JSON.stringify(value)}, not a number`,
        header ? 'The file must not have a header row: delete line 1' : HINT_VALUE,
      );
    }
    const x = Number(value);
    if (!Number.isFinite(x)) {
      throw new DataError(file, lineNo, fieldStart(fields, k), `${RAW_COLUMNS[k]} ${value} overflows to a non-finite number`, HINT_VALUE);
    }
    v[k] = x;
  }
}

/** 1-based column where field k starts. */
function fieldStart(fields: string[], k: number): number {
  let col = 1;
  for (let j = 0; j < k; j++) col += fields[j].length + 1;
  return col;
}
