// SIGKILL fuzz: start `pipeline run` on a fan-out/fan-in pipeline of slow, large writers, kill the runner and
// every stage (the whole process group) at a random moment, then run to completion. After each kill nothing may be
// recorded that does not match its objects; after each completion the outputs are byte-identical to an
// uninterrupted run's, the workspace holds nothing else, and `pipeline cache verify` passes.
// Reproduce a failure with TORTURE_SEED=<printed seed>; TORTURE_ITERATIONS changes the count (default 50).
import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FAN_STAGES, fanPipeline, writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, filesUnder, killGroup, prng, readLock, recordedOutsProblems, runCli, runJson, seedFromEnv, startCli, waitGroupGone } from '../helpers/workspace.js';

const ITERATIONS = Number(process.env.TORTURE_ITERATIONS ?? 50);
const VARIANTS = 3;

interface Reference {
  /** Every file under build/, path → sha256. */
  files: Map<string, string>;
  /** Each stage's recorded outs (path → hash) in an uninterrupted run. */
  outs: Map<string, Map<string, string>>;
  durationMs: number;
}

describe('torture: SIGKILL fuzz', function () {
  const seed = seedFromEnv('TORTURE_SEED');
  const references: Reference[] = [];

  before(async function () {
    console.log(`      SIGKILL fuzz seed: ${seed} (TORTURE_SEED=${seed} reproduces it)`);
    for (let v = 0; v < VARIANTS; v++) {
      const ws = writerWorkspace(`ref${v}`, fanPipeline());
      const t0 = performance.now();
      const r = await runCli(ws, ['run', '-j', '4', '--set', `variant=${v}`]);
      const durationMs = performance.now() - t0;
      expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
      const lock = readLock(ws);
      const outs = new Map(FAN_STAGES.map((s) => [s, new Map(lock.stages[s].outs.map((o) => [o.path, o.hash]))]));
      references.push({ files: filesUnder(ws, 'build'), outs, durationMs });
    }
    // The variants really differ, so a restore of the wrong one would be caught.
    expect(references[0].files.get('build/join.bin')).to.not.equal(references[1].files.get('build/join.bin'));
  });

  after(cleanupAll);

  it(`${ITERATIONS} kills at random moments, each followed by a run to completion`, async function () {
    const rand = prng(seed);
    const ws = writerWorkspace('fuzz', fanPipeline());
    const fullRun = Math.max(...references.map((r) => r.durationMs));
    const stats = { killedMidRun: 0, finishedBeforeKill: 0, wiped: 0, forced: 0, ranAfter: 0, cachedAfter: 0 };
    let lastVariant = -1;

    for (let i = 0; i < ITERATIONS; i++) {
      const variant = Math.floor(rand() * VARIANTS);
      // Kinds of run to interrupt: from scratch, forced re-execution of everything (outputs being replaced), or a
      // switch of variant (stages restored from the run-cache, or executed when that variant was never finished).
      const roll = rand();
      const wipe = roll < 0.15;
      const force = !wipe && roll < 0.55;
      // Kill within the time such a run takes: a full run when stages execute, less when they are restored.
      const expected = wipe || force || variant === lastVariant ? fullRun : fullRun / 3;
      const delay = Math.floor(rand() * expected * 0.9);
      lastVariant = variant;
      const kind = wipe ? 'from scratch' : force ? '--force' : 'switch';
      const where = `iteration ${i} (seed ${seed}, variant ${variant}, ${kind}, kill after ${delay} ms)`;
      if (wipe) {
        stats.wiped++;
        for (const p of ['build', '.pipeline', 'pipeline.lock']) rmSync(path.join(ws, p), { recursive: true, force: true });
      }

      if (force) stats.forced++;
      const args = ['run', '-j', '4', '--set', `variant=${variant}`, ...(force ? ['--force'] : [])];
      const child = startCli(ws, args, { detached: true });
      // The kill moment is the fuzz's random input, not a wait for anything: every assertion below holds whether
      // the kill lands mid-run or after the run finished on its own.
      const killed = await Promise.race([
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), delay)),
        child.result.then(() => false),
      ]);
      if (killed) killGroup(child, 'SIGKILL');
      const first = await child.result;
      await waitGroupGone(child);
      if (process.env.TORTURE_VERBOSE) console.log(`      ${where}: ${first.signal ?? first.exitCode}`);
      if (first.signal === 'SIGKILL') stats.killedMidRun++;
      else {
        stats.finishedBeforeKill++;
        expect(first.exitCode, `${where}: uninterrupted run\n${first.stdout}${first.stderr}`).to.equal(0);
      }

      // Right after the kill: whatever is recorded is whole and is exactly what an uninterrupted run records.
      expect(recordedOutsProblems(ws), `${where}: after the kill`).to.deep.equal([]);
      checkLockAgainstReferences(ws, references, where);
      checkRunRecordsAgainstReferences(ws, references, where);

      const second = await runJson(ws, ['-j', '4', '--set', `variant=${variant}`]);
      expect(second.exitCode, `${where}: completion run\n${second.stdout}${second.stderr}`).to.equal(0);
      stats.ranAfter += Object.values(second.statuses).filter((s) => s === 'ran').length;
      stats.cachedAfter += Object.values(second.statuses).filter((s) => s === 'cached').length;

      const files = filesUnder(ws, 'build');
      expect([...files.keys()], `${where}: files under build/`).to.deep.equal([...references[variant].files.keys()]);
      for (const [file, hash] of references[variant].files) expect(files.get(file), `${where}: ${file}`).to.equal(hash);
      expect(readdirSync(ws).sort(), `${where}: workspace root`).to.deep.equal(['.pipeline', 'build', 'pipeline.lock', 'pipeline.yaml', 'tools']);
      expect(recordedOutsProblems(ws), `${where}: after completion`).to.deep.equal([]);
      checkLockAgainstReferences(ws, references, where, variant);

      const verify = await runCli(ws, ['cache', 'verify']);
      expect(verify.exitCode, `${where}: cache verify\n${verify.stdout}${verify.stderr}`).to.equal(0);

      // And the state is settled: nothing left to do.
      const third = await runJson(ws, ['--set', `variant=${variant}`]);
      expect(third.exitCode, `${where}: no-op run`).to.equal(0);
      expect(Object.values(third.statuses), `${where}: no-op run`).to.deep.equal(FAN_STAGES.map(() => 'cached'));
    }
    console.log(
      `      ${ITERATIONS} iterations: ${stats.killedMidRun} killed mid-run, ${stats.finishedBeforeKill} finished first, ` +
        `${stats.wiped} from scratch, ${stats.forced} forced; completion runs executed ${stats.ranAfter} stages and took ${stats.cachedAfter} from the cache`,
    );
    expect(stats.killedMidRun, 'most iterations kill a run in progress').to.be.greaterThan(ITERATIONS / 2);
  });

  it('temp files a killed run left beside outs and pipeline.lock are removed by the next run; live ones are kept', async function () {
    const ws = writerWorkspace('stale', fanPipeline({ kb: 64, sleep: 0 }));
    for (const v of [0, 1]) expect((await runCli(ws, ['run', '--set', `variant=${v}`])).exitCode).to.equal(0);
    // A pid no process has, as a SIGKILLed runner's: pid_max itself is never handed out (pids stay below it),
    // where the pid of a process that just exited may already belong to a new one.
    const dead = readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim();
    const stale = [`build/.source.bin.${dead}.0a1b2c3d.tmp`, `build/middle.${dead}.restore.tmp/part-0.bin`, `build/.join.bin.${dead}.deadbeef.tmp`, `.pipeline.lock.${dead}.0badf00d.tmp`];
    const live = [`build/.source.bin.${process.pid}.00000000.tmp`, `build/.source.bin.notapid.tmp`];
    for (const rel of [...stale, ...live]) {
      mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
      writeFileSync(path.join(ws, rel), 'partial');
    }
    // variant 0 again: every stage restored from the run-cache (and pipeline.lock rewritten).
    const r = await runJson(ws, ['--set', 'variant=0']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    expect(Object.values(r.statuses)).to.deep.equal(FAN_STAGES.map(() => 'cached'));
    for (const rel of stale) expect(existsSync(path.join(ws, rel)), `${rel} removed`).to.equal(false);
    expect(existsSync(path.join(ws, `build/middle.${dead}.restore.tmp`))).to.equal(false);
    for (const rel of live) expect(existsSync(path.join(ws, rel)), `${rel} kept`).to.equal(true);
  });
});

