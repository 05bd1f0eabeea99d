// Orphans: a stage's processes never outlive their runner's say. Kill the runner alone (SIGKILL, as the OOM killer
// does; SIGHUP, as a closed terminal does) while a stage runs — a `cmd:` stage whose shell started children that
// keep writing into its out, or a `module:` stage — and check that nothing those processes write is ever recorded:
// the stage's leader dies with the runner, what its children left is stopped by the next run before it touches
// anything, and a command's background children end with the command. Every process is found through its
// environment (PIPELINE_WORKSPACE), so none can hide by name.
// Reproduce a failure with TORTURE_SEED=<printed seed>.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, isRunning, prng, processesOf, readLock, runCli, seedFromEnv, sha256, startCli, waitFor, waitGroupGone, type CliProcess } from '../helpers/workspace.js';
import { processesWithEnv } from '../helpers/processes.js';

const hasSetpriv = spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true']).status === 0;

/**
 * A `cmd:` stage whose shell starts a child that appends to the out every 20 ms (detached from the stage's output
 * pipes), says it started, works until the test releases its variant (the file `release-VARIANT`), then stops the
 * child and writes its final content. A killed run's variant is never released.
 */
const SHELL_STAGE = `version: 1
params:
  variant: 0
stages:
  writer:
    cmd: "mkdir -p build && (while :; do echo orphan >> build/out.txt; sleep 0.02; done) </dev/null >/dev/null 2>&1 & echo $$ > started && until [ -e release-\${variant} ]; do sleep 0.02; done && kill $! && echo final-\${variant} > build/out.txt"
    shell: true
    outs: [build/out.txt]
`;

/** A `module:` stage that says it started, then appends to its out every 20 ms for 20 s (variants below 5). */
const MODULE_STAGE = `version: 1
params:
  variant: 0
stages:
  writer:
    module: tools/slow.mjs
    outs: [build/out.txt]
`;
const SLOW_MODULE = `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
export default async function (ctx) {
  mkdirSync('build', { recursive: true });
  writeFileSync('started', String(process.pid));
  // Variants from 5 on finish at once: the run that settles the workspace.
  for (let i = 0; i < (ctx.params.variant >= 5 ? 0 : 1000); i++) {
    appendFileSync(ctx.outs['build/out.txt'], 'orphan\\n');
    await new Promise((r) => setTimeout(r, 20));
  }
  writeFileSync(ctx.outs['build/out.txt'], 'final-' + ctx.params.variant + '\\n');
}
`;

/**
 * The workspace's out is what a clean run writes, stays so, and is what pipeline.lock recorded. "Stays so": no
 * process of the stage is left (found by its environment, not by pid), so nothing can write to the out any more.
 */
async function expectSettled(ws: string, variant: number): Promise<void> {
  const out = path.join(ws, 'build', 'out.txt');
  expect(readFileSync(out, 'utf8')).to.equal(`final-${variant}\n`);
  await waitFor(() => processesOf(ws).length === 0, 5_000, 'every process of the stage to end');
  expect(readFileSync(out, 'utf8'), 'written after the run ended').to.equal(`final-${variant}\n`);
  const recorded = readLock(ws).stages.writer.outs.find((o) => o.path === 'build/out.txt');
  expect(recorded?.hash).to.equal(sha256(readFileSync(out)));
  const verify = await runCli(ws, ['cache', 'verify']);
  expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
}

