// Ctrl-C / SIGTERM during a restore of thousands of files stops the run with exit 130 and leaves the folder out
// either absent or whole (the restore is assembled beside its place and renamed), with no temp folder left; the
// next run restores it. SIGINT and SIGTERM, caught while the restore is under way; the same during the first
// hashing of a folder dep of thousands of files (nothing runs, nothing is recorded), and during `gc` removing
// thousands of objects (the store stays consistent, the next gc finishes the work).
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, objectPath, objectsOf, readLock, runCli, runJson, startCli, tempDir, whileRunning, type CliProcess, type CliResult } from '../helpers/workspace.js';

/**
 * Whether the CLI has a file open below `dir` now (it is reading there). Only called while it runs (whileRunning):
 * until its exit is seen its pid is not reaped, so /proc/PID is the CLI's and no one else's.
 */
function reading(child: CliProcess, dir: string): boolean {
  const pid = child.pid!;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir)) return true;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // ended
  }
  return false;
}

const FILES = 12000;
const YAML = `version: 1
stages:
  many:
    cmd: [node, -e, "const fs=require('fs');fs.mkdirSync('build/many/x',{recursive:true});for(let i=0;i<${FILES};i++)fs.writeFileSync('build/many/x/f'+i+'.txt',String(i))"]
    outs: [build/many]
`;

/** The folder-out pipeline with a param `v` in every file, so each value of `v` is a different result. */
const VARIED = () => YAML.replace("String(i))", "String(i)+JSON.parse(process.env.PIPELINE_PARAMS).v)").replace('stages:', 'params: {v: 0}\nstages:');

/**
 * Start `pipeline ARGS`, SIGINT it as soon as one of `watched` is gone (it is removing them), and return its result;
 * undefined when it could not be caught under way (done before, or nothing left to interrupt).
 */
async function interruptWhileRemoving(ws: string, args: string[], watched: string[], env?: NodeJS.ProcessEnv): Promise<CliResult | undefined> {
  const child = startCli(ws, args, { env });
  if (!(await whileRunning(child, () => watched.some((f) => !existsSync(f))))) return undefined;
  child.kill('SIGINT');
  const r = await child.result;
  return r.exitCode === 0 ? undefined : r;
}

