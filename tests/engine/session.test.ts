// What a run says around its stages goes through its event stream: waiting for the workspace, what an earlier run
// left running and this one stopped (through the executor that started it: a stage process, a stage host, a Slurm
// job), pipeline.lock's warnings, what the remote cache moved. Each is a line on the terminal (stderr) and, with
// `run --json`, an entry of the document's `events` (and, for a warning, of its `warnings`).
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeWorkspace, toResult, waitFor, type Workspace } from '../helpers/workspace.js';
import { processesOf } from '../helpers/processes.js';

const HELD = `version: 1
stages:
  work:
    cmd: [node, -e, "const fs=require('fs'); fs.writeFileSync('started',''); const w=()=>fs.existsSync('release')?fs.writeFileSync('out.txt','w'):setTimeout(w,20); w()"]
    outs: [out.txt]
`;

const ONE = `version: 1
stages:
  one:
    cmd: [node, -e, "require('fs').writeFileSync('one.txt', 'one')"]
    outs: [one.txt]
`;

interface EventJson {
  type: string;
  message: string;
  [field: string]: unknown;
}

interface RunDoc {
  exitCode: number;
  warnings?: string[];
  events?: EventJson[];
  stages: { name: string; status: string }[];
}

/** The kernel's boot id, as the runner records it with a process group. */
function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/**
 * A process group as a killed run's stage leaves it: its own session and group, started with the workspace's
 * PIPELINE_WORKSPACE; and its record in .pipeline/running/, written by the executor `executor`.
 */
const planted: ChildProcess[] = [];

function plantGroup(ws: Workspace, stage: string, executor: 'process' | 'host'): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, PIPELINE_WORKSPACE: realpathSync(ws.dir) },
  });
  const entry = { kind: 'group', executor, stage, pgid: child.pid, boot: bootId(), since: 0, runner: 424242 };
  ws.write(`.pipeline/running/${stage}.g${child.pid}.json`, JSON.stringify(entry));
  planted.push(child);
  return child;
}

function ended(child: ChildProcess): Promise<string | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode);
    else child.once('exit', (_code, signal) => resolve(signal));
  });
}

