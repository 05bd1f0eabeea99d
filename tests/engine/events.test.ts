// The run's event stream and its listeners: the combination hands every event, in order, to each listener, so the
// terminal, `--json`, last-run.json and the history all describe the same run.
import { expect } from 'chai';
import { CombinationListener, JsonListener } from '../../runner/report/listeners.js';
import { LineReporter } from '../../runner/report/progress.js';
import type { RunEvent, RunListener, RunSummary } from '../../runner/exec/events.js';
import type { StageResult } from '../../runner/exec/outcome.js';

class Recorder implements RunListener {
  readonly events: RunEvent[] = [];
  closed = 0;
  event(event: RunEvent): void {
    this.events.push(event);
  }
  close(): void {
    this.closed++;
  }
}

function sink(): NodeJS.WriteStream & { text: string } {
  const s = { text: '', isTTY: false, write: (chunk: string) => ((s.text += chunk), true) };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

const prepare: StageResult = { name: 'prepare', outcome: { kind: 'fresh' }, reasons: [{ code: 'up-to-date' }], durationMs: 2, fingerprint: 'aa' };
const fit: StageResult = {
  name: 'fit',
  outcome: { kind: 'failed', cause: { kind: 'exit', exitCode: 1, message: 'bad input' } },
  reasons: [{ code: 'param-changed', name: 'alpha', from: 0.1, to: 0.2 }],
  durationMs: 40,
  fingerprint: 'bb',
};
const report: StageResult = { name: 'report', outcome: { kind: 'blocked' }, reasons: [{ code: 'blocked-by', stage: 'fit', gate: false }], durationMs: 0 };
const summary: RunSummary = { ok: false, exitCode: 1, stages: [prepare, fit, report], startedAt: new Date(0), durationMs: 42 };
const EVENTS: RunEvent[] = [
  { type: 'stage-finished', result: prepare },
  { type: 'stage-started', name: 'fit', reasons: fit.reasons },
  { type: 'stage-finished', result: fit, log: 'reading…\nbad input\n' },
  { type: 'stage-finished', result: report },
  { type: 'run-finished', summary },
];

describe('run events: one stream, several listeners', () => {
  it('every listener of a combination sees the same events in the same order, and is closed once', () => {
    const a = new Recorder();
    const b = new Recorder();
    const both = new CombinationListener([a, b]);
    for (const e of EVENTS) both.event(e);
    both.close();
    expect(a.events).to.deep.equal(EVENTS);
    expect(b.events).to.deep.equal(EVENTS);
    expect(a.events[2]).to.equal(b.events[2]);
    expect([a.closed, b.closed]).to.deep.equal([1, 1]);
  });

  it('the terminal and --json, fed by one combination, describe the same stages', () => {
    const term = sink();
    const json = sink();
    const both = new CombinationListener([new LineReporter(term, ['prepare', 'fit', 'report']), new JsonListener(json)]);
    for (const e of EVENTS) both.event(e);
    expect(term.text).to.equal(
      [
        'prepare   cached       2ms  up to date',
        'fit       running  changed param `alpha` (0.1 → 0.2)',
        'fit       failed      40ms  bad input',
        '  │ reading…',
        '  │ bad input',
        'report    blocked      0ms  upstream `fit` failed',
        '3 stages: 0 ran, 1 cached, 1 failed, 1 blocked (42ms)',
        '',
      ].join('\n'),
    );
    const doc = JSON.parse(json.text);
    expect(doc.schemaVersion).to.equal(1);
    expect(doc.stages.map((s: { name: string; status: string; outcome: unknown }) => [s.name, s.status, s.outcome])).to.deep.equal([
      ['prepare', 'cached', { kind: 'fresh' }],
      ['fit', 'failed', { kind: 'failed', cause: { kind: 'exit', exitCode: 1, message: 'bad input' } }],
      ['report', 'blocked', { kind: 'blocked' }],
    ]);
    expect(doc.stages[1].reasons).to.deep.equal([{ code: 'param-changed', message: 'changed param `alpha` (0.1 → 0.2)', name: 'alpha', from: 0.1, to: 0.2 }]);
  });
});
