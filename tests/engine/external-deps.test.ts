// Inputs outside the workspace: files and folders (absolute or `../`) hashed by content, `http(s)://` URLs tracked by
// what the server reports and checked only by `pipeline update` / `run --update`, and `${param}` in deps, cmd, env.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { STAGE_SCRIPT, executions, makeWorkspace, type Workspace } from '../helpers/workspace.js';

describe('engine: deps outside the workspace', function () {
  let outside: string;
  let ws: Workspace;
  before(async () => {
    outside = mkdtempSync(path.join(os.tmpdir(), 'pipeline-outside-'));
    writeFileSync(path.join(outside, 'data.csv'), 'a,1\n');
    mkdirSync(path.join(outside, 'folder/sub'), { recursive: true });
    writeFileSync(path.join(outside, 'folder/sub/x.txt'), 'x\n');
    ws = makeWorkspace({
      yaml: `version: 1
params:
  source: ${path.join(outside, 'data.csv')}
stages:
  read:
    cmd: node stage.js build/read.txt "\${source}"
    deps: [stage.js, "\${source}"]
    outs: [build/read.txt]
  tree:
    cmd: node stage.js build/tree.txt
    deps: [stage.js, ${path.join(outside, 'folder')}]
    env: {SOURCE: "\${source}"}
    outs: [build/tree.txt]
`,
      files: { 'stage.js': STAGE_SCRIPT },
    });
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
  });
  after(() => {
    ws.cleanup();
    rmSync(outside, { recursive: true, force: true });
  });

  it('a `${param}` dep and argument read the param; the data is recorded by content', () => {
    expect(ws.read('build/read.txt')).to.equal('a,1\n');
    expect(Object.keys(ws.lock().stages.read.deps)).to.include(path.join(outside, 'data.csv'));
  });

  it('editing the external file re-runs only the stage reading it, with an input-changed reason', async () => {
    writeFileSync(path.join(outside, 'data.csv'), 'a,2\n');
    ws.remove('runs.log');
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(executions(ws)).to.deep.equal(['read']);
    const read = r.json.stages.find((s: { name: string }) => s.name === 'read');
    expect(read.reasons.map((x: { code: string }) => x.code)).to.include('input-changed');
    expect(ws.read('build/read.txt')).to.equal('a,2\n');
  });

  it('a file added to an external folder dep re-runs the stage reading the folder', async () => {
    writeFileSync(path.join(outside, 'folder/sub/y.txt'), 'y\n');
    ws.remove('runs.log');
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(executions(ws)).to.deep.equal(['tree']);
  });

  it('--set of the param moves the dep; a missing external dep exits 2 before anything ran', async () => {
    const before = ws.userSnapshot();
    const r = await ws.run(['run', '--set', `source=${path.join(outside, 'nope.csv')}`]);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.include('nope.csv');
    expect(ws.userSnapshot()).to.deep.equal(before);
  });

  it('a reference to an unknown param is a config error at its position', async () => {
    const bad = makeWorkspace({ yaml: 'version: 1\nstages:\n  a:\n    cmd: node stage.js out.txt\n    deps: ["${sorce}"]\n    params: {source: x}\n    outs: [out.txt]\n', files: { 'stage.js': STAGE_SCRIPT } });
    try {
      const r = await bad.run(['run']);
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.match(/^error: pipeline\.yaml:5:13: /); // the reference itself, inside the quotes
      expect(r.stderr).to.include('`${sorce}`');
      expect(r.stderr).to.include('did you mean `source`');
      expect(bad.exists('out.txt')).to.equal(false);
    } finally {
      bad.cleanup();
    }
  });
});

