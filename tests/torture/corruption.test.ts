// Corruption: damage the cache objects the next restore needs (a flipped byte, a truncation, a deletion), then
// switch back to the state they hold. Each damaged object is detected when it is restored, its stage executes
// again, the outputs are correct, and no stage is ever reported `cached` with missing or wrong outputs.
// Reproduce a failure with TORTURE_SEED=<printed seed>.
import { expect } from 'chai';
import { openSync, closeSync, readSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { FAN_STAGES, fanPipeline, writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, filesUnder, objectPath, objectsOf, prng, readLock, recordedOutsProblems, runCli, runJson, seedFromEnv } from '../helpers/workspace.js';

type Damage = 'flip' | 'truncate' | 'delete';

function damage(file: string, how: Damage, rand: () => number): void {
  if (how === 'delete') return rmSync(file);
  const size = statSync(file).size;
  if (how === 'truncate') return truncateSync(file, Math.floor(rand() * size));
  const at = Math.floor(rand() * size);
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 1 << Math.floor(rand() * 8);
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

describe('torture: cache corruption', function () {
  const seed = seedFromEnv('TORTURE_SEED');
  const rand = prng(seed);
  let ws: string;
  const reference: Map<string, string>[] = [];
  /** Stage → every object its variant-0 outs are made of (manifests included). */
  const objects = new Map<string, string[]>();

  before(async function () {
    console.log(`      corruption seed: ${seed} (TORTURE_SEED=${seed} reproduces it)`);
    ws = writerWorkspace('corrupt', fanPipeline({ kb: 1024, sleep: 0 }));
    for (const v of [0, 1, 0]) {
      const r = await runCli(ws, ['run', '--set', `variant=${v}`]);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
      reference[v] = filesUnder(ws, 'build');
    }
    const lock = readLock(ws);
    for (const s of FAN_STAGES) objects.set(s, lock.stages[s].outs.flatMap((o) => objectsOf(ws, o)));
    expect([...reference[0].values()]).to.not.deep.equal([...reference[1].values()]);
  });

  after(cleanupAll);

  /** Switch the workspace to variant 1 (restoring it), damage variant-0 objects, switch back and check. */
  async function round(plan: { stage: string; object: string; how: Damage }[]) {
    const away = await runJson(ws, ['--set', 'variant=1']);
    expect(away.exitCode, away.stdout + away.stderr).to.equal(0);
    for (const p of plan) damage(objectPath(ws, p.object), p.how, rand);
    const what = plan.map((p) => `${p.how} ${p.object.slice(0, 12)} (${p.stage})`).join(', ');

    // `cache verify` sees the damage too (a deletion only shows as a run record with a missing object).
    const verify = await runCli(ws, ['cache', 'verify', '--json']);
    expect(verify.exitCode, `${what}: cache verify\n${verify.stdout}`).to.equal(1);
    const report = JSON.parse(verify.stdout) as { corrupt: string[]; dangling: { stage: string }[] };
    for (const p of plan) {
      if (p.how === 'delete') expect(report.dangling.map((d) => d.stage), what).to.include(p.stage);
      else expect(report.corrupt, what).to.include(p.object);
    }

    const back = await runJson(ws, ['--set', 'variant=0']);
    expect(back.exitCode, `${what}\n${back.stdout}${back.stderr}`).to.equal(0);
    const damaged = new Set(plan.map((p) => p.stage));
    for (const s of FAN_STAGES) {
      expect(back.statuses[s], `${what}: ${s}`).to.equal(damaged.has(s) ? 'ran' : 'cached');
    }
    // The reason names the damage: an object gone from the store, or one whose bytes no longer match.
    for (const s of damaged) {
      const hows = new Set(plan.filter((p) => p.stage === s).map((p) => (p.how === 'delete' ? 'not-in-store' : 'object-corrupt')));
      expect(back.codes[s].at(-1), `${what}: ${s}`).to.be.oneOf([...hows]);
    }
    // Never a phantom hit: every out, cached or not, is back with exactly the right bytes.
    expect(filesUnder(ws, 'build'), what).to.deep.equal(reference[0]);
    expect(recordedOutsProblems(ws), what).to.deep.equal([]);
    const after = await runCli(ws, ['cache', 'verify']);
    expect(after.exitCode, `${what}: cache verify after the run\n${after.stdout}`).to.equal(0);
  }

  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];

  for (const how of ['flip', 'truncate', 'delete'] as const) {
    it(`a ${how === 'flip' ? 'flipped byte' : how === 'truncate' ? 'truncated object' : 'deleted object'} in a random object is detected on restore, 3 times`, async function () {
      for (let i = 0; i < 3; i++) {
        const stage = pick([...FAN_STAGES]);
        await round([{ stage, object: pick(objects.get(stage)!), how }]);
      }
    });
  }

  it('one of each at once, in three different stages (a folder manifest among them)', async function () {
    for (let i = 0; i < 3; i++) {
      const stages = [...FAN_STAGES].sort(() => rand() - 0.5).slice(0, 3);
      if (!stages.includes('middle')) stages[0] = 'middle';
      const middle = objects.get('middle')!;
      const plan = (['flip', 'truncate', 'delete'] as const).map((how, k) => ({
        stage: stages[k],
        // The folder's manifest (its first object) the first time, its files after.
        object: stages[k] === 'middle' && i === 0 ? middle[0] : pick(objects.get(stages[k])!),
        how,
      }));
      await round(plan);
    }
  });

  it('a truncated run record is reported by cache verify and costs a re-run, never a wrong restore', async function () {
    const fingerprint = readLock(ws).stages.left.fingerprint;
    expect((await runJson(ws, ['--set', 'variant=1'])).exitCode).to.equal(0);
    const record = path.join(ws, '.pipeline', 'cache', 'runs', fingerprint.slice(0, 2), `${fingerprint.slice(2)}.json`);
    truncateSync(record, Math.floor(statSync(record).size / 2));
    const verify = await runCli(ws, ['cache', 'verify']);
    expect(verify.exitCode).to.equal(1);
    expect(verify.stdout).to.include(`dangling run record ${fingerprint.slice(0, 12)} of \`?\`: missing (unreadable run record)`);
    const back = await runJson(ws, ['--set', 'variant=0']);
    expect(back.exitCode, back.stdout + back.stderr).to.equal(0);
    for (const s of FAN_STAGES) expect(back.statuses[s], s).to.equal(s === 'left' ? 'ran' : 'cached');
    expect(filesUnder(ws, 'build')).to.deep.equal(reference[0]);
    expect((await runCli(ws, ['cache', 'verify'])).exitCode).to.equal(0);
  });

  it('a damaged object of the outputs in place costs nothing until it is needed, and is never restored', async function () {
    // The workspace holds variant 0; damage its own objects: the next run is a no-op (outputs in place are
    // trusted by their own hashes), and a later restore of that state re-executes instead of restoring garbage.
    const stage = pick([...FAN_STAGES]);
    const object = pick(objects.get(stage)!);
    damage(objectPath(ws, object), 'flip', rand);
    const noop = await runJson(ws, ['--set', 'variant=0']);
    expect(Object.values(noop.statuses)).to.deep.equal(FAN_STAGES.map(() => 'cached'));
    expect(filesUnder(ws, 'build')).to.deep.equal(reference[0]);
    const away = await runJson(ws, ['--set', 'variant=1']);
    expect(away.exitCode).to.equal(0);
    const back = await runJson(ws, ['--set', 'variant=0']);
    expect(back.exitCode, back.stdout + back.stderr).to.equal(0);
    for (const s of FAN_STAGES) expect(back.statuses[s], s).to.equal(s === stage ? 'ran' : 'cached');
    expect(filesUnder(ws, 'build')).to.deep.equal(reference[0]);
    expect(recordedOutsProblems(ws)).to.deep.equal([]);
  });
});
