// Inputs changed mid-run: a dep (or a module stage's code) edited while its stage runs. The result must not be
// recorded (exit 1, a message saying which input changed), and the next run executes again on the new content and
// records that.
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, readLock, recordedOutsProblems, runJson, runRecords, sha256, startCli, storeIn, tempDir, waitFor, type CliProcess } from '../helpers/workspace.js';

/** The stage has written its `started` mark (the run is still going). */
const startedMark = (run: CliProcess, file: string) => waitFor(() => existsSync(file), 30_000, `${file} to appear`, run);

/** The run records in the workspace's store. */
const records = (ws: string) => runRecords(storeIn(ws)).map((r) => r.record);

describe('torture: inputs changed while their stage runs', function () {
  after(cleanupAll);

  it('a dep edited mid-run (same size) is not recorded; the next run re-executes on the new content', async function () {
    const marks = tempDir('midrun-marks');
    const started = path.join(marks, 'started');
    const go = path.join(marks, 'go');
    const ws = writerWorkspace('midrun', `version: 1
stages:
  digest:
    cmd: ${JSON.stringify(['node', 'tools/writer.mjs', '--out', 'build/digest.bin', '--kb', '256', '--seed', 'd', '--in', 'data/input.txt', '--started', started, '--wait-for', go])}
    deps: [data/input.txt]
    outs: [build/digest.bin]
  after:
    cmd: ${JSON.stringify(['node', 'tools/writer.mjs', '--out', 'build/after.bin', '--kb', '64', '--seed', 'x', '--in', 'build/digest.bin'])}
    needs: [digest]
    outs: [build/after.bin]
`);
    mkdirSync(path.join(ws, 'data'));
    const input = path.join(ws, 'data', 'input.txt');
    writeFileSync(input, 'version one\n');

    // The stage reads its input (it is hashed into the output key), then waits; the input changes meanwhile.
    const run = startCli(ws, ['run', '--json']);
    await startedMark(run, started);
    writeFileSync(input, 'version two\n');
    writeFileSync(go, '');
    const first = await run.result;
    expect(first.exitCode, first.stdout + first.stderr).to.equal(1);
    expect(first.stdout + first.stderr).to.match(/input `data\/input\.txt` changed while the stage ran; its outputs were not recorded/);
    const statuses = JSON.parse(first.stdout.trim().split('\n').at(-1)!) as { stages: { name: string; status: string }[] };
    expect(statuses.stages.map((s) => `${s.name}:${s.status}`)).to.deep.equal(['digest:failed', 'after:blocked']);
    expect(readLock(ws).stages.digest, 'digest in pipeline.lock').to.equal(undefined);
    expect(records(ws).filter((r) => r.stage === 'digest'), 'run records of digest').to.deep.equal([]);
    expect(existsSync(path.join(ws, 'build', 'digest.bin')), 'the unrecorded output is not left in place').to.equal(false);

    // The next run executes on the new content and records it; the output is the one for "version two".
    rmSync(started);
    const second = await runJson(ws);
    expect(second.exitCode, second.stdout + second.stderr).to.equal(0);
    expect(second.statuses).to.deep.equal({ digest: 'ran', after: 'ran' });
    const entry = readLock(ws).stages.digest as unknown as { deps: Record<string, string>; outs: { hash: string }[] };
    expect(entry.deps['data/input.txt']).to.equal(sha256('version two\n'));
    expect(sha256(readFileSync(path.join(ws, 'build', 'digest.bin')))).to.equal(entry.outs[0].hash);

    // Reference: the same stage run on "version two" from scratch writes the same bytes.
    const ref = writerWorkspace('midrun-ref', readFileSync(path.join(ws, 'pipeline.yaml'), 'utf8'));
    mkdirSync(path.join(ref, 'data'));
    writeFileSync(path.join(ref, 'data', 'input.txt'), 'version two\n');
    const r = await runJson(ref, ['digest']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    expect(readFileSync(path.join(ref, 'build', 'digest.bin')).equals(readFileSync(path.join(ws, 'build', 'digest.bin')))).to.equal(true);
    expect(recordedOutsProblems(ws)).to.deep.equal([]);

    const third = await runJson(ws);
    expect(third.statuses).to.deep.equal({ digest: 'cached', after: 'cached' });
  });

  it('a previous result stays in place and recorded when a re-run sees its dep change mid-run', async function () {
    const marks = tempDir('midrun2-marks');
    const started = path.join(marks, 'started');
    const go = path.join(marks, 'go');
    const ws = writerWorkspace('midrun2', `version: 1
stages:
  digest:
    cmd: ${JSON.stringify(['node', 'tools/writer.mjs', '--out', 'build/digest.bin', '--kb', '256', '--seed', 'd', '--in', 'data/input.txt', '--started', started, '--wait-for', go])}
    deps: [data/input.txt]
    outs: [build/digest.bin]
`);
    mkdirSync(path.join(ws, 'data'));
    const input = path.join(ws, 'data', 'input.txt');
    writeFileSync(input, 'first\n');
    writeFileSync(go, '');
    expect((await runJson(ws)).exitCode).to.equal(0);
    const before = readFileSync(path.join(ws, 'build', 'digest.bin'));
    const lockBefore = readFileSync(path.join(ws, 'pipeline.lock'), 'utf8');

    rmSync(go);
    rmSync(started);
    writeFileSync(input, 'second\n');
    const run = startCli(ws, ['run']);
    await startedMark(run, started);
    writeFileSync(input, 'third!\n');
    writeFileSync(go, '');
    const r = await run.result;
    expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
    expect(r.stdout + r.stderr).to.include('input `data/input.txt` changed while the stage ran');
    // The last good result is back in place and pipeline.lock still describes it.
    expect(readFileSync(path.join(ws, 'build', 'digest.bin')).equals(before)).to.equal(true);
    expect(readFileSync(path.join(ws, 'pipeline.lock'), 'utf8')).to.equal(lockBefore);

    const next = await runJson(ws);
    expect(next.statuses).to.deep.equal({ digest: 'ran' });
    expect((readLock(ws).stages.digest as unknown as { deps: Record<string, string> }).deps['data/input.txt']).to.equal(sha256('third!\n'));
  });

  it('a module stage whose code is edited mid-run is not recorded', async function () {
    const marks = tempDir('midrun3-marks');
    const started = path.join(marks, 'started');
    const go = path.join(marks, 'go');
    const ws = writerWorkspace('midrun3', `version: 1
stages:
  mod:
    module: stages/mod.ts
    outs: [build/mod.txt]
`);
    mkdirSync(path.join(ws, 'stages'));
    const moduleText = (word: string) => `import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { helper } from './helper.js';
export default async function (ctx: { outs: Record<string, string> }) {
  writeFileSync(${JSON.stringify(started)}, '');
  while (!existsSync(${JSON.stringify(go)})) await sleep(10);
  writeFileSync(ctx.outs['build/mod.txt'], helper(${JSON.stringify(word)}));
}
`;
    writeFileSync(path.join(ws, 'stages', 'mod.ts'), moduleText('one'));
    writeFileSync(path.join(ws, 'stages', 'helper.ts'), 'export const helper = (w: string): string => `${w}\\n`;\n');
    const run = startCli(ws, ['run']);
    await startedMark(run, started);
    // Edit an imported file, not the entry: the whole import closure counts as the stage's code.
    writeFileSync(path.join(ws, 'stages', 'helper.ts'), 'export const helper = (w: string): string => `<${w}>\\n`;\n');
    writeFileSync(go, '');
    const r = await run.result;
    expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
    expect(r.stdout + r.stderr).to.include('code `stages/helper.ts` changed while the stage ran');
    expect(readLock(ws).stages.mod).to.equal(undefined);

    const next = await runJson(ws);
    expect(next.exitCode, next.stdout + next.stderr).to.equal(0);
    expect(next.statuses).to.deep.equal({ mod: 'ran' });
    expect(readFileSync(path.join(ws, 'build', 'mod.txt'), 'utf8')).to.equal('<one>\n');
  });
});
