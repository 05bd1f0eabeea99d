// One execution per fingerprint across the plans of one process (the variants of an experiment sweep): the first
// stage that must run a fingerprint takes it; another stage deciding to run the same fingerprint meanwhile waits for
// that execution to end and decides again, finding its outs in the store. The count of executions is kept.
import type { Decision } from '../plan/decide.js';

export class Flights {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Executions started, by fingerprint. */
  readonly executions = new Map<string, number>();

  /** The fingerprint taken for an execution (the function lets it go), or undefined after waiting for the one under way. */
  private async take(fingerprint: string): Promise<(() => void) | undefined> {
    const running = this.inFlight.get(fingerprint);
    if (running) {
      await running;
      return undefined;
    }
    let release!: () => void;
    this.inFlight.set(fingerprint, new Promise<void>((resolve) => (release = resolve)));
    this.executions.set(fingerprint, (this.executions.get(fingerprint) ?? 0) + 1);
    return () => {
      this.inFlight.delete(fingerprint);
      release();
    };
  }

  /**
   * A decision to carry out: one to run takes its fingerprint first (the returned `release` lets it go when the stage
   * is done); while another plan runs that fingerprint, wait for it and `decide` again.
   */
  async decided(decide: () => Promise<Decision>, first: Decision): Promise<{ decision: Decision; release?: () => void }> {
    let decision = first;
    for (;;) {
      if (decision.action !== 'run') return { decision };
      const release = await this.take(decision.fingerprint);
      if (release) return { decision, release };
      decision = await decide();
    }
  }

  /** Carry out a decision, one to run holding its fingerprint while it does. */
  async carry<T>(first: Decision, decide: () => Promise<Decision>, act: (d: Decision) => Promise<T>): Promise<T> {
    const { decision, release } = await this.decided(decide, first);
    try {
      return await act(decision);
    } finally {
      release?.();
    }
  }

  /** How many stage executions started. */
  get count(): number {
    let n = 0;
    for (const c of this.executions.values()) n += c;
    return n;
  }
}
