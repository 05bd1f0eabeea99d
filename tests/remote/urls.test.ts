// URLs and bytes from outside. A remote URL with a query keeps its keys in the path (in-process server and nginx);
// credentials in a remote URL or a URL dep — passwords holding `/`, `@`, `:` and `%`, percent-encoded or not — work
// where they can be parsed without ambiguity, are refused without being shown where they cannot, and never appear in
// any output, --json, last-run.json or file under .pipeline/ or the store; `remote:` with credentials is a validate
// warning. Control characters a remote sends (a replayed log, a status line, a record's field) are printed escaped.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { allText, cloneOf, everythingWritten, freshRemote, producer, ran } from './helpers.js';
import { makeWorkspace, type CliResult, type Workspace } from '../helpers/workspace.js';
import { HttpBackend } from '../../runner/store/remote/http.js';
import { Remote } from '../../runner/store/remote/remote.js';
import { hashBytes } from '../../runner/store/hash.js';

const USER = 'ci-bot';
/** Written into URLs below: percent-encoded where the URL form needs it (`/`, `%`), as typed elsewhere (`@`, `:`). */
const PASSWORD = 'pa/ss@w:rd%9z';
const IN_URL = 'pa%2Fss@w:rd%259z';
/** Pieces of the password that must never be printed, in any of its forms. */
const PIECES = ['pa/ss', 'pa%2F', 'ss@w', 'w:rd', 'rd%9z', 'rd%25', '%259z', USER];

/** An HTTP server holding blobs in memory behind basic auth (user/password above); records request URLs. */
async function authServer(): Promise<{ server: Server; port: number; urls: string[]; blobs: Map<string, Buffer> }> {
  const urls: string[] = [];
  const blobs = new Map<string, Buffer>();
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    urls.push(req.url!);
    if (req.headers.authorization !== expected) {
      res.statusCode = 401;
      return res.end();
    }
    const key = req.url!.split('?')[0];
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'PUT') {
        blobs.set(key, Buffer.concat(chunks));
        res.statusCode = 201;
        return res.end();
      }
      const blob = blobs.get(key);
      res.statusCode = blob ? 200 : 404;
      res.end(req.method === 'GET' ? blob : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, urls, blobs };
}

function expectNoPassword(what: string, text: string): void {
  for (const p of PIECES) expect(text, `${what} shows \`${p}\``).to.not.include(p);
}

function expectClean(ws: Workspace, results: CliResult[]): void {
  for (const [i, r] of results.entries()) {
    expectNoPassword(`output ${i}`, r.stdout + r.stderr);
  }
  expectNoPassword('.pipeline/ or the store', everythingWritten(ws));
}

