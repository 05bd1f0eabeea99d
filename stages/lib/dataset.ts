// The compact binary form of a train or test set (build/data/train.bin, build/data/test.bin).
//
// Layout, little-endian, 16 + 8·n·p + 8·n + 4·n bytes:
//   offset 0    4 bytes  magic "PLDS"
//          4    uint32   format version, 1
//          8    uint32   n, the number of rows
//         12    uint32   p, the number of features
//         16    float64  X, n·p values, row-major: row i, feature j at 16 + 8·(i·p + j)
//   16 + 8np    float64  y, n values
//   16 + 8np + 8n int32  source row of each row (0-based line of the data file), n values
// The feature names live in build/data/summary.json. With p = 8: 16 + 76·n bytes (train 1,254,928, test 313,744).
import { readFile } from 'node:fs/promises';

export interface Dataset {
  n: number;
  p: number;
  /** Row-major, n × p. */
  X: Float64Array;
  y: Float64Array;
  /** 0-based row of the source file each row came from. */
  rows: Int32Array;
}

const MAGIC = 'PLDS';
const VERSION = 1;
const HEADER = 16;

export function datasetSize(n: number, p: number): number {
  return HEADER + 8 * n * p + 8 * n + 4 * n;
}

/** Gather the given rows of a full row-major matrix into a dataset, in the order given. */
export function takeRows(X: Float64Array, y: Float64Array, p: number, rows: Int32Array): Dataset {
  const n = rows.length;
  const out: Dataset = { n, p, X: new Float64Array(n * p), y: new Float64Array(n), rows: Int32Array.from(rows) };
  const outX = out.X;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    for (let j = 0, from = r * p, to = i * p; j < p; j++) outX[to + j] = X[from + j];
    out.y[i] = y[r];
  }
  return out;
}

/**
 * Whether this machine stores numbers little-endian, as the file does: then a typed array's bytes are the file's
 * bytes and are copied as one block; otherwise each value is written and read through Buffer's LE accessors.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of a typed array (a view, not a copy). */
function bytesOf(a: Float64Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function encodeDataset(d: Dataset): Buffer {
  const { n, p } = d;
  if (d.X.length !== n * p || d.y.length !== n || d.rows.length !== n) throw new Error('dataset arrays do not match n and p');
  const buf = Buffer.alloc(datasetSize(n, p));
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(VERSION, 4);
  buf.writeUInt32LE(n, 8);
  buf.writeUInt32LE(p, 12);
  if (LITTLE_ENDIAN) {
    buf.set(bytesOf(d.X), HEADER);
    buf.set(bytesOf(d.y), HEADER + 8 * n * p);
    buf.set(bytesOf(d.rows), HEADER + 8 * n * p + 8 * n);
    return buf;
  }
  let o = HEADER;
  for (let k = 0; k < n * p; k++, o += 8) buf.writeDoubleLE(d.X[k], o);
  for (let i = 0; i < n; i++, o += 8) buf.writeDoubleLE(d.y[i], o);
  for (let i = 0; i < n; i++, o += 4) buf.writeInt32LE(d.rows[i], o);
  return buf;
}

export function decodeDataset(buf: Uint8Array, file: string): Dataset {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const rerun = 'Re-run the load stage to rebuild it';
  if (b.length < HEADER || b.toString('latin1', 0, 4) !== MAGIC) {
    throw new Error(`${file}: not a pipeline data set (no "${MAGIC}" header). ${rerun}`);
  }
  const version = b.readUInt32LE(4);
  if (version !== VERSION) throw new Error(`${file}: data set format version ${version}, expected ${VERSION}. ${rerun}`);
  const n = b.readUInt32LE(8);
  const p = b.readUInt32LE(12);
  const size = datasetSize(n, p);
  if (b.length !== size) {
    throw new Error(`${file}: ${b.length} bytes, but a data set of ${n} rows × ${p} features has ${size}; it is truncated or corrupt. ${rerun}`);
  }
  const d: Dataset = { n, p, X: new Float64Array(n * p), y: new Float64Array(n), rows: new Int32Array(n) };
  if (LITTLE_ENDIAN) {
    bytesOf(d.X).set(b.subarray(HEADER, HEADER + 8 * n * p));
    bytesOf(d.y).set(b.subarray(HEADER + 8 * n * p, HEADER + 8 * n * p + 8 * n));
    bytesOf(d.rows).set(b.subarray(HEADER + 8 * n * p + 8 * n, size));
    return d;
  }
  let o = HEADER;
  for (let k = 0; k < n * p; k++, o += 8) d.X[k] = b.readDoubleLE(o);
  for (let i = 0; i < n; i++, o += 8) d.y[i] = b.readDoubleLE(o);
  for (let i = 0; i < n; i++, o += 4) d.rows[i] = b.readInt32LE(o);
  return d;
}

export async function readDataset(file: string): Promise<Dataset> {
  return decodeDataset(await readFile(file), file);
}
