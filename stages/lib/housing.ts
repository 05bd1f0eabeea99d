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
 */
export function parseHousing(text: string, file: string): Housing {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0 || (lines.length === 1 && lines[0].trim() === '')) {
    throw new DataError(file, 1, 1, 'the file is empty: no rows', 'Point load.source at cal_housing.data (20,640 rows of 9 numbers)');
  }
  const n = lines.length;
  const X = new Float64Array(n * FEATURES.length);
  const y = new Float64Array(n);
  const v = new Float64Array(RAW_COLUMNS.length);
  for (let i = 0; i < n; i++) {
    const lineNo = i + 1;
    let line = lines[i];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      throw new DataError(file, lineNo, 1, 'blank line', 'Remove blank lines: every line must hold one row of 9 comma-separated numbers');
    }
    const fields = line.split(',');
    if (fields.length !== RAW_COLUMNS.length) {
      const col = fields.length > RAW_COLUMNS.length ? fieldStart(fields, RAW_COLUMNS.length) : line.length + 1;
      throw new DataError(
        file,
        lineNo,
        col,
        `expected 9 comma-separated fields (${RAW_COLUMNS.join(', ')}), found ${fields.length}`,
        HINT_VALUE,
      );
    }
    for (let k = 0; k < fields.length; k++) {
      const raw = fields[k].trim();
      if (!NUMBER.test(raw)) {
        const col = fieldStart(fields, k) + (fields[k].length - fields[k].trimStart().length);
        if (NON_FINITE.test(raw)) {
          throw new DataError(file, lineNo, col, `${RAW_COLUMNS[k]} is ${JSON.stringify(raw)}, not a finite number`, HINT_VALUE);
        }
        const header = lineNo === 1 && /[A-Za-z_]/.test(raw);
        throw new DataError(
          file,
          lineNo,
          col,
          `${RAW_COLUMNS[k]} is ${JSON.stringify(raw)}, not a number`,
          header ? 'The file must not have a header row: delete line 1' : HINT_VALUE,
        );
      }
      const x = Number(raw);
      if (!Number.isFinite(x)) {
        throw new DataError(file, lineNo, fieldStart(fields, k), `${RAW_COLUMNS[k]} ${raw} overflows to a non-finite number`, HINT_VALUE);
      }
      v[k] = x;
    }
    const households = v[6];
    if (households <= 0) {
      throw new DataError(
        file,
        lineNo,
        fieldStart(fields, 6),
        `households is ${households}; it must be positive (AveRooms, AveBedrms and AveOccup divide by it)`,
        HINT_VALUE,
      );
    }
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

/** 1-based column where field k starts. */
function fieldStart(fields: string[], k: number): number {
  let col = 1;
  for (let j = 0; j < k; j++) col += fields[j].length + 1;
  return col;
}
