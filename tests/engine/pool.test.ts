// Module stages run in hosts started ahead of need (runner/exec/pool.ts): one host per stage execution, the folder and
// environment a fresh process would have, a fresh process where Node reads the environment at start-up, nothing
// started for a run that executes nothing, no host outliving its runner, and the same failure causes either way.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { isRunning, makeWorkspace, processesOf, repoRoot, waitFor, type CliResult, type Workspace } from '../helpers/workspace.js';

/**
 * Whether this process was started as a waiting host: its initial environment (/proc/self/environ never changes)
 * lacks PIPELINE_STAGE, which a host started for its stage has from the start.
 */
const STARTED_AHEAD = `readFileSync('/proc/self/environ', 'utf8').split('\\0').every((v: string) => !v.startsWith('PIPELINE_STAGE='))`;

/** Writes, as JSON, what a stage can see of its process. */
const PROBE_TS = `import { readFileSync, writeFileSync } from 'node:fs';

export default async function (ctx: any): Promise<void> {
  const seen = {
    pid: process.pid,
    cwd: process.cwd(),
    env: Object.entries(process.env),
    stdin: readFileSync(0, 'utf8'),
    argv: process.argv.slice(1),
    title: process.title,
    ahead: ${STARTED_AHEAD},
  };
  for (const file of Object.values(ctx.outs) as string[]) writeFileSync(file, JSON.stringify(seen));
}
`;

const PROBES = `version: 1
stages:
  first:
    module: mod/probe.ts
    env: {COLOUR: blue}
    outs: [build/first.json]
  pooled:
    module: mod/probe.ts
    needs: [first]
    env: {COLOUR: green}
    outs: [build/pooled.json]
  fresh:
    module: mod/probe.ts
    needs: [pooled]
    env: {COLOUR: red, NODE_OPTIONS: --title=fresh-probe}
    outs: [build/fresh.json]
`;

interface Seen {
  pid: number;
  cwd: string;
  env: [string, string][];
  stdin: string;
  argv: string[];
  title: string;
  ahead: boolean;
}

const debugLine = (stderr: string) => /pipeline: (\d+) stage hosts started ahead, (\d+) of them used/.exec(stderr);