describe('engine: what a run says besides its stages is in its event stream', function () {
  let ws: Workspace;
  afterEach(() => {
    // A planted group the run failed to stop does not outlive the test.
    for (const child of planted.splice(0)) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    ws.cleanup();
  });

  it('waiting for the workspace: the line on stderr, and a `lock-wait` event naming the holder in run --json', async () => {
    ws = makeWorkspace({ yaml: HELD });
    const a = ws.spawn(['run']);
    await waitFor(() => ws.exists('started'), 60_000, 'the first run to start its stage');
    const b = ws.spawn(['run', '--json']);
    let told = '';
    b.stderr?.on('data', (d: Buffer) => (told += d.toString()));
    await waitFor(() => told.includes('waiting for another run'), 60_000, 'the second run to say it waits');
    ws.write('release', '');
    const [ra, rb] = [toResult(await a), toResult(await b)];
    expect(ra.exitCode, ra.stderr).to.equal(0);
    expect(rb.exitCode, rb.stderr).to.equal(0);
    expect(rb.stderr).to.match(new RegExp(`^waiting for another run of this workspace to finish \\(pid ${a.pid}, started [0-9T:.-]+Z\\)…\\n`));
    const doc = rb.json as RunDoc;
    expect(doc.warnings, 'waiting is no warning').to.equal(undefined);
    expect(doc.events).to.have.length(1);
    const [wait] = doc.events!;
    expect(wait).to.include({ type: 'lock-wait', pid: a.pid, command: 'pipeline run' });
    expect(wait.message).to.equal(rb.stderr.split('\n')[0]);
  });

  for (const executor of ['process', 'host'] as const) {
    it(`a process group a killed run left (a ${executor === 'process' ? 'stage process' : 'stage host'}) is stopped through its executor, said on stderr and in run --json`, async () => {
      ws = makeWorkspace({ yaml: ONE });
      const child = plantGroup(ws, 'one', executor);
      const gone = ended(child);
      await waitFor(() => processesOf(ws.dir).some((p) => p.pid === child.pid), 20_000, 'the planted process to run');
      const r = await ws.run(['run', '--json']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(await gone, 'killed').to.equal('SIGKILL');
      expect(processesOf(ws.dir)).to.deep.equal([]);
      const line = 'stopped 1 process of stage `one` left running by an earlier run (pid 424242) that was killed';
      expect(r.stderr).to.include(`warning: ${line}\n`);
      const doc = r.json as RunDoc;
      expect(doc.warnings).to.deep.equal([line]);
      expect(doc.events).to.deep.equal([{ type: 'warning', message: line, code: 'leftover-stopped', stage: 'one', executor, runner: 424242, processes: 1 }]);
      expect(ws.exists(`.pipeline/running/one.g${child.pid}.json`), 'the record is gone').to.equal(false);
    });
  }

  it('a Slurm job a killed run left is cancelled through the slurm executor (squeue and scancel), even by a local run', async () => {
    ws = makeWorkspace({ yaml: ONE });
    const bin = ws.path('.fake-slurm');
    const calls = path.join(bin, 'calls.log');
    // squeue says the job runs until scancel was called; both note how they were called.
    ws.write('.fake-slurm/squeue', `#!/bin/sh\necho "squeue $*" >> '${calls}'\n[ -e '${bin}/cancelled' ] || echo RUNNING\n`);
    ws.write('.fake-slurm/scancel', `#!/bin/sh\necho "scancel $*" >> '${calls}'\ntouch '${bin}/cancelled'\n`);
    for (const f of ['squeue', 'scancel']) chmodSync(path.join(bin, f), 0o755);
    ws.write('.pipeline/running/one.j4711.json', JSON.stringify({ kind: 'job', stage: 'one', executor: 'slurm', jobId: '4711', runner: 424242 }));
    const r = await ws.run(['run', '--json'], { env: { PATH: `${bin}${path.delimiter}${process.env.PATH}` } });
    expect(r.exitCode, r.stderr).to.equal(0);
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    expect(lines[0]).to.match(/^squeue -h -j 4711 -t [A-Z,]+ -o %T$/);
    expect(lines).to.include('scancel 4711');
    const line = 'cancelled Slurm job 4711 of stage `one` left running by an earlier run (pid 424242) that was killed';
    expect(r.stderr).to.include(`warning: ${line}\n`);
    const doc = r.json as RunDoc;
    expect(doc.warnings).to.deep.equal([line]);
    expect(doc.events).to.deep.equal([{ type: 'warning', message: line, code: 'leftover-stopped', stage: 'one', executor: 'slurm', runner: 424242, jobId: '4711' }]);
    expect(ws.exists('.pipeline/running/one.j4711.json')).to.equal(false);
  });

  it('a record no executor owns, or a torn one, is dropped without stopping anything', async () => {
    ws = makeWorkspace({ yaml: ONE });
    ws.write('.pipeline/running/one.x1.json', JSON.stringify({ kind: 'group', executor: 'docker', stage: 'one', pgid: 1, boot: bootId(), since: 0, runner: 1 }));
    ws.write('.pipeline/running/one.x2.json', '{"kind": "gro');
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.not.include('warning');
    expect((r.json as RunDoc).events).to.equal(undefined);
    expect(ws.exists('.pipeline/running/one.x1.json') || ws.exists('.pipeline/running/one.x2.json')).to.equal(false);
  });

  it("pipeline.lock's ignored entry: one warning on stderr, the same in run --json `warnings` and `events`", async () => {
    ws = makeWorkspace({ yaml: ONE });
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    const lock = ws.lock();
    lock.stages.one.fingerprint = 'not a fingerprint';
    ws.write('pipeline.lock', JSON.stringify(lock));
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const line = `${ws.path('pipeline.lock')}: entry of stage \`one\` ignored: no valid fingerprint; the stage is checked again`;
    expect(r.stderr.split('\n').filter((l) => l.startsWith('warning: '))).to.deep.equal([`warning: ${line}`]);
    const doc = r.json as RunDoc;
    expect(doc.warnings).to.deep.equal([line]);
    expect(doc.events).to.deep.equal([{ type: 'warning', message: line, code: 'lock-entry-ignored', file: ws.path('pipeline.lock'), stage: 'one', problem: 'no valid fingerprint' }]);
    expect(doc.stages[0].status).to.equal('cached');
  });

  it('what run --push moved is a `remote-transfer` event, its line on stderr', async () => {
    ws = makeWorkspace({ yaml: ONE });
    const remote = path.join(ws.base, 'remote');
    mkdirSync(remote);
    const r = await ws.run(['run', '--json', '--push'], { env: { PIPELINE_REMOTE: remote } });
    expect(r.exitCode, r.stderr).to.equal(0);
    const doc = r.json as RunDoc;
    expect(doc.warnings).to.equal(undefined);
    expect(doc.events).to.have.length(1);
    const [moved] = doc.events!;
    expect(moved).to.include({ type: 'remote-transfer', direction: 'push', results: 1, remote });
    expect(moved.objects).to.be.a('number').above(0);
    expect(r.stderr).to.include(`${moved.message}\n`);
    expect(moved.message).to.match(/^remote: pushed 1 result\(s\) \([0-9]+ objects, [0-9.]+ MiB\) to /);
  });

  it('run --update: what the server of a URL dep said is a `url-check` event (its line with the progress), an unreachable one a warning', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { etag: '"v1"', 'content-length': 4 });
      res.end('one\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.csv`;
    ws = makeWorkspace({ yaml: `version: 1\nstages:\n  get:\n    cmd: [node, -e, "require('fs').writeFileSync('got.txt','x')"]\n    deps: ["${url}"]\n    outs: [got.txt]\n` });
    try {
      const r = await ws.run(['run', '--update', '--json']);
      expect(r.exitCode, r.stderr).to.equal(0);
      const [check] = (r.json as RunDoc).events!;
      expect(check).to.include({ type: 'url-check', url, result: 'first' });
      expect(check.message).to.match(new RegExp(`^${url.replace(/[.]/g, '\\.')}: recorded \\(ETag "v1", 4 bytes\\)$`));
      expect(r.stderr).to.include(`${check.message}\n`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const down = await ws.run(['run', '--update', '--json']);
    expect(down.exitCode, down.stderr).to.equal(0);
    const doc = down.json as RunDoc;
    expect(doc.warnings).to.have.length(1);
    expect(doc.warnings![0]).to.match(/: cannot reach the server \(.*\); keeping the recorded state$/);
    expect(doc.events).to.deep.equal([{ type: 'warning', message: doc.warnings![0], code: 'url-unreachable', url }]);
    expect(down.stderr).to.include(`warning: ${doc.warnings![0]}\n`);
  });

  it('a plain run that says nothing besides its stages has neither `warnings` nor `events`', async () => {
    ws = makeWorkspace({ yaml: ONE });
    writeFileSync(ws.path('unrelated.txt'), 'x');
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(Object.keys(r.json as RunDoc)).to.deep.equal(['schemaVersion', 'ok', 'exitCode', 'stages']);
  });
});