describe('torture: no stage outlives its runner', function () {
  const seed = seedFromEnv('TORTURE_SEED');
  const rand = prng(seed);
  before(() => console.log(`      orphans seed: ${seed} (TORTURE_SEED=${seed} reproduces it)`));
  after(cleanupAll);

  /**
   * The kill moment, as a handshake on the stage's progress: the stage said it started, and then its writer
   * appended 1 to `most` more lines to the out (a seeded random count), so the kill lands while it writes.
   */
  async function whileWriting(ws: string, child: CliProcess, most: number): Promise<void> {
    const out = path.join(ws, 'build', 'out.txt');
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0);
    await waitFor(() => existsSync(path.join(ws, 'started')), 20_000, 'the stage to start', child);
    const target = lines() + 1 + Math.floor(rand() * most);
    await waitFor(() => lines() >= target, 20_000, `the stage's writer to append up to line ${target}`, child);
  }

  it("a cmd stage's children, left by a SIGKILLed runner, are stopped by the next run before it runs the stage again (3 kill moments)", async function () {
    const ws = writerWorkspace('orphan-cmd', SHELL_STAGE);
    for (let i = 0; i < 3; i++) {
      // A variant never run before, so the stage executes.
      const child = startCli(ws, ['run', '--set', `variant=${10 + 2 * i}`], { detached: true });
      await whileWriting(ws, child, 20);
      child.kill('SIGKILL'); // the runner alone, not its stages
      expect((await child.result).signal).to.equal('SIGKILL');
      await waitGroupGone(child);
      // The attack: the shell's child lives on and keeps writing into the out.
      const leftovers = processesOf(ws);
      expect(leftovers.length, 'the stage left no child: the case attacks nothing').to.be.greaterThan(0);
      rmStarted(ws);
      // A run under another fingerprint: nothing the orphan wrote may reach its record.
      const next = 11 + 2 * i;
      writeFileSync(path.join(ws, `release-${next}`), '');
      const r = await runCli(ws, ['run', '--set', `variant=${next}`]);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
      expect(r.stderr).to.match(/warning: stopped [0-9]+ process(es)? of stage `writer` left running by an earlier run \(pid [0-9]+\) that was killed/);
      for (const id of leftovers) expect(isRunning(id), `leftover ${id.pid} (started at tick ${id.start})`).to.equal(false);
      await expectSettled(ws, next);
      rmStarted(ws);
    }
  });

  it('a module stage dies with its SIGKILLed runner, without waiting for another run', async function () {
    if (!hasSetpriv) this.skip(); // no parent-death signal here: the next run stops it (the case above)
    const ws = writerWorkspace('orphan-module', MODULE_STAGE);
    writeFileSync(path.join(ws, 'tools', 'slow.mjs'), SLOW_MODULE);
    for (let i = 0; i < 2; i++) {
      const child = startCli(ws, ['run', '--set', `variant=${i}`], { detached: true });
      await whileWriting(ws, child, 15);
      child.kill('SIGKILL');
      await child;
      await waitFor(() => processesOf(ws).length === 0, 5000, 'the stage process to die with its runner');
      rmStarted(ws);
    }
    // Nothing was recorded by the killed runs; a complete run settles.
    const r = await runCli(ws, ['run', '--set', 'variant=7']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    await expectSettled(ws, 7);
  });

  it('a forged record in .pipeline/running never makes a run kill a process it did not start', async function () {
    const ws = writerWorkspace('orphan-forged', SHELL_STAGE);
    writeFileSync(path.join(ws, 'release-0'), '');
    // A process group and session of its own, like a stage's, but started by someone else.
    const bystander = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      mkdirSync(path.join(ws, '.pipeline', 'running'), { recursive: true });
      const forged = { kind: 'group', stage: 'writer', pgid: bystander.pid, boot, since: 0, runner: 1 };
      writeFileSync(path.join(ws, '.pipeline', 'running', `writer.g${bystander.pid}.json`), JSON.stringify(forged));
      writeFileSync(path.join(ws, '.pipeline', 'running', 'torn.json'), '{"kind":"gro');
      const r = await runCli(ws, ['run']);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
      expect(r.stderr).to.not.include('stopped');
      expect(bystander.exitCode, 'the bystander was killed').to.equal(null);
      expect(readdirSync(path.join(ws, '.pipeline', 'running')), 'records are consumed').to.deep.equal([]);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it("an `exp run` killed with SIGKILL: the next command stops its variants' processes and removes their scratch copies", async function () {
    const ws = writerWorkspace('orphan-exp', SHELL_STAGE);
    // Each variant's stage says where it runs (its scratch copy), outside the copy, then waits for a release that
    // never comes (the copy holds no release file).
    const signals = path.join(ws, 'signals');
    mkdirSync(signals);
    const yaml = readFileSync(path.join(ws, 'pipeline.yaml'), 'utf8').replace('echo $$ > started', `echo $PIPELINE_WORKSPACE > ${signals}/started-\${variant}`);
    writeFileSync(path.join(ws, 'pipeline.yaml'), yaml);
    const child = startCli(ws, ['exp', 'run', '--grid', 'variant=20,22'], { detached: true });
    const started = (v: number) => path.join(signals, `started-${v}`);
    const copyOf = (v: number) => readFileSync(started(v), 'utf8').trim();
    await waitFor(() => [20, 22].every((v) => existsSync(started(v)) && copyOf(v) !== ''), 30_000, 'both variants to start', child);
    const copies = [copyOf(20), copyOf(22)];
    const area = path.dirname(copies[0]);
    expect(path.basename(area), 'the variants run in one scratch area').to.match(/^pipeline-exp-/);
    child.kill('SIGKILL');
    expect((await child.result).signal).to.equal('SIGKILL');
    await waitGroupGone(child);
    const leftovers = processesWithEnv('PIPELINE_WORKSPACE', new Set(copies));
    expect(leftovers.length, "the variants' stages left no child: the case attacks nothing").to.be.greaterThan(0);
    expect(existsSync(area), 'the killed run left its copies').to.equal(true);

    writeFileSync(path.join(ws, 'release-21'), '');
    const r = await runCli(ws, ['run', '--set', 'variant=21']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    const stopped = r.stderr.match(/warning: stopped [0-9]+ process(es)? of stage `writer` left running by an earlier run \(pid [0-9]+\) that was killed/g) ?? [];
    expect(stopped, r.stderr).to.have.length(2);
    expect(r.stderr).to.include(`warning: removed ${area}: the scratch copies of an \`exp run\``);
    for (const id of leftovers) expect(isRunning(id), `leftover ${id.pid} (started at tick ${id.start})`).to.equal(false);
    expect(existsSync(area), 'the scratch area was removed').to.equal(false);
    expect(readdirSync(path.join(ws, '.pipeline', 'running')), 'records are consumed').to.deep.equal([]);
    await expectSettled(ws, 21);
  });

  it('a forged scratch record never makes a run remove a folder or stop a process an `exp run` of this workspace did not make', async function () {
    const ws = writerWorkspace('orphan-forged-exp', SHELL_STAGE);
    writeFileSync(path.join(ws, 'release-0'), '');
    // Named like a scratch area, not marked as this workspace's: another workspace's, or a stranger's.
    const decoy = mkdtempSync(path.join(os.tmpdir(), 'pipeline-exp-'));
    writeFileSync(path.join(decoy, '.workspace'), '/elsewhere');
    const copy = path.join(decoy, 'v1');
    mkdirSync(copy);
    const bystander = spawn('sleep', ['60'], { detached: true, stdio: 'ignore', env: { ...process.env, PIPELINE_WORKSPACE: copy } });
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      const running = path.join(ws, '.pipeline', 'running');
      mkdirSync(running, { recursive: true });
      writeFileSync(path.join(running, 'exp.sdecoy.json'), JSON.stringify({ kind: 'scratch', base: decoy, runner: 1 }));
      writeFileSync(path.join(running, 'exp.shome.json'), JSON.stringify({ kind: 'scratch', base: os.homedir(), runner: 1 }));
      const forged = { kind: 'group', executor: 'process', stage: 'writer', pgid: bystander.pid, boot, since: 0, runner: 1, root: copy };
      writeFileSync(path.join(running, `writer.g${bystander.pid}.json`), JSON.stringify(forged));
      const r = await runCli(ws, ['run']);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
      expect(r.stderr).to.not.match(/stopped|removed/);
      expect(bystander.exitCode, 'the bystander was killed').to.equal(null);
      expect(existsSync(copy), 'the decoy folder was removed').to.equal(true);
      expect(readdirSync(running), 'records are consumed').to.deep.equal([]);
    } finally {
      bystander.kill('SIGKILL');
      rmSync(decoy, { recursive: true, force: true });
    }
  });

  it('SIGHUP (a closed terminal) stops the run like Ctrl-C: exit 130, no process of the stage left, no record', async function () {
    const ws = writerWorkspace('orphan-hup', SHELL_STAGE);
    const child = startCli(ws, ['run'], { detached: true });
    await waitFor(() => existsSync(path.join(ws, 'started')), 20_000, 'the stage to start', child);
    child.kill('SIGHUP');
    const r = await child.result;
    expect(r.exitCode, r.stdout + r.stderr).to.equal(130);
    await waitFor(() => processesOf(ws).length === 0, 5000, 'the stage processes to end');
    expect(existsSync(path.join(ws, 'pipeline.lock')) && readLock(ws).stages.writer !== undefined).to.equal(false);
  });

  for (const [what, tail] of [
    // Each writes 1 s after it started, well after its command ended.
    ['a background child that writes after the command ended', '(sleep 1; echo late >> build/out.txt) </dev/null >/dev/null 2>&1 &'],
    ['a nohup-ed loop', 'nohup sh -c "while sleep 1; do echo late >> build/out.txt; done" </dev/null >/dev/null 2>&1 &'],
    ['a grandchild in a subshell', '( ( sleep 1; echo late >> build/out.txt ) & ) </dev/null >/dev/null 2>&1'],
  ] as const) {
    it(`${what} ends with its stage's command, before the outs are recorded`, async function () {
      const ws = writerWorkspace('orphan-bg', `version: 1
params:
  variant: 0
stages:
  writer:
    cmd: 'mkdir -p build && echo final-\${variant} > build/out.txt && ${tail.replace(/'/g, "''")}'
    shell: true
    outs: [build/out.txt]
`);
      const r = await runCli(ws, ['run', '--set', 'variant=4']);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
      // Each would write 1 s after it started: expectSettled waits until no process of the stage is left, so a
      // child that survived its command writes (or is still there to be seen) before the out is read again.
      await expectSettled(ws, 4);
    });
  }
});

function rmStarted(ws: string): void {
  spawnSync('rm', ['-f', path.join(ws, 'started')]);
}
