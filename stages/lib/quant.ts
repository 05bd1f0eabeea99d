// Post-training quantization of a linear model's coefficients, two schemes, any width from 2 to 16 bits (the
// pipeline sweeps 8 and 16):
//
// minmax — per-tensor asymmetric: w as float32, one min and one scale = (2^bits − 1)/(max − min) for all
//          coefficients, q = round((w − min)·scale) as unsigned integers, dequantized w = q/scale + min.
// pow2   — per-feature power-of-two pre-scale, then per-tensor symmetric: each feature j gets an exponent
//          e_j = round(log2 σ_j) (σ_j its standard deviation on the train set), the weight is expressed per 2^e_j units
//          of its feature, u_j = w_j·2^e_j, and those comparable numbers share one scale = (2^(bits−1) − 1)/max|u|:
//          q_j = round(u_j·scale) as signed integers, dequantized w_j = q_j/(scale·2^e_j). At inference the input is
//          shifted instead (x_j·2^−e_j is exact in floating point), the dot product uses the integer weights, and the
//          one scale is applied after.
// Both keep the intercept in float64 and bias-correct it on the train set: intercept + mean(y − (X·w_dq + intercept)).
//
// Packed binary (<scheme>.bin), little-endian:
//   0  4 bytes  magic "PQLM"
//   4  uint8    format version, 1
//   5  uint8    scheme: 1 = minmax, 2 = pow2
//   6  uint8    bits: 2 to 16
//   7  uint8    p, the number of coefficients
//   8  float64  intercept (bias-corrected)
//  16  float32  scale
//  20  minmax: float32 min            | pow2: p × int8 exponents e_j
//  ..  p × q as `bits`-bit integers, unsigned (minmax) or two's complement (pow2), packed least significant bit
//      first, the last byte padded with zero bits: for 8 and 16 bits, exactly uint8/uint16 (int8/int16) little-endian
// Size: minmax 24 + ⌈p·bits/8⌉ bytes (p = 8: 32 and 40), pow2 20 + p + ⌈p·bits/8⌉ bytes (p = 8: 36 and 44).

export const SCHEMES = ['minmax', 'pow2'] as const;
export type Scheme = (typeof SCHEMES)[number];
/** The widths a quantized weight may have: from 2 bits (pow2 needs a sign bit and one more) to 16. */
export const MIN_BITS = 2;
export const MAX_BITS = 16;
/** A bit width from MIN_BITS to MAX_BITS (checkBits). */
export type Bits = number;

export interface QuantModel {
  scheme: Scheme;
  bits: Bits;
  /** Integer weights. */
  q: Int32Array;
  /** The float32 scale. */
  scale: number;
  /** minmax: the float32 minimum. */
  min: number;
  /** pow2: per-feature exponents (empty for minmax). */
  exponents: Int8Array;
  /** Bias-corrected intercept. */
  intercept: number;
}

const MAGIC = 'PQLM';
const VERSION = 1;
const SCHEME_ID: Record<Scheme, number> = { minmax: 1, pow2: 2 };

export function isScheme(s: string): s is Scheme {
  return (SCHEMES as readonly string[]).includes(s);
}

export function isBits(bits: unknown): bits is Bits {
  return typeof bits === 'number' && Number.isInteger(bits) && bits >= MIN_BITS && bits <= MAX_BITS;
}

export function checkBits(bits: unknown): Bits {
  if (!isBits(bits)) throw new RangeError(`bits must be a whole number from ${MIN_BITS} to ${MAX_BITS}, got ${JSON.stringify(bits)}`);
  return bits;
}

/** Round half to even, as numpy's np.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Per-tensor min/max quantization of float32 weights (intercept to be set by the caller). */
export function quantizeMinmax(coef: ArrayLike<number>, bits: Bits): QuantModel {
  const p = coef.length;
  const w = Float32Array.from(coef);
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < p; j++) {
    lo = Math.min(lo, w[j]);
    hi = Math.max(hi, w[j]);
  }
  const qmax = 2 ** bits - 1;
  const scale = hi > lo ? Math.fround(qmax / (hi - lo)) : 1;
  const q = new Int32Array(p);
  for (let j = 0; j < p; j++) q[j] = clamp(roundHalfEven((w[j] - lo) * scale), 0, qmax);
  return { scheme: 'minmax', bits, q, scale, min: lo, exponents: new Int8Array(0), intercept: 0 };
}

