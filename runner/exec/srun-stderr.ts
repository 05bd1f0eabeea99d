// srun's stderr, as the runner reads it: srun runs verbose (`-v`), and its own lines (`srun: …`) are kept out of
// the stage's log and out of a failure's reason; one of them names the step it launched (`launching StepId=J.S`).

/** srun's line that names the step it launched. */
const LAUNCHING = /^srun: launching StepId=([0-9]+\.[0-9]+)\b/;

/** srun's stderr split: the step's own lines go on, srun's (`srun: …`) are kept aside, the step's id taken from them. */
export class SrunStderr {
  private pending = '';
  stepId: string | undefined;
  /** srun's own lines (its errors say why a step could not be made). */
  readonly own: string[] = [];

  filter(data?: Buffer): Buffer {
    const text = this.pending + (data ? data.toString('latin1') : '');
    const lines = text.split('\n');
    this.pending = data ? lines.pop()! : '';
    const kept: string[] = [];
    for (const line of lines) {
      if (!line.startsWith('srun: ')) {
        kept.push(line);
        continue;
      }
      this.stepId ??= LAUNCHING.exec(line)?.[1];
      this.own.push(line);
      if (this.own.length > 50) this.own.shift();
    }
    const out = data ? kept.map((l) => `${l}\n`).join('') : kept.join('\n');
    return Buffer.from(out, 'latin1');
  }
}