describe('engine: URL deps', function () {
  let server: http.Server;
  let requests = 0;
  let etag = '"v1"';
  let body = 'one\n';
  let url: string;
  let ws: Workspace;
  before(async () => {
    server = http.createServer((req, res) => {
      requests++;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      res.writeHead(200, { etag, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.csv`;
    ws = makeWorkspace({
      yaml: `version: 1\nstages:\n  fetch:\n    cmd: node stage.js build/f.txt\n    deps: [stage.js, "\${source}"]\n    params: {source: "${url}"}\n    outs: [build/f.txt]\n`,
      files: { 'stage.js': STAGE_SCRIPT },
    });
  });
  after(async () => {
    ws.cleanup();
    await new Promise((resolve) => server.close(resolve));
  });

  it('a run and a no-op make no request', async () => {
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    expect((await ws.run(['status'])).exitCode).to.equal(0);
    expect(requests).to.equal(0);
  });

  it('`update` records the server state; the stage reading it is then stale once', async () => {
    const u = await ws.run(['update']);
    expect(u.exitCode, u.stderr).to.equal(0);
    expect(requests).to.equal(1);
    expect(u.stdout).to.include('ETag "v1"');
    ws.remove('runs.log');
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    expect(executions(ws)).to.deep.equal(['fetch']);
  });

  it('`update` with an unchanged ETag changes nothing; a changed ETag makes the stage stale', async () => {
    expect((await ws.run(['update'])).exitCode).to.equal(0);
    expect(requests).to.equal(2);
    let s = await ws.run(['status', '--json']);
    expect(s.json.stages[0].state).to.equal('fresh');
    etag = '"v2"';
    body = 'two\n';
    ws.remove('runs.log');
    const r = await ws.run(['run', '--update', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(requests).to.equal(3);
    expect(executions(ws)).to.deep.equal(['fetch']);
    expect(r.json.stages[0].reasons.map((x: { code: string }) => x.code)).to.include('input-changed');
    s = await ws.run(['status', '--json']);
    expect(s.json.stages[0].state).to.equal('fresh');
  });

  it('an unreachable server is a warning and keeps the recorded state', async () => {
    await new Promise((resolve) => server.close(resolve));
    const u = await ws.run(['update']);
    expect(u.exitCode).to.equal(0);
    expect(u.stderr).to.match(/^warning: http:\/\/127\.0\.0\.1:\d+\/data\.csv: cannot reach the server/);
    const s = await ws.run(['status', '--json']);
    expect(s.json.stages[0].state).to.equal('fresh');
    server = http.createServer();
  });
});

describe('engine: symlinks inside a folder dep outside the workspace are followed', function () {
  let ws: Workspace;
  let elsewhere: string;
  /** `run --json`: the stage's status and reasons (code and path), and whether it executed. */
  const run = async () => {
    const n = executions(ws).length;
    const r = await ws.run(['run', '--json']);
    const stage = r.json.stages[0];
    return { exitCode: r.exitCode, status: stage.status, reasons: stage.reasons.map((x: { code: string; path?: string }) => [x.code, x.path]), executed: executions(ws).length > n, cause: stage.outcome.cause };
  };
  before(async () => {
    elsewhere = mkdtempSync(path.join(os.tmpdir(), 'pipeline-elsewhere-'));
    mkdirSync(path.join(elsewhere, 'real/deeper'), { recursive: true });
    writeFileSync(path.join(elsewhere, 'real/x.txt'), 'x1\n');
    writeFileSync(path.join(elsewhere, 'real/deeper/y.txt'), 'y1\n');
    writeFileSync(path.join(elsewhere, 'one.txt'), 'one\n');
    ws = makeWorkspace({
      yaml: 'version: 1\nstages:\n  read:\n    cmd: node stage.js build/read.txt ../data/a.txt\n    deps: [stage.js, ../data]\n    outs: [build/read.txt]\n',
      files: { 'stage.js': STAGE_SCRIPT },
    });
    const data = path.join(ws.base, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'a.txt'), 'a\n');
    symlinkSync(path.join(elsewhere, 'real'), path.join(data, 'sub'));
    symlinkSync(path.join(elsewhere, 'one.txt'), path.join(data, 'one.txt'));
    expect(await run()).to.deep.include({ exitCode: 0, status: 'ran' });
    expect(await run()).to.deep.include({ exitCode: 0, status: 'cached', executed: false });
  });
  after(() => {
    ws.cleanup();
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('an edit under the symlinked folder re-runs the stage with `changed input`', async () => {
    writeFileSync(path.join(elsewhere, 'real/x.txt'), 'x2\n');
    expect(await run()).to.deep.include({ exitCode: 0, status: 'ran', executed: true, reasons: [['input-changed', '../data']] });
    expect(await run()).to.deep.include({ status: 'cached', executed: false });
  });

  it('a file added deeper under it, and an edit of a symlinked file, are seen too', async () => {
    writeFileSync(path.join(elsewhere, 'real/deeper/z.txt'), 'z\n');
    expect(await run()).to.deep.include({ status: 'ran', reasons: [['input-changed', '../data']] });
    writeFileSync(path.join(elsewhere, 'one.txt'), 'two\n');
    expect(await run()).to.deep.include({ status: 'ran', reasons: [['input-changed', '../data']] });
  });

  it('a link back to a folder on its own way is a cycle: the stage fails naming it, nothing runs', async () => {
    const loop = path.join(elsewhere, 'real/deeper/up');
    symlinkSync('../..', loop);
    try {
      const r = await run();
      expect(r).to.deep.include({ exitCode: 1, status: 'failed', executed: false });
      expect(r.cause).to.deep.equal({
        kind: 'workspace',
        message: 'dep `../data` holds a symlink cycle: `sub/deeper/up/real` leads back to `sub`',
      });
    } finally {
      rmSync(loop);
    }
    symlinkSync(path.join(elsewhere, 'real'), loop);
    try {
      const r = await run();
      expect(r.cause).to.deep.equal({ kind: 'workspace', message: 'dep `../data` holds a symlink cycle: `sub/deeper/up` leads back to `sub`' });
    } finally {
      rmSync(loop);
    }
  });

  it('a symlink to nothing inside it is named', async () => {
    const dangling = path.join(elsewhere, 'real/gone');
    symlinkSync('nowhere.txt', dangling);
    try {
      const r = await run();
      expect(r).to.deep.include({ exitCode: 1, status: 'failed', executed: false });
      expect(r.cause).to.deep.equal({ kind: 'workspace', message: '`sub/gone` in dep `../data` is a symlink to nothing (`nowhere.txt`)' });
    } finally {
      rmSync(dangling);
    }
    expect(await run()).to.deep.include({ exitCode: 0, status: 'cached' });
  });
});

describe('engine: deps that cannot be hashed (/proc, /sys, /dev, special files)', function () {
  let elsewhere: string;
  before(() => {
    elsewhere = mkdtempSync(path.join(os.tmpdir(), 'pipeline-unhashable-'));
  });
  after(() => rmSync(elsewhere, { recursive: true, force: true }));
  const yaml = (deps: string, params = '') => `version: 1\n${params}stages:\n  read:\n    cmd: node stage.js build/read.txt\n    deps: [stage.js, ${deps}]\n    outs: [build/read.txt]\n`;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const diagnostics = (r: { json?: any }): string[][] => r.json.diagnostics.map((d: { code: string; line: number; col: number; message: string; file: string }) => [d.code, d.file, `${d.line}:${d.col}`, d.message]);

  for (const dep of ['/proc/self/status', '/proc/self', '/sys/kernel', '/dev/null']) {
    it(`\`${dep}\` written in deps: validate and run exit 2 at the dep, nothing runs, no internal error`, async () => {
      const ws = makeWorkspace({ yaml: yaml(dep), files: { 'stage.js': STAGE_SCRIPT } });
      try {
        const v = await ws.run(['validate', '--json']);
        expect(v.exitCode, v.stderr).to.equal(2);
        const [d] = diagnostics(v);
        expect(d.slice(0, 3)).to.deep.equal(['dep-unhashable', 'pipeline.yaml', '5:22']);
        expect(d[3]).to.match(new RegExp(`^stage \`read\`: dep \`${dep}\` is under \`/(proc|sys|dev)\`: `));
        const r = await ws.run(['run']);
        expect(r.exitCode, r.stderr).to.equal(2);
        expect(r.stderr).to.include('hint: copy what the stage reads into a regular file first');
        expect(r.stderr).to.not.include('internal error');
        expect(executions(ws)).to.deep.equal([]);
      } finally {
        ws.cleanup();
      }
    });
  }

  it('a `${param}` dep set to /proc/self/environ is refused naming the --set', async () => {
    const ws = makeWorkspace({ yaml: yaml('"${src}"', `params:\n  src: ${path.join(elsewhere, 'none.csv')}\n`), files: { 'stage.js': STAGE_SCRIPT } });
    try {
      const v = await ws.run(['validate', '--json', '--set', 'src=/proc/self/environ']);
      expect(v.exitCode, v.stderr).to.equal(2);
      const [d] = v.json.diagnostics;
      expect([d.code, d.message]).to.deep.equal(['dep-unhashable', 'stage `read`: dep `${src}` is `/proc/self/environ`, under `/proc`: its files cannot be hashed (they show a size of 0 and a fixed mtime, whatever they hold)']);
      expect(d.related.map((x: { file: string }) => x.file)).to.deep.equal(['--set src=/proc/self/environ']);
    } finally {
      ws.cleanup();
    }
  });

  it('a symlink outside the workspace leading into /proc, and a fifo inside a folder dep: the stage fails naming them (exit 1), never hangs', async () => {
    symlinkSync('/proc/loadavg', path.join(elsewhere, 'load'));
    const folder = path.join(elsewhere, 'folder');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'a.txt'), 'a\n');
    const ws = makeWorkspace({ yaml: yaml(path.join(elsewhere, 'load')), files: { 'stage.js': STAGE_SCRIPT } });
    try {
      const r = await ws.run(['run', '--json']);
      expect(r.exitCode, r.stderr).to.equal(1);
      expect(r.json.stages[0].outcome.cause).to.deep.equal({
        kind: 'workspace',
        message: `dep \`${path.join(elsewhere, 'load')}\` leads to \`/proc/loadavg\`, under \`/proc\`: its files cannot be hashed (they show a size of 0 and a fixed mtime, whatever they hold)`,
      });
      ws.write('pipeline.yaml', yaml(folder));
      execFileSync('mkfifo', [path.join(folder, 'pipe')]);
      const f = await ws.run(['run', '--json']);
      expect(f.exitCode, f.stderr).to.equal(1);
      expect(f.json.stages[0].outcome.cause.message).to.equal(`\`pipe\` in dep \`${folder}\` is a fifo, which has no content to hash`);
      expect(executions(ws)).to.deep.equal([]);
    } finally {
      ws.cleanup();
    }
  });
});
