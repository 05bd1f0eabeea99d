// Concurrency: four `pipeline run` processes started together in one workspace are serialized by the run lock —
// every stage records its execution interval and no two intervals overlap — all exit 0 with identical outputs;
// and a lock left by a SIGKILLed run is taken over at once.
import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chainPipeline, writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, filesUnder, killGroup, recordedOutsProblems, runCli, runJson, startCli, tempDir, waitFor, waitForOutput, waitGroupGone } from '../helpers/workspace.js';

interface Interval {
  stage: string;
  start: number;
  end: number;
  pid: number;
}

function intervals(file: string): Interval[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [stage, start, end, pid] = l.split(' ');
      return { stage, start: Number(start), end: Number(end), pid: Number(pid) };
    })
    .sort((a, b) => a.start - b.start);
}

function overlaps(list: Interval[]): string[] {
  const found: string[] = [];
  for (let i = 1; i < list.length; i++) {
    if (list[i].start < list[i - 1].end) {
      found.push(`${list[i - 1].stage} [${list[i - 1].start}, ${list[i - 1].end}] overlaps ${list[i].stage} [${list[i].start}, ${list[i].end}]`);
    }
  }
  return found;
}

/** A `run --json` result with each stage's status by name. */
function withStatuses<T extends { stdout: string }>(r: T) {
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  const parsed = JSON.parse(last) as { stages: { name: string; status: string }[] };
  return { ...r, statuses: Object.fromEntries(parsed.stages.map((s) => [s.name, s.status])) };
}

describe('torture: concurrent runs in one workspace', function () {
  let reference: Map<string, string>;

  before(async function () {
    // The intervals file is part of each command line, so every workspace uses the same path to the same effect.
    const ws = writerWorkspace('conc-ref', chainPipeline(path.join(tempDir('conc-ref-iv'), 'intervals.txt')));
    const r = await runCli(ws, ['run']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    reference = filesUnder(ws, 'build');
  });

  after(cleanupAll);

  async function together(args: string[]) {
    const log = path.join(tempDir('conc-iv'), 'intervals.txt');
    const ws = writerWorkspace('conc', chainPipeline(log));
    const runs = await Promise.all([0, 1, 2, 3].map(() => runJson(ws, args)));
    return { ws, runs, intervals: intervals(log) };
  }

  it('4 runs of an empty workspace: all exit 0, each stage executes once, one at a time', async function () {
    // The first run's stage a is held until the three others have said they wait: all four overlap, however
    // slowly the processes start.
    const marks = tempDir('conc-hold');
    const hold = { started: path.join(marks, 'started'), go: path.join(marks, 'go') };
    const log = path.join(tempDir('conc-iv'), 'intervals.txt');
    const ws = writerWorkspace('conc', chainPipeline(log, hold));
    const first = startCli(ws, ['run', '--json']);
    await waitFor(() => existsSync(hold.started), 120_000, 'the first run to start stage a', first);
    const others = [0, 1, 2].map(() => startCli(ws, ['run', '--json']));
    await Promise.all(others.map((o) => waitForOutput(o, 'waiting for another run of this workspace', 'the three other runs to say they wait')));
    writeFileSync(hold.go, '');
    const runs = (await Promise.all([first, ...others].map((c) => c.result))).map(withStatuses);
    const iv = intervals(log);
    for (const r of runs) expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    expect(iv.map((i) => i.stage).sort()).to.deep.equal(['a', 'b', 'c']);
    expect(overlaps(iv)).to.deep.equal([]);
    const ran = runs.flatMap((r) => Object.entries(r.statuses).filter(([, s]) => s === 'ran').map(([n]) => n));
    expect(ran.sort()).to.deep.equal(['a', 'b', 'c']);
    // The three that waited found everything done.
    expect(runs.filter((r) => Object.values(r.statuses).every((s) => s === 'cached'))).to.have.length(3);
    expect(runs.filter((r) => r.stderr.includes('waiting for another run of this workspace'))).to.have.length(3);
    expect(filesUnder(ws, 'build')).to.deep.equal(reference);
    expect(recordedOutsProblems(ws)).to.deep.equal([]);
  });

  it('4 forced runs: 12 executions, none overlapping, identical outputs', async function () {
    const { ws, runs, intervals: iv } = await together(['--force']);
    for (const r of runs) {
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
      expect(r.statuses).to.deep.equal({ a: 'ran', b: 'ran', c: 'ran' });
    }
    expect(iv).to.have.length(12);
    expect(overlaps(iv)).to.deep.equal([]);
    // Runs do not interleave either: each run's three stages are consecutive.
    const order = iv.map((i) => i.stage).join('');
    expect(order).to.equal('abc'.repeat(4));
    expect(filesUnder(ws, 'build')).to.deep.equal(reference);
    const verify = await runCli(ws, ['cache', 'verify']);
    expect(verify.exitCode, verify.stdout).to.equal(0);
  });

  it('a lock left by a SIGKILLed run is taken over; while it is held, --no-wait exits 4', async function () {
    const marks = tempDir('conc-marks');
    const started = path.join(marks, 'started');
    const go = path.join(marks, 'go');
    const ws = writerWorkspace('conc-kill', `version: 1
stages:
  hold:
    cmd: ${JSON.stringify(['node', 'tools/writer.mjs', '--out', 'build/hold.bin', '--kb', '64', '--seed', 'hold', '--started', started, '--wait-for', go])}
    outs: [build/hold.bin]
`);
    const child = startCli(ws, ['run'], { detached: true });
    await waitFor(() => existsSync(started), 30_000, 'the stage to start', child);

    const busy = await runCli(ws, ['run', '--no-wait']);
    expect(busy.exitCode, busy.stderr).to.equal(4);
    expect(busy.stderr).to.include(`another run holds this workspace (pid ${child.pid}`);

    killGroup(child, 'SIGKILL');
    expect((await child.result).signal).to.equal('SIGKILL');
    await waitGroupGone(child);

    writeFileSync(go, '');
    const after = await runJson(ws, ['--no-wait']);
    expect(after.exitCode, after.stdout + after.stderr).to.equal(0);
    expect(after.statuses).to.deep.equal({ hold: 'ran' });
    expect(after.stderr).to.not.include('waiting for another run');
  });
});
