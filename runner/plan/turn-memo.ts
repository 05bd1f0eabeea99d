// What the module closure checks read, shared: the modules of one run, checked together, share their lookups (the
// same `lib/x.js.ts` candidates, the same config files) and the hashes of the files they share (`stages/lib/*.ts`).
// Until this process changes the workspace (`everyTurn`: a stage is about to execute or have its outs restored),
// what the first check read is what any later one would read: nothing of the run wrote there, and an edit from
// outside is met by the next run either way. From then on a check in a later turn of the event loop reads again,
// so a file a stage wrote after a check is never answered from before it.

export class TurnMemo {
  private seen?: Map<string, unknown>;

  /** `lasting`: entries outlive their turn until `everyTurn()`. */
  constructor(private lasting = false) {}

  /** `compute()`'s value for `key`, computed once in this turn (or, while lasting, once until `everyTurn`). */
  once<T>(key: string, compute: () => T): T {
    if (!this.seen) {
      this.seen = new Map();
      if (!this.lasting) setImmediate(() => (this.seen = undefined));
    }
    if (this.seen.has(key)) return this.seen.get(key) as T;
    const value = compute();
    this.seen.set(key, value);
    return value;
  }

  /** From now on each turn reads again: what was read so far is dropped now (the workspace is about to change). */
  everyTurn(): void {
    if (!this.lasting) return;
    this.lasting = false;
    this.seen = undefined;
  }
}