/** The pow2 exponent for a feature of standard deviation σ: round(log2 σ), 0 for a constant feature. */
export function pow2Exponent(sigma: number): number {
  if (!(sigma > 0) || !Number.isFinite(sigma)) return 0;
  return clamp(Math.round(Math.log2(sigma)), -126, 127);
}

/** Per-feature power-of-two pre-scale, then per-tensor symmetric quantization (intercept to be set by the caller). */
export function quantizePow2(coef: ArrayLike<number>, bits: Bits, featureStd: ArrayLike<number>): QuantModel {
  const p = coef.length;
  if (featureStd.length !== p) throw new RangeError(`pow2: ${featureStd.length} feature deviations for ${p} coefficients`);
  const exponents = new Int8Array(p);
  const u = new Float64Array(p);
  let maxAbs = 0;
  for (let j = 0; j < p; j++) {
    exponents[j] = pow2Exponent(featureStd[j]);
    u[j] = coef[j] * 2 ** exponents[j];
    maxAbs = Math.max(maxAbs, Math.abs(u[j]));
  }
  const qmax = 2 ** (bits - 1) - 1;
  const scale = maxAbs > 0 ? Math.fround(qmax / maxAbs) : 1;
  const q = new Int32Array(p);
  for (let j = 0; j < p; j++) q[j] = clamp(roundHalfEven(u[j] * scale), -qmax, qmax);
  return { scheme: 'pow2', bits, q, scale, min: 0, exponents, intercept: 0 };
}

/**
 * The scale of each element: the weight's quantization step is 1/scale_j, so |w_j − dequantized w_j| ≤ 1/(2·scale_j)
 * (for minmax, w_j is the float32 weight).
 */
export function elementScales(m: QuantModel): Float64Array {
  const out = new Float64Array(m.q.length);
  for (let j = 0; j < out.length; j++) out[j] = m.scheme === 'minmax' ? m.scale : m.scale * 2 ** m.exponents[j];
  return out;
}

export function dequantize(m: QuantModel): Float64Array {
  const out = new Float64Array(m.q.length);
  for (let j = 0; j < out.length; j++) {
    out[j] = m.scheme === 'minmax' ? m.q[j] / m.scale + m.min : m.q[j] / (m.scale * 2 ** m.exponents[j]);
  }
  return out;
}

/** intercept + mean over the rows of (y − (X·w + intercept)), i.e. mean(y − X·w). */
export function biasCorrectedIntercept(X: Float64Array, y: Float64Array, n: number, p: number, w: ArrayLike<number>, intercept: number): number {
  let s = 0;
  for (let i = 0, o = 0; i < n; i++, o += p) {
    let dot = 0;
    for (let j = 0; j < p; j++) dot += X[o + j] * w[j];
    s += y[i] - (dot + intercept);
  }
  return intercept + s / n;
}

/** Predictions with the integer weights in the dot product and the scales applied after it. */
export function predictQuantized(m: QuantModel, X: Float64Array, n: number, p: number): Float64Array {
  if (m.q.length !== p) throw new RangeError(`quantized model has ${m.q.length} weights, the data ${p} features`);
  const out = new Float64Array(n);
  if (m.scheme === 'minmax') {
    for (let i = 0, o = 0; i < n; i++, o += p) {
      let dot = 0;
      let sum = 0;
      for (let j = 0; j < p; j++) {
        dot += m.q[j] * X[o + j];
        sum += X[o + j];
      }
      out[i] = dot / m.scale + m.min * sum + m.intercept;
    }
  } else {
    const shift = new Float64Array(p);
    for (let j = 0; j < p; j++) shift[j] = 2 ** -m.exponents[j];
    for (let i = 0, o = 0; i < n; i++, o += p) {
      let dot = 0;
      for (let j = 0; j < p; j++) dot += m.q[j] * (X[o + j] * shift[j]);
      out[i] = dot / m.scale + m.intercept;
    }
  }
  return out;
}

export function packedSize(scheme: Scheme, bits: Bits, p: number): number {
  return 20 + (scheme === 'minmax' ? 4 : p) + Math.ceil((p * bits) / 8);
}

