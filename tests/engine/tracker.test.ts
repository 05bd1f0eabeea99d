// A stage finishes once per run: the tracker the scheduler's events pass through refuses a second finish, a start
// after a finish, a retry of a stage that has not started or has finished, and a second end of the run. A retry
// (stage-retry) is not a finish. And `run --json` carries a retry among its `events`.
import { expect } from 'chai';
import { StageTracker, TrackerError } from '../../runner/exec/tracker.js';
import type { RunEvent, RunSummary } from '../../runner/exec/events.js';
import type { StageResult } from '../../runner/exec/outcome.js';
import { JsonListener } from '../../runner/report/listeners.js';
import { LineReporter } from '../../runner/report/progress.js';

const ran = (name: string): StageResult => ({ name, outcome: { kind: 'ran' }, reasons: [{ code: 'never-run' }], durationMs: 5 });
const finished = (name: string): RunEvent => ({ type: 'stage-finished', result: ran(name) });
const started = (name: string): RunEvent => ({ type: 'stage-started', name, reasons: [{ code: 'never-run' }] });
const retry = (name: string, attempt: number): RunEvent => ({ type: 'stage-retry', name, attempt, cause: { kind: 'exit', exitCode: 1, message: 'flaky' } });
const summary: RunSummary = { ok: true, exitCode: 0, stages: [ran('fit')], startedAt: new Date(0), durationMs: 5 };

function sink(): NodeJS.WriteStream & { text: string } {
  const s = { text: '', isTTY: false, write: (chunk: string) => ((s.text += chunk), true) };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('stage tracker: a stage finishes once', () => {
  it('a second finish of a stage is refused', () => {
    const t = new StageTracker();
    t.check(started('fit'));
    t.check(finished('fit'));
    expect(t.finished('fit')).to.equal(true);
    expect(() => t.check(finished('fit'))).to.throw(TrackerError, 'stage `fit` finished twice');
  });

  it('a stage that finishes without starting (fresh, restored, blocked) finishes once too', () => {
    const t = new StageTracker();
    t.check(finished('prepare'));
    expect(() => t.check(finished('prepare'))).to.throw(TrackerError, 'finished twice');
    expect(() => t.check(started('prepare'))).to.throw(TrackerError, 'stage `prepare` started again after it finished');
  });

  it('a stage starts once', () => {
    const t = new StageTracker();
    t.check(started('fit'));
    expect(() => t.check(started('fit'))).to.throw(TrackerError, 'stage `fit` started again after it started');
  });

  it('retries are not finishes: attempts 2, 3 follow the start, then the one finish', () => {
    const t = new StageTracker();
    t.check(started('fit'));
    t.check(retry('fit', 2));
    expect(t.finished('fit')).to.equal(false);
    t.check(retry('fit', 3));
    t.check(finished('fit'));
    expect(t.finished('fit')).to.equal(true);
  });

  it('a retry before the start, after the finish, or out of order is refused', () => {
    const t = new StageTracker();
    expect(() => t.check(retry('fit', 2))).to.throw(TrackerError, 'stage `fit` retried before it started');
    t.check(started('fit'));
    expect(() => t.check(retry('fit', 3))).to.throw(TrackerError, 'stage `fit`: attempt 3 follows attempt 1');
    t.check(finished('fit'));
    expect(() => t.check(retry('fit', 2))).to.throw(TrackerError, 'stage `fit` retried after it finished');
  });

  it('the run finishes once; notices pass whatever the stages are at', () => {
    const t = new StageTracker();
    t.check({ type: 'lock-wait', pid: 1, started: 'then', command: 'pipeline run' });
    t.check({ type: 'warning', warning: { code: 'remote-failed', message: 'down', notPulled: [], notPushed: [] } });
    t.check({ type: 'run-finished', summary });
    expect(() => t.check({ type: 'run-finished', summary })).to.throw(TrackerError, 'the run finished twice');
  });

  it('a retry on the terminal and in run --json: a running line saying which attempt and why, an event in the document', () => {
    const term = sink();
    const json = sink();
    const listeners = [new LineReporter(term, ['fit'], { showOutput: true, notices: term }), new JsonListener(json)];
    for (const e of [started('fit'), retry('fit', 2), finished('fit'), { type: 'run-finished', summary } as RunEvent]) for (const l of listeners) l.event(e);
    expect(term.text.split('\n')[1]).to.equal('fit       running  attempt 2, after: flaky');
    const doc = JSON.parse(json.text);
    expect(doc.warnings).to.equal(undefined);
    expect(doc.events).to.deep.equal([
      { type: 'stage-retry', message: 'attempt 2, after: flaky', name: 'fit', attempt: 2, cause: { kind: 'exit', exitCode: 1, message: 'flaky' } },
    ]);
  });
});