describe('engine: stage hosts started ahead of need', function () {
  if (process.platform !== 'linux') return; // /proc tells how each host was started
  const spaces: Workspace[] = [];
  after(() => spaces.forEach((w) => w.cleanup()));
  const workspace = (yaml: string, files: Record<string, string>) => {
    const ws = makeWorkspace({ yaml, files });
    spaces.push(ws);
    return ws;
  };

  it('a stage in a waiting host sees what a fresh process would (folder, every variable in order, PIPELINE_*, stdin, argv); NODE_OPTIONS gets a fresh host that honours it', async () => {
    const ws = workspace(PROBES, { 'mod/probe.ts': PROBE_TS });
    const r = await ws.run(['run', '--jobs', '1'], { env: { PIPELINE_DEBUG: '1', FROM_THE_RUNNER: 'kept' } });
    expect(r.exitCode, r.stderr).to.equal(0);
    const seen = (name: string) => JSON.parse(ws.read(`build/${name}.json`)) as Seen;
    const [first, pooled, fresh] = ['first', 'pooled', 'fresh'].map(seen);
    expect([first.ahead, pooled.ahead, fresh.ahead]).to.deep.equal([true, true, false]);
    expect(fresh.title).to.equal('fresh-probe');
    expect(pooled.title).to.not.equal('fresh-probe');
    expect(new Set([first.pid, pooled.pid, fresh.pid]).size).to.equal(3);
    const [, started, used] = debugLine(r.stderr)!.map(Number);
    expect(used).to.equal(2);
    expect(started).to.be.at.least(used);

    const dir = realpathSync(ws.dir);
    const verdictOf = (name: string) => path.join(dir, '.pipeline', 'tmp', `${name}.`);
    for (const [name, s] of [['first', first], ['pooled', pooled], ['fresh', fresh]] as const) {
      const env = Object.fromEntries(s.env);
      expect(s.cwd).to.equal(dir);
      expect(s.stdin).to.equal('');
      expect(s.argv).to.deep.equal(fresh.argv);
      expect(env.PIPELINE_STAGE).to.equal(name);
      expect(env.PIPELINE_WORKSPACE).to.equal(dir);
      expect(env.PIPELINE_PARAMS).to.equal('{}');
      expect(env.PIPELINE_VERDICT_FILE.startsWith(verdictOf(name)), env.PIPELINE_VERDICT_FILE).to.equal(true);
      expect(JSON.parse(env.PIPELINE_CONTEXT).stage).to.equal(name);
      // Not in the base set nor declared: not passed (runner/exec/environment.ts), to any host.
      expect(env).to.not.have.property('FROM_THE_RUNNER');
    }
    expect(Object.fromEntries(pooled.env).COLOUR).to.equal('green');
    // Apart from what each stage is given, the environments are the same variables in the same order.
    const own = ['COLOUR', 'NODE_OPTIONS', 'PIPELINE_STAGE', 'PIPELINE_VERDICT_FILE', 'PIPELINE_CONTEXT', 'PIPELINE_PARAMS'];
    const rest = (s: Seen) => s.env.filter(([k]) => !own.includes(k));
    expect(rest(pooled)).to.deep.equal(rest(fresh));
    expect(rest(first)).to.deep.equal(rest(fresh));
    // And what each is given comes in the same order too.
    const names = (s: Seen) => s.env.map(([k]) => k).filter((k) => own.includes(k) && k !== 'NODE_OPTIONS');
    expect(names(pooled)).to.deep.equal(names(fresh));
  });

  it('the host takes its job from stdin: a variable it started with but the job lacks is removed, the job sets the folder and every variable in its order', async () => {
    const base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'pipeline-host-')));
    try {
      const [startDir, jobDir] = [path.join(base, 'start'), path.join(base, 'job')];
      for (const d of [startDir, jobDir]) mkdirSync(d);
      const bundle = path.join(base, 'probe.mjs');
      writeFileSync(bundle, `import { writeFileSync } from 'node:fs';\nexport default async function (ctx) { writeFileSync(ctx.outs.seen, JSON.stringify({ cwd: process.cwd(), env: Object.keys(process.env), added: process.env.ADDED })); }\n`);
      const out = path.join(base, 'seen.json');
      const env = { PATH: process.env.PATH ?? '/usr/bin', ADDED: 'yes', SECOND: '2' } as Record<string, string>;
      const context = { bundle, stage: 'probe', workspace: jobDir, params: {}, inputs: {}, deps: {}, outs: { seen: out } };
      const job = { cwd: jobDir, env: { ...env, PIPELINE_CONTEXT: JSON.stringify(context) } };
      const host = spawn(process.execPath, [path.join(repoRoot, 'dist', 'cli', 'host.js')], {
        cwd: startDir,
        env: { PATH: env.PATH, STALE: 'from the start', PIPELINE_WORKSPACE: jobDir },
        stdio: ['pipe', 'inherit', 'inherit'],
      });
      const code = new Promise<number | null>((resolve) => host.on('exit', resolve));
      host.stdin.end(JSON.stringify(job));
      expect(await code).to.equal(0);
      const seen = JSON.parse(readFileSync(out, 'utf8')) as { cwd: string; env: string[]; added: string };
      expect(seen.cwd).to.equal(jobDir);
      expect(seen.added).to.equal('yes');
      expect(seen.env).to.deep.equal(Object.keys(job.env));

      // Its stdin closed without a job: it exits at once, running nothing.
      const idle = spawn(process.execPath, [path.join(repoRoot, 'dist', 'cli', 'host.js')], { cwd: startDir, env: { PATH: env.PATH }, stdio: ['pipe', 'pipe', 'pipe'] });
      let said = '';
      idle.stdout.on('data', (d) => (said += String(d)));
      idle.stderr.on('data', (d) => (said += String(d)));
      const idleCode = new Promise<number | null>((resolve) => idle.on('close', resolve));
      idle.stdin.end();
      expect(await idleCode).to.equal(0);
      expect(said).to.equal('');
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('a run that executes nothing starts no host, neither does one that repeats the last run', async () => {
    const ws = workspace(PROBES, { 'mod/probe.ts': PROBE_TS });
    const first = await ws.run(['run'], { env: { PIPELINE_DEBUG: '1' } });
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(Number(debugLine(first.stderr)![2])).to.be.at.least(1);
    const again = await ws.run(['run', '--json'], { env: { PIPELINE_DEBUG: '1' } });
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(again.json.stages.map((s: { status: string }) => s.status)).to.deep.equal(['cached', 'cached', 'cached']);
    expect(debugLine(again.stderr)?.slice(1)).to.deep.equal(['0', '0']);
  });

  it('a run that stops before planning (an error in pipeline.yaml) exits at once: the host it started early neither holds it nor is left', async () => {
    const ws = workspace(PROBES, { 'mod/probe.ts': PROBE_TS });
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    // Another text than the last run's: a host starts before the config is read.
    ws.write('pipeline.yaml', PROBES.replace('    env: {COLOUR: blue}\n', '    env: {COLOUR: blue}\n    colour: blue\n'));
    const r = await ws.run(['run'], { env: { PIPELINE_DEBUG: '1' } });
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.stderr).to.include('colour');
    await waitFor(() => processesOf(ws.dir).length === 0, 30_000, 'the early host to be gone');
  });

  it('SIGKILL of the runner alone: neither its waiting hosts nor the host running a stage are left', async function () {
    if (!readFileSync('/usr/bin/setpriv', { flag: 'r' }).includes('pdeathsig')) this.skip();
    const block = `import { existsSync, writeFileSync } from 'node:fs';
export default async function (ctx: any): Promise<void> {
  writeFileSync(ctx.workspace + '/block.pid', String(process.pid));
  while (!existsSync(ctx.workspace + '/release')) await new Promise((r) => setTimeout(r, 50));
  for (const file of Object.values(ctx.outs) as string[]) writeFileSync(file, 'done');
}
`;
    const after = [1, 2, 3, 4].map((i) => `  after${i}:\n    module: mod/probe.ts\n    needs: [block]\n    outs: [build/after${i}.json]\n`).join('');
    const ws = workspace(`version: 1\nstages:\n  block:\n    module: mod/block.ts\n    outs: [build/block.txt]\n${after}`, { 'mod/block.ts': block, 'mod/probe.ts': PROBE_TS });
    const child = ws.spawn(['run', '--jobs', '2']);
    await waitFor(() => ws.exists('block.pid'), 30_000, 'the blocking stage to start', child);
    // The running host and at least one waiting (--jobs 2 keeps up to three while stages are left).
    await waitFor(() => processesOf(ws.dir).length >= 2, 30_000, 'hosts to be started ahead', child);
    // Each host by identity (pid and start time): a pid the system hands to a new process later is not a host.
    const hosts = processesOf(ws.dir);
    expect(hosts.map((h) => h.pid)).to.include(Number(ws.read('block.pid')));
    child.kill('SIGKILL');
    await child;
    await waitFor(() => processesOf(ws.dir).length === 0, 30_000, 'every host of the killed runner to exit');
    for (const host of hosts) expect(isRunning(host), `host ${host.pid} (started at tick ${host.start})`).to.equal(false);
    expect(ws.exists('build/block.txt')).to.equal(false);
  });

  /** A module stage that records how it was started, then fails the way `how` says. */
  const failing = (how: string) => `import { readFileSync, writeFileSync } from 'node:fs';
export default async function (ctx: any): Promise<void> {
  writeFileSync(ctx.workspace + '/how.json', JSON.stringify({ ahead: ${STARTED_AHEAD} }));
  console.log('working on it');
  ${how}
}
`;
  const CASES: { name: string; stage: string; module: string; interrupt?: boolean }[] = [
    { name: 'an error', stage: '', module: failing(`console.error('details'); throw new Error('bad input: row 3');`) },
    { name: 'an exit code', stage: '', module: failing(`process.exitCode = 7;`) },
    { name: 'a signal', stage: '', module: failing(`process.kill(process.pid, 'SIGKILL');`) },
    {
      name: 'a gate verdict',
      stage: '    gate: true\n',
      module: failing(`console.error('noise after'); throw Object.assign(new Error('R² 0.1 <= r2_min 0.5'), { [Symbol.for('pipeline-dag.gate-verdict')]: true });`),
    },
    { name: 'a timeout', stage: '    timeout: 1\n', module: failing(`await new Promise((r) => setTimeout(r, 120_000));`) },
    { name: 'an interrupt (SIGINT)', stage: '', module: failing(`await new Promise((r) => setTimeout(r, 120_000));`), interrupt: true },
  ];
  for (const c of CASES) {
    it(`${c.name}: a stage in a waiting host fails with the same cause, reason, log and exit code as in a fresh host`, async () => {
      const results: { ahead: boolean; r: CliResult; log: string }[] = [];
      for (const env of ['', '    env: {NODE_OPTIONS: --title=fresh-host}\n']) {
        const ws = workspace(`version: 1\nstages:\n  s:\n    module: mod/s.ts\n${c.stage}${env}    outs: [build/s.txt]\n`, { 'mod/s.ts': c.module });
        let r: CliResult;
        if (c.interrupt) {
          const child = ws.spawn(['run', '--json']);
          await waitFor(() => ws.exists('how.json'), 30_000, 'the stage to start', child);
          child.kill('SIGINT');
          r = await child.result;
        } else r = await ws.run(['run', '--json']);
        results.push({ ahead: JSON.parse(ws.read('how.json')).ahead, r, log: ws.read('.pipeline/logs/s.log') });
      }
      const [pooled, fresh] = results;
      expect([pooled.ahead, fresh.ahead]).to.deep.equal([true, false]);
      expect(pooled.r.exitCode, pooled.r.stderr).to.not.equal(0);
      expect(pooled.r.exitCode).to.equal(fresh.r.exitCode);
      const stage = (r: CliResult) => {
        const { status, reason, outcome } = r.json.stages[0];
        return { status, reason, outcome };
      };
      expect(stage(pooled.r)).to.deep.equal(stage(fresh.r));
      expect(pooled.log).to.equal(fresh.log);
      expect(pooled.r.stdout.replace(/"durationMs":\d+/g, '').replace(/"fingerprint":"[0-9a-f]+"/g, '')).to.equal(
        fresh.r.stdout.replace(/"durationMs":\d+/g, '').replace(/"fingerprint":"[0-9a-f]+"/g, ''),
      );
    });
  }
});