describe('torture: signals are honoured in long loops', function () {
  after(cleanupAll);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} during a restore of ${FILES} files: exit 130, the out absent or whole, no temp folder left`, async function () {
      const ws = writerWorkspace('sig-restore', YAML);
      expect((await runCli(ws, ['run'])).exitCode).to.equal(0);
      rmSync(path.join(ws, 'build', 'many'), { recursive: true });
      const child = startCli(ws, ['run']);
      const staging = () => readdirSync(path.join(ws, 'build')).some((n) => n.startsWith('.many.') && n.endsWith('.tmp'));
      const seen = await whileRunning(child, () => existsSync(path.join(ws, 'build')) && staging(), 5);
      if (!seen) this.skip(); // the restore finished before it could be caught (a very fast disk): nothing to test
      child.kill(signal);
      const r = await child.result;
      expect(r.exitCode, r.stdout + r.stderr).to.equal(130);
      const out = path.join(ws, 'build', 'many', 'x');
      if (existsSync(out)) expect(readdirSync(out).length, 'whole when present').to.equal(FILES);
      expect(staging(), 'no temp folder left').to.equal(false);
      const again = await runJson(ws);
      expect(again.statuses.many).to.equal('cached');
      expect(readdirSync(out).length).to.equal(FILES);
    });
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} while the first hashing of a folder dep of 30000 files is under way: exit 130, nothing ran, nothing recorded`, async function () {
      const ws = writerWorkspace('sig-hash', `version: 1
stages:
  count:
    cmd: [node, -e, "const fs=require('fs');fs.mkdirSync('build',{recursive:true});fs.writeFileSync('build/n.txt',String(fs.readdirSync('src').length))"]
    deps: [src]
    outs: [build/n.txt]
`);
      mkdirSync(path.join(ws, 'src'));
      for (let i = 0; i < 30000; i++) writeFileSync(path.join(ws, 'src', `f${i}.txt`), String(i));
      const child = startCli(ws, ['run']);
      const src = path.join(ws, 'src') + path.sep;
      const seen = await whileRunning(child, () => reading(child, src), 1);
      if (!seen) this.skip(); // hashed before it could be caught: nothing to test
      child.kill(signal);
      const r = await child.result;
      expect(r.exitCode, r.stdout + r.stderr).to.equal(130);
      expect(existsSync(path.join(ws, 'build', 'n.txt')), 'the stage did not run').to.equal(false);
      expect(readLock(ws).stages.count).to.equal(undefined);
      const again = await runJson(ws);
      expect(again.exitCode, again.stdout + again.stderr).to.equal(0);
      expect(again.statuses.count).to.equal('ran');
    });
  }

  it('SIGINT during gc removing 12000 objects: exit 130, the store consistent, the next gc finishes', async function () {
    const ws = writerWorkspace('sig-gc', VARIED());
    expect((await runCli(ws, ['run'])).exitCode).to.equal(0);
    const old = readLock(ws).stages.many.outs.flatMap((o) => objectsOf(ws, o));
    expect((await runCli(ws, ['run', '--set', 'v=1'])).exitCode).to.equal(0);
    const r = await interruptWhileRemoving(ws, ['gc', '--keep-runs', '0', '--max-age', '0'], old.slice(1, 400).map((h) => objectPath(ws, h)));
    if (!r) this.skip(); // not caught under way: nothing to test
    expect(r.exitCode, r.stdout + r.stderr).to.equal(130);
    expect(old.some((h) => existsSync(objectPath(ws, h))), 'some objects were left for later').to.equal(true);
    const verify = await runCli(ws, ['cache', 'verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
    const again = await runCli(ws, ['gc', '--keep-runs', '0', '--max-age', '0']);
    expect(again.exitCode, again.stdout + again.stderr).to.equal(0);
    expect(old.filter((h) => h !== old[0] && existsSync(objectPath(ws, h)))).to.deep.equal([]);
    const noop = await runJson(ws, ['--set', 'v=1']);
    expect(noop.statuses.many).to.equal('cached');
  });

  it('SIGINT during gc --remote of a folder remote: exit 130, what is left consistent, the next gc --remote finishes', async function () {
    const ws = writerWorkspace('sig-rgc', VARIED());
    const remote = tempDir('sig-rgc-remote');
    const env = { PIPELINE_REMOTE: remote };
    expect((await runCli(ws, ['run', '--push'], { env })).exitCode).to.equal(0);
    const old = readLock(ws).stages.many.outs.flatMap((o) => objectsOf(ws, o));
    expect((await runCli(ws, ['run', '--push', '--set', 'v=1'], { env })).exitCode).to.equal(0);
    // Everything on the remote two days old: what pipeline.lock does not name is garbage.
    const past = new Date(Date.now() - 2 * 86_400_000);
    for (const e of readdirSync(remote, { recursive: true, withFileTypes: true })) if (e.isFile()) utimesSync(path.join(e.parentPath, e.name), past, past);
    const remoteObject = (h: string) => path.join(remote, 'cas', h.slice(0, 2), h);
    const r = await interruptWhileRemoving(ws, ['gc', '--remote', '--older-than', '1d'], old.slice(1, 400).map(remoteObject), env);
    if (!r) this.skip(); // not caught under way: nothing to test
    expect(r.exitCode, r.stdout + r.stderr).to.equal(130);
    expect(r.stderr).to.include('run it again to finish').and.not.include('internal error');
    const again = await runCli(ws, ['gc', '--remote', '--older-than', '1d'], { env });
    expect(again.exitCode, again.stdout + again.stderr).to.equal(0);
    expect(old.filter((h) => existsSync(remoteObject(h)))).to.deep.equal([]);
    // What pipeline.lock names is still whole on the remote: a fresh copy pulls it.
    const copy = writerWorkspace('sig-rgc-copy', readFileSync(path.join(ws, 'pipeline.yaml'), 'utf8'));
    cpSync(path.join(ws, 'pipeline.lock'), path.join(copy, 'pipeline.lock'));
    const pulled = await runCli(copy, ['pull'], { env });
    expect(pulled.exitCode, pulled.stdout + pulled.stderr).to.equal(0);
    expect(readdirSync(path.join(copy, 'build', 'many', 'x')).length).to.equal(FILES);
  });
});