describe('remote URLs: a query string', () => {
  it('keys go in the path, before the query, which every request keeps', async () => {
    const { server, port, urls } = await authServer();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-query-'));
    try {
      const backend = new HttpBackend(`http://${USER}:${IN_URL}@127.0.0.1:${port}/p/cache/?token=abc&x=1#frag`, {});
      expect(backend.describe()).to.equal(`http://127.0.0.1:${port}/p/cache?…`);
      const remote = new Remote(backend);
      const file = path.join(dir, 'obj');
      writeFileSync(file, 'object');
      const hash = hashBytes('object');
      await remote.putObject(hash, file, 6);
      expect(await remote.hasObject(hash)).to.equal(true);
      expect(await remote.getObject(hash, path.join(dir, 'back'))).to.deep.equal({ size: 6 });
      expect(urls).to.deep.equal([`/p/cache/cas/${hash}?token=abc&x=1`, `/p/cache/cas/${hash}?token=abc&x=1`, `/p/cache/cas/${hash}?token=abc&x=1`]);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('against nginx: push and pull through a URL with a token in its query; the token is never shown', async () => {
    const remote = await freshRemote('http');
    const url = `${remote.url}?token=sekrit-token-0123`;
    const ws = producer();
    expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
    const push = await ws.run(['push'], { env: { PIPELINE_REMOTE: url } });
    expect(push.exitCode, push.stderr).to.equal(0);
    expect(push.stdout).to.include(`to ${remote.url}?… in`);
    // The objects are where a plain URL puts them.
    const fp: string = ws.lock().stages.make.fingerprint;
    expect(await remote.backend.has('ac', fp)).to.equal(true);
    const clone = cloneOf(ws);
    const pull = await clone.run(['pull'], { env: { PIPELINE_REMOTE: url } });
    expect(pull.exitCode, pull.stderr).to.equal(0);
    expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
    for (const r of [push, pull]) expect(r.stdout + r.stderr).to.not.include('sekrit');
    expect(everythingWritten(clone)).to.not.include('sekrit');
    ws.cleanup();
    clone.cleanup();
  });
});

describe('remote URLs: credentials', () => {
  let auth: Awaited<ReturnType<typeof authServer>>;
  before(async () => {
    auth = await authServer();
  });
  after(() => auth.server.close());

  it('PIPELINE_REMOTE with user:password@ (/, @, :, % in the password) works and is never shown, dead or alive', async () => {
    const url = `http://${USER}:${IN_URL}@127.0.0.1:${auth.port}/team`;
    const ws = producer();
    const push = await ws.run(['run', '--push', '--json'], { env: { PIPELINE_REMOTE: url } });
    expect(push.exitCode, push.stderr).to.equal(0);
    expect(push.stderr).to.include(`remote: pushed 2 result(s)`);
    expect(push.stderr).to.include(`to http://127.0.0.1:${auth.port}/team`);
    const clone = cloneOf(ws);
    const pull = await clone.run(['run', '--pull', '--json', '--verbose'], { env: { PIPELINE_REMOTE: url } });
    expect(ran(pull.json)).to.deep.equal([]);
    const status = await clone.run(['status', '--remote', '--json'], { env: { PIPELINE_REMOTE: url } });
    const dead = await clone.run(['run', '--pull', '--push', '--json'], { env: { PIPELINE_REMOTE: url.replace(String(auth.port), '1'), PIPELINE_REMOTE_RETRIES: '0' } });
    expect(dead.stderr).to.match(/warning: remote: remote http:\/\/127\.0\.0\.1:1\/team: .*ECONNREFUSED/);
    const wrong = await clone.run(['pull'], { env: { PIPELINE_REMOTE: url.replace(IN_URL, `${IN_URL}x`) } });
    expect(wrong.exitCode).to.equal(1);
    expect(wrong.stderr).to.include('answered 401');
    expectClean(ws, [push]);
    expectClean(clone, [pull, status, dead, wrong]);
    ws.cleanup();
    clone.cleanup();
  });

  it('a password with an unencoded / before the @ is refused (exit 2) without being shown, for any scheme', async () => {
    const ws = producer();
    for (const url of [`http://${USER}:${PASSWORD}@127.0.0.1:${auth.port}/team`, `gopher://${USER}:${PASSWORD}@host/x`, `s3://${USER}:${PASSWORD}@bucket/x`]) {
      const r = await ws.run(['push'], { env: { PIPELINE_REMOTE: url } });
      expect(r.exitCode, `${url}: ${r.stderr}`).to.equal(2);
      expectClean(ws, [r]);
    }
    ws.cleanup();
  });

  it('remote: with credentials in pipeline.yaml: a validate warning, works, and is never copied into .pipeline/', async () => {
    const yaml = `version: 1\nremote: {url: 'http://${USER}:${IN_URL}@127.0.0.1:${auth.port}/yaml', push: true}\nstages:\n  s: {cmd: [node, -e, "require('fs').writeFileSync('o.txt', 'x')"], outs: [o.txt]}\n`;
    const ws = makeWorkspace({ yaml });
    const validate = await ws.run(['validate']);
    expect(validate.exitCode, validate.stderr).to.equal(0);
    expect(validate.stderr).to.match(/^warning: pipeline\.yaml:2:15: remote `http:\/\/127\.0\.0\.1:\d+\/yaml` carries credentials \(user:password@\) in pipeline\.yaml/m);
    expect(validate.stderr).to.include('PIPELINE_REMOTE_USER');
    const json = await ws.run(['validate', '--json']);
    expect(json.json.ok).to.equal(true);
    expect(json.json.diagnostics.map((d: { code: string; severity: string }) => `${d.code} ${d.severity}`)).to.deep.equal(['remote-credentials warning']);
    const run = await ws.run(['run', '--json']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stderr).to.include(`remote: pushed 1 result(s)`);
    const status = await ws.run(['status', '--json']);
    expect(ws.exists('.pipeline/state/config.json')).to.equal(false);
    expectClean(ws, [validate, json, run, status]);
    // A refused one (ambiguous) is a config error at its place, shown without its credentials.
    ws.write('pipeline.yaml', yaml.replace(IN_URL, PASSWORD));
    const bad = await ws.run(['validate']);
    expect(bad.exitCode).to.equal(2);
    expect(bad.stderr).to.match(/pipeline\.yaml:2:15: remote `http:\/\/127\.0\.0\.1:\d+\/yaml` has an `@` after a `\/`, `\?` or `#`/);
    expectClean(ws, [bad]);
    ws.cleanup();
  });

  it('a URL dep with credentials: sent as basic auth; update, run, --json and last-run.json show it without them', async () => {
    auth.blobs.set('/data.csv', Buffer.from('a,b\n1,2\n'));
    const dep = `http://${USER}:${IN_URL}@127.0.0.1:${auth.port}/data.csv`;
    const yaml = `version: 1\nstages:\n  s: {cmd: [node, -e, "require('fs').writeFileSync('o.txt', 'x')"], deps: ['${dep}'], outs: [o.txt]}\n`;
    const ws = makeWorkspace({ yaml });
    const first = await ws.run(['update']);
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(first.stdout).to.match(new RegExp(`^http://127\\.0\\.0\\.1:${auth.port}/data\\.csv: recorded \\(8 bytes\\)`, 'm'));
    const run = await ws.run(['run', '--json']);
    expect(run.exitCode, run.stderr).to.equal(0);
    auth.blobs.set('/data.csv', Buffer.from('a,b\n1,3\n'));
    const changed = await ws.run(['update']);
    expect(changed.stdout).to.include('changed');
    const again = await ws.run(['run', '--json']);
    const reasons = (again.json as { stages: { reasons: { message: string }[] }[] }).stages[0].reasons.map((r) => r.message);
    expect(reasons).to.include(`changed input \`http://127.0.0.1:${auth.port}/data.csv\``);
    expect(ws.exists('.pipeline/state/config.json')).to.equal(false);
    expectClean(ws, [first, run, changed, again]);
    ws.cleanup();
  });
});

describe('bytes from outside are printed with control characters neutralised', () => {
  /** A stage that prints an OSC 52 clipboard write, a screen clear, a CR-overwritten line, an 8-bit CSI and a bidi override. */
  const SAY = "process.stdout.write('\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J\\rstage said ok\\x9b1A\\u202eevil\\n'); require('fs').writeFileSync('o.txt', 'x');\n";

  it('a log replayed by run --pull --verbose', async () => {
    const remote = await freshRemote('folder');
    const yaml = 'version: 1\nstages:\n  s: {cmd: node say.js, deps: [say.js], outs: [o.txt]}\n';
    const ws = makeWorkspace({ yaml, files: { 'say.js': SAY } });
    expect((await ws.run(['run', '--push', '-q'], { env: remote.env })).exitCode).to.equal(0);
    const clone = makeWorkspace({ yaml, files: { 'say.js': SAY, 'pipeline.lock': ws.read('pipeline.lock') } });
    const r = await clone.run(['run', '--pull', '--verbose'], { env: remote.env });
    expect(r.exitCode, r.stderr).to.equal(0);
    const out = r.stdout + r.stderr;
    // eslint-disable-next-line no-control-regex -- looking for control characters
    expect(out).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(out).to.include('\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J\\x0dstage said ok\\x9b1A\\u202eevil');
    ws.cleanup();
    clone.cleanup();
  });

  it("a server's status line and a record's fields", async () => {
    // A status line with an 8-bit CSI (obs-text, which HTTP allows) from a server that fails every request.
    const tcp = createTcpServer((socket) => {
      socket.on('data', () => socket.end(Buffer.from('HTTP/1.1 500 Oops\x9b2J\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', 'latin1')));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const ws = producer();
    expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
    const push = await ws.run(['push'], { env: { PIPELINE_REMOTE: `http://127.0.0.1:${(tcp.address() as AddressInfo).port}/x`, PIPELINE_REMOTE_RETRIES: '0' } });
    tcp.close();
    expect(push.exitCode).to.equal(1);
    expect(push.stderr).to.include('answered 500 Oops\\x9b2J');
    expect(push.stderr).to.not.include('\u009b');

    const remote = await freshRemote('folder');
    expect((await ws.run(['push'], { env: remote.env })).exitCode).to.equal(0);
    const fp: string = ws.lock().stages.make.fingerprint;
    await remote.backend.putBytes('ac', fp, Buffer.from(JSON.stringify({ version: '\u001b[2J\u001b]0;owned\u0007', fingerprint: fp })));
    const clone = cloneOf(ws);
    const pull = await clone.run(['pull', 'make'], { env: remote.env });
    expect(pull.exitCode).to.equal(1);
    expect(pull.stderr).to.include('unsupported record version');
    expect(pull.stderr).to.not.include('\u001b');
    expect(allText(clone.path('.pipeline'))).to.not.include('\u001b');
    ws.cleanup();
    clone.cleanup();
  });
});
