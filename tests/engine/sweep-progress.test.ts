// The sweep's progress display: plain lines with counts off a terminal (and with CI=true on one), a live area on a
// terminal showing each running variant with its changed params and the stages it runs now.
import { expect } from 'chai';
import { SweepLines, SweepLive, sweepProgressFor } from '../../runner/report/sweep-progress.js';
import type { RunEvent } from '../../runner/exec/events.js';

function stream(isTTY: boolean) {
  const s = { text: '', isTTY, columns: 60, rows: 24, write: (chunk: string) => ((s.text += chunk), true), on: () => s, once: () => s, removeListener: () => s };
  return s;
}
// eslint-disable-next-line no-control-regex
const plain = (text: string) => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
const started = (name: string) => ({ type: 'stage-started', name, reasons: [] }) as unknown as RunEvent;

describe('sweep progress', () => {
  it('prints a line per variant start and end with the counts when not on a terminal', () => {
    const s = stream(false);
    const p = new SweepLines(s as unknown as NodeJS.WriteStream, 2);
    p.started('exp-a', 'gate.r2_min=0.3');
    p.started('exp-b', 'gate.r2_min=0.9');
    p.event('exp-a', started('train'));
    p.finished('exp-a', { ok: true });
    p.finished('exp-b', { ok: false, reason: 'stage `gate` (gate): r2 0.6 < 0.9' });
    p.close();
    expect(s.text.split('\n').filter(Boolean)).to.deep.equal([
      'exp exp-a: started (gate.r2_min=0.3); 0/2 done, 0 failed, 1 running',
      'exp exp-b: started (gate.r2_min=0.9); 0/2 done, 0 failed, 2 running',
      'exp exp-a: ok; 1/2 done, 0 failed, 1 running',
      'exp exp-b: failed: stage `gate` (gate): r2 0.6 < 0.9; 2/2 done, 1 failed, 0 running',
    ]);
  });

  it('chooses plain lines on a terminal when CI=true, and the live area otherwise', async () => {
    const saved = process.env.CI;
    try {
      process.env.CI = 'true';
      const inCi = await sweepProgressFor(stream(true) as unknown as NodeJS.WriteStream, 1);
      expect(inCi).to.be.instanceOf(SweepLines).and.not.instanceOf(SweepLive);
      delete process.env.CI;
      const onTty = await sweepProgressFor(stream(true) as unknown as NodeJS.WriteStream, 1);
      expect(onTty).to.be.instanceOf(SweepLive);
      onTty.close();
      const piped = await sweepProgressFor(stream(false) as unknown as NodeJS.WriteStream, 1);
      expect(piped).not.to.be.instanceOf(SweepLive);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });

  it('on a terminal shows the counts and each running variant with its stages, finished ones as lines above', async () => {
    const s = stream(true);
    const p = await SweepLive.create(s as unknown as NodeJS.WriteStream, 3);
    p.started('exp-a', 'quantize.bits=8');
    p.started('exp-b', 'quantize.bits=16');
    p.event('exp-a', started('train'));
    p.event('exp-b', started('quantize@16'));
    p.render();
    let screen = plain(s.text);
    expect(screen).to.contain('exp: 0/3 done, 0 failed, 2 running');
    expect(screen).to.match(/exp-a\s+\S+\s+quantize\.bits=8\s+\[train\]/);
    expect(screen).to.match(/exp-b\s+\S+\s+quantize\.bits=16\s+\[quantize@16\]/);
    p.finished('exp-a', { ok: true });
    screen = plain(s.text);
    expect(screen).to.match(/exp exp-a: ok \(\d+ms\)\n/);
    expect(screen.slice(screen.lastIndexOf('exp exp-a: ok'))).to.contain('exp: 1/3 done, 0 failed, 1 running');
    p.close();
    // A long line is cut to the terminal's width.
    const wide = stream(true);
    const q = await SweepLive.create(wide as unknown as NodeJS.WriteStream, 1);
    q.started('exp-long', 'x'.repeat(200));
    q.render();
    for (const line of plain(wide.text).split('\n')) expect(line.length).to.be.at.most(60);
    q.close();
  });
});
