// gc on a store shared by several workspaces (one PIPELINE_CACHE_DIR): gc in one never removes what another
// workspace's pipeline.lock references, nor the previous outs a running stage in another workspace needs to roll
// back; a workspace that was deleted stops protecting anything.
import { expect } from 'chai';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, runCli, runJson, startCli, tempDir, waitFor } from '../helpers/workspace.js';

function ws(prefix: string, seed: string, marks?: { started: string; go: string; fail: string }) {
  const hold = marks ? ` --started ${marks.started} --wait-for ${marks.go} && test ! -e ${marks.fail}` : '';
  return writerWorkspace(prefix, `version: 1\nparams: {v: 1}\nstages:\n  s:\n    cmd: node tools/writer.mjs --out build/out.bin --kb 16 --seed ${seed}${hold}\n    shell: true\n    outs: [build/out.bin]\n`);
}

describe('torture: gc on a store shared by several workspaces', function () {
  after(cleanupAll);

  it("gc in one workspace keeps another's pipeline.lock results; they restore without running", async function () {
    const store = tempDir('gc-store');
    const env = { PIPELINE_CACHE_DIR: store };
    const a = ws('gc-a', 'a');
    const b = ws('gc-b', 'b');
    for (const w of [a, b]) expect((await runCli(w, ['run'], { env })).exitCode).to.equal(0);
    expect((await runCli(a, ['run', '--set', 'v=2'], { env })).exitCode).to.equal(0); // A's first result is now unreferenced
    const bOut = readFileSync(path.join(b, 'build', 'out.bin'));
    for (const [keep, age] of [['0', '0'], ['1', '0'], ['0', '7']]) {
      const r = await runCli(a, ['gc', '--keep-runs', keep, '--max-age', age], { env });
      expect(r.exitCode, r.stderr).to.equal(0);
      rmSync(path.join(b, 'build'), { recursive: true, force: true });
      const again = await runJson(b, [], { env });
      expect(again.statuses.s, `gc --keep-runs ${keep} --max-age ${age}: ${again.stdout}`).to.equal('cached');
      expect(readFileSync(path.join(b, 'build', 'out.bin')).equals(bOut)).to.equal(true);
    }
    expect((await runCli(b, ['cache', 'verify'], { env })).exitCode).to.equal(0);
  });

  it("gc in one workspace keeps another's experiments until that workspace removes them", async function () {
    const store = tempDir('gc-store-exp');
    const env = { PIPELINE_CACHE_DIR: store };
    const a = ws('gc-exp-a', 'a');
    const b = writerWorkspace('gc-exp-b', 'version: 1\nparams: {v: 1}\nstages:\n  s:\n    cmd: node tools/writer.mjs --out build/out.bin --kb 16 --seed b${v}\n    outs: [build/out.bin]\n');
    for (const w of [a, b]) expect((await runCli(w, ['run'], { env })).exitCode).to.equal(0);
    const r = await runCli(b, ['exp', 'run', '--name', 'e2', '--set', 'v=2', '--json'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    const stage = (JSON.parse(r.stdout) as { experiments: { stages: { fingerprint: string; outs: { hash: string }[] }[] }[] }).experiments[0].stages[0];
    const object = path.join(store, 'objects', stage.outs[0].hash.slice(0, 2), stage.outs[0].hash.slice(2));
    const run = path.join(store, 'runs', stage.fingerprint.slice(0, 2), `${stage.fingerprint.slice(2)}.json`);
    expect(existsSync(object) && existsSync(run), 'the experiment stored its result').to.equal(true);
    expect((await runCli(a, ['gc', '--keep-runs', '0', '--max-age', '0'], { env })).exitCode).to.equal(0);
    expect(existsSync(object), "gc in A kept B's experiment's object").to.equal(true);
    expect(existsSync(run), "gc in A kept B's experiment's run record").to.equal(true);
    expect((await runCli(b, ['exp', 'remove', 'e2'], { env })).exitCode).to.equal(0);
    expect((await runCli(a, ['gc', '--keep-runs', '0', '--max-age', '0'], { env })).exitCode).to.equal(0);
    expect(existsSync(object), 'removed in B: no longer kept').to.equal(false);
  });

  it('a deleted workspace stops protecting its results; a live one keeps them', async function () {
    const store = tempDir('gc-store2');
    const env = { PIPELINE_CACHE_DIR: store };
    const a = ws('gc-a2', 'a');
    const b = ws('gc-b2', 'b');
    for (const w of [a, b]) expect((await runCli(w, ['run'], { env })).exitCode).to.equal(0);
    rmSync(b, { recursive: true });
    const r = await runCli(a, ['gc', '--keep-runs', '0', '--max-age', '0'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^removed 1 objects .* and 1 run records/);
    rmSync(path.join(a, 'build'), { recursive: true });
    expect((await runJson(a, [], { env })).statuses.s).to.equal('cached');
  });

  it("gc while a stage runs in another workspace keeps the previous outs it puts back when it fails", async function () {
    const store = tempDir('gc-store3');
    const env = { PIPELINE_CACHE_DIR: store };
    const dir = tempDir('gc-marks');
    const marks = { started: path.join(dir, 'started'), go: path.join(dir, 'go'), fail: path.join(dir, 'fail') };
    const a = ws('gc-a3', 'a');
    const b = ws('gc-b3', 'b', marks);
    writeFileSync(marks.go, '');
    for (const w of [a, b]) expect((await runCli(w, ['run'], { env })).exitCode).to.equal(0);
    const bOut = readFileSync(path.join(b, 'build', 'out.bin'));
    rmSync(marks.go);
    rmSync(marks.started);
    writeFileSync(marks.fail, '');
    // B re-runs with another param: its previous out is secured in the store and cleared; the stage waits.
    const running = startCli(b, ['run', '--set', 'v=2'], { env });
    await waitFor(() => existsSync(marks.started), 30_000, "B's stage to start", running);
    // Meanwhile B's lock entry is made to look unreferenced elsewhere: gc in A with nothing kept by age.
    rmSync(path.join(store, 'roots'), { recursive: true, force: true });
    const r = await runCli(a, ['gc', '--keep-runs', '0', '--max-age', '0'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.include('1 running runs');
    writeFileSync(marks.go, '');
    const done = await running.result;
    expect(done.exitCode, done.stdout + done.stderr).to.equal(1);
    expect(readFileSync(path.join(b, 'build', 'out.bin')).equals(bOut), "B's previous out is back").to.equal(true);
  });
});