/**
 * Every stage in pipeline.lock records exactly the outs an uninterrupted run of its variant records: never a
 * partial file. With `variant`, every stage must be recorded for that variant.
 */
function checkLockAgainstReferences(ws: string, references: Reference[], where: string, variant?: number): void {
  const lock = readLock(ws) as unknown as {
    stages: Record<string, { definition: { params: { variant: number } }; outs: { path: string; hash: string }[] }>;
  };
  for (const stage of FAN_STAGES) {
    const entry = lock.stages[stage];
    if (!entry) {
      expect(variant, `${where}: ${stage} missing from pipeline.lock`).to.equal(undefined);
      continue;
    }
    const v = entry.definition.params.variant;
    if (variant !== undefined) expect(v, `${where}: ${stage} variant`).to.equal(variant);
    const want = references[v].outs.get(stage)!;
    expect(new Map(entry.outs.map((o) => [o.path, o.hash])), `${where}: ${stage} recorded outs`).to.deep.equal(want);
  }
}

/** Every run record holds exactly the outs an uninterrupted run of one of the variants records for its stage. */
function checkRunRecordsAgainstReferences(ws: string, references: Reference[], where: string): void {
  const dir = path.join(ws, '.pipeline', 'cache', 'runs');
  if (!existsSync(dir)) return;
  for (const shard of readdirSync(dir)) {
    for (const f of readdirSync(path.join(dir, shard))) {
      if (f.startsWith('.')) continue; // the temp file of a write the kill interrupted (never read as a record)
      const rec = JSON.parse(readFileSync(path.join(dir, shard, f), 'utf8')) as { stage: string; outs: { path: string; hash: string }[] };
      const outs = JSON.stringify([...new Map(rec.outs.map((o) => [o.path, o.hash]))].sort());
      const known = references.map((r) => JSON.stringify([...r.outs.get(rec.stage)!].sort()));
      expect(known, `${where}: run record ${shard}${f.slice(0, 10)} of ${rec.stage} holds outs of no complete run`).to.include(outs);
    }
  }
}
