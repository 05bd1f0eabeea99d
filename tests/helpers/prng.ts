/** mulberry32: a small seeded PRNG, uniform in [0, 1), so a run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed in environment variable `name` (to replay a run), else a fresh one. */
export function seedFromEnv(name: string): number {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : (Date.now() ^ (process.pid << 8)) >>> 0;
}
