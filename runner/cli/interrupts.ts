// Ctrl-C, SIGTERM and SIGHUP while a command works on the workspace: the first one trips an AbortSignal the work
// watches (running stages are stopped, long loops of the store end) and says what is being stopped; the work then
// ends with exit 130. A second one quits at once, after `abandon` stopped synchronously what would outlive the
// runner (stage process groups, Slurm jobs).
import { ExitCode } from '../core/errors.js';
import type { Emit, Notice } from '../exec/events.js';

type Stopping = Extract<Notice, { type: 'interrupt' }>['stopping'];

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export class Interrupts {
  private controller = new AbortController();
  private count = 0;
  private installed = false;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.count++;
    if (this.count > 1) {
      this.abandon();
      process.exit(ExitCode.interrupted);
    }
    this.emit({ type: 'interrupt', signal, stopping: this.stopping() });
    this.controller.abort();
  };

  constructor(
    private readonly emit: Emit,
    /** What the first signal stops, said when it arrives. */
    private readonly stopping: () => Stopping,
    /** What a second signal stops before the runner exits. */
    private readonly abandon: () => void = () => undefined,
  ) {}

  /** Tripped by the first signal after `install`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  install(): void {
    if (this.installed) return;
    this.installed = true;
    for (const s of SIGNALS) process.on(s, this.onSignal);
  }

  /** The handlers go; a later `install` watches for a new interruption (the next run of a session). */
  remove(): void {
    if (!this.installed) return;
    this.installed = false;
    for (const s of SIGNALS) process.off(s, this.onSignal);
    if (this.controller.signal.aborted) {
      this.controller = new AbortController();
      this.count = 0;
    }
  }
}

/** Run `work` with an AbortSignal that Ctrl-C / SIGTERM / SIGHUP trips (a second one quits at once). */
export async function interruptible<T>(emit: Emit, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupts = new Interrupts(emit, () => 'work');
  interrupts.install();
  try {
    return await work(interrupts.signal);
  } finally {
    interrupts.remove();
  }
}