/** Writes `q` as `bits`-bit integers (two's complement when signed), least significant bit first, from byte `o`. */
function packBits(buf: Buffer, o: number, q: Int32Array, bits: Bits): void {
  const mask = 2 ** bits - 1;
  let bit = 0;
  for (const v of q) {
    const u = v & mask;
    for (let b = 0; b < bits; b++, bit++) if ((u >> b) & 1) buf[o + (bit >> 3)] |= 1 << (bit & 7);
  }
}

/** Reads `p` integers of `bits` bits written by packBits (sign-extended when signed). */
function unpackBits(b: Buffer, o: number, p: number, bits: Bits, signed: boolean): Int32Array {
  const q = new Int32Array(p);
  let bit = 0;
  for (let j = 0; j < p; j++) {
    let u = 0;
    for (let k = 0; k < bits; k++, bit++) if ((b[o + (bit >> 3)] >> (bit & 7)) & 1) u |= 1 << k;
    q[j] = signed && u >= 2 ** (bits - 1) ? u - 2 ** bits : u;
  }
  return q;
}

export function packQuant(m: QuantModel): Buffer {
  const p = m.q.length;
  if (p > 255) throw new RangeError(`a packed model holds at most 255 weights, got ${p}`);
  const buf = Buffer.alloc(packedSize(m.scheme, m.bits, p));
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt8(VERSION, 4);
  buf.writeUInt8(SCHEME_ID[m.scheme], 5);
  buf.writeUInt8(m.bits, 6);
  buf.writeUInt8(p, 7);
  buf.writeDoubleLE(m.intercept, 8);
  buf.writeFloatLE(m.scale, 16);
  let o = 20;
  if (m.scheme === 'minmax') {
    buf.writeFloatLE(m.min, o);
    o += 4;
  } else {
    for (let j = 0; j < p; j++) buf.writeInt8(m.exponents[j], o++);
  }
  const [lo, hi] = m.scheme === 'minmax' ? [0, 2 ** m.bits - 1] : [-(2 ** (m.bits - 1)), 2 ** (m.bits - 1) - 1];
  if (m.q.some((v) => v < lo || v > hi)) throw new RangeError(`${m.scheme}-${m.bits}: a weight is outside ${lo}..${hi}`);
  packBits(buf, o, m.q, m.bits);
  return buf;
}

export function unpackQuant(bytes: Uint8Array, file: string): QuantModel {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (what: string) => new Error(`${file}: ${what}; not an intact quantized model. Rebuild it with \`npx pipeline run\``);
  if (b.length < 20 || b.toString('latin1', 0, 4) !== MAGIC) throw bad(`no "${MAGIC}" header`);
  if (b.readUInt8(4) !== VERSION) throw bad(`format version ${b.readUInt8(4)}, expected ${VERSION}`);
  const id = b.readUInt8(5);
  const scheme = SCHEMES.find((s) => SCHEME_ID[s] === id);
  if (!scheme) throw bad(`unknown scheme id ${id}`);
  const bits = b.readUInt8(6);
  if (!isBits(bits)) throw bad(`bits ${String(bits)}`);
  const p = b.readUInt8(7);
  const size = packedSize(scheme, bits, p);
  if (b.length !== size) throw bad(`${b.length} bytes, expected ${size} for ${scheme} ${bits}-bit with ${p} weights`);
  const intercept = b.readDoubleLE(8);
  const scale = b.readFloatLE(16);
  if (!Number.isFinite(intercept) || !(scale > 0) || !Number.isFinite(scale)) throw bad('non-finite intercept or scale');
  let o = 20;
  let min = 0;
  const exponents = new Int8Array(scheme === 'pow2' ? p : 0);
  if (scheme === 'minmax') {
    min = b.readFloatLE(o);
    if (!Number.isFinite(min)) throw bad('non-finite min');
    o += 4;
  } else {
    for (let j = 0; j < p; j++) exponents[j] = b.readInt8(o++);
  }
  const q = unpackBits(b, o, p, bits, scheme === 'pow2');
  const used = p * bits;
  if (used % 8 !== 0 && b[b.length - 1] >> (used % 8) !== 0) throw bad('non-zero padding bits after the last weight');
  return { scheme, bits, q, scale, min, exponents, intercept };
}
