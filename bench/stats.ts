// Summaries of repeated measurements: median with min and max.

export interface Stats {
  median: number;
  min: number;
  max: number;
  /** Number of measured runs (the warm-up is not counted). */
  n: number;
  samples: number[];
}

export function summarize(samples: number[]): Stats {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: samples.length, samples };
}

/** Apply f to every figure of a summary (e.g. ms → ms/stage). */
export function scale(s: Stats, f: (x: number) => number): Stats {
  return summarize(s.samples.map(f));
}
