// The monotonic clock durations are measured with. `performance.now()` would do, but Node.js loads its whole
// perf_hooks module on the first use of the global (≈ 1 ms at every start); process.hrtime is already there.

/** Milliseconds on a monotonic clock (of no fixed origin: only differences mean anything). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
