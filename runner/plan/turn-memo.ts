// What the module closure checks read in one turn of the event loop: the modules of one run, checked together,
// share their lookups (the same `lib/x.js.ts` candidates, the same config files) and the hashes of the files they
// share (`stages/lib/*.ts`); a check in a later turn (after a stage ran or wrote) reads again.

export class TurnMemo {
  private seen?: Map<string, unknown>;

  /** `compute()`'s value for `key`, computed once in this turn. */
  once<T>(key: string, compute: () => T): T {
    if (!this.seen) {
      this.seen = new Map();
      setImmediate(() => (this.seen = undefined));
    }
    if (this.seen.has(key)) return this.seen.get(key) as T;
    const value = compute();
    this.seen.set(key, value);
    return value;
  }
}
