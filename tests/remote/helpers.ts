// Remotes for the tests against real servers (started by scripts/http-cache.sh and scripts/s3-server.sh, whose
// `export` lines .ci/run puts in the environment), and a small pipeline with a file out, a folder out and a
// consumer, whose outputs differ on every execution (so a restored out is told apart from a re-made one).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import type { Backend } from '../../runner/store/remote/backend.js';
import { FolderBackend } from '../../runner/store/remote/folder.js';
import { HttpBackend } from '../../runner/store/remote/http.js';
import { S3Backend } from '../../runner/store/remote/s3.js';

export type Kind = 'folder' | 'http' | 's3';
export const KINDS: Kind[] = ['folder', 'http', 's3'];

export const BUCKET = 'pipeline-remote-tests';

function need(name: string, script: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: start the server with \`eval "$(scripts/${script} start)"\` (or run .ci/run)`);
  return v;
}

/** S3 settings for the CLI: the server's endpoint and test keys (from scripts/s3-server.sh). */
export function s3Env(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: need('PIPELINE_TEST_S3_ENDPOINT', 's3-server.sh'),
    AWS_ACCESS_KEY_ID: need('PIPELINE_TEST_S3_ACCESS_KEY', 's3-server.sh'),
    AWS_SECRET_ACCESS_KEY: need('PIPELINE_TEST_S3_SECRET_KEY', 's3-server.sh'),
    AWS_REGION: 'us-east-1',
  };
}

let bucketReady: Promise<void> | undefined;
export function ensureBucket(): Promise<void> {
  bucketReady ??= (async () => {
    const env = s3Env();
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      endpoint: env.AWS_ENDPOINT_URL,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    } catch (err) {
      if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((err as Error).name)) throw err;
    }
  })();
  return bucketReady;
}

/** A fresh, empty remote of the given kind: its PIPELINE_REMOTE, the env the CLI needs, and a backend for tampering. */
export interface TestRemote {
  url: string;
  env: Record<string, string | undefined>;
  backend: Backend;
}

const folders: string[] = [];

export async function freshRemote(kind: Kind): Promise<TestRemote> {
  const id = `t-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  switch (kind) {
    case 'folder': {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-remote-'));
      folders.push(dir);
      return { url: dir, env: { PIPELINE_REMOTE: dir }, backend: new FolderBackend(dir) };
    }
    case 'http': {
      const url = `${need('PIPELINE_TEST_HTTP_URL', 'http-cache.sh')}/${id}`;
      return { url, env: { PIPELINE_REMOTE: url }, backend: new HttpBackend(url, {}) };
    }
    case 's3': {
      await ensureBucket();
      const url = `s3://${BUCKET}/${id}`;
      const env = { ...s3Env(), PIPELINE_REMOTE: url };
      Object.assign(process.env, s3Env());
      return { url, env, backend: new S3Backend(url) };
    }
  }
}

/** Outputs differ on every execution: a restored out is byte-identical to the pushed one, a re-made one is not. */
export const YAML = `version: 1
stages:
  make:
    cmd: node make.js
    deps: [make.js]
    outs: [out/data.txt, out/parts]
  use:
    cmd: node use.js
    needs: [make]
    deps: [use.js]
    outs: [out/summary.txt]
`;

export const MAKE_JS = `const fs = require('fs');
const crypto = require('crypto');
fs.appendFileSync('runs.log', 'make\\n');
fs.mkdirSync('out/parts/nested', { recursive: true });
fs.writeFileSync('out/data.txt', 'data ' + crypto.randomBytes(8).toString('hex') + '\\n');
fs.writeFileSync('out/parts/a.txt', 'A ' + crypto.randomBytes(8).toString('hex'));
fs.writeFileSync('out/parts/nested/b.bin', crypto.randomBytes(4096));
const big = Number(process.env.BIG_MB || 0);
if (big > 0) {
  const fd = fs.openSync('out/parts/big.bin', 'w');
  for (let i = 0; i < big; i++) fs.writeSync(fd, crypto.randomBytes(1024 * 1024));
  fs.closeSync(fd);
}
`;

export const USE_JS = `const fs = require('fs');
fs.appendFileSync('runs.log', 'use\\n');
fs.writeFileSync('out/summary.txt', fs.readFileSync('out/data.txt', 'utf8').toUpperCase() + Math.random());
`;

export function producer(): Workspace {
  return makeWorkspace({ yaml: YAML, files: { 'make.js': MAKE_JS, 'use.js': USE_JS }, prefix: 'pipeline-remote-ws-' });
}

/** A fresh clone of a workspace: what version control holds (pipeline.yaml, scripts, pipeline.lock), own cache. */
export function cloneOf(ws: Workspace): Workspace {
  const clone = makeWorkspace({ yaml: ws.read('pipeline.yaml'), prefix: 'pipeline-remote-clone-' });
  for (const f of ['make.js', 'use.js', 'pipeline.lock']) cpSync(ws.path(f), clone.path(f));
  mkdirSync(clone.cacheDir, { recursive: true });
  return clone;
}

/** Stage name → status of a `run --json`. */
export function ran(json: { stages: { name: string; status: string }[] }): string[] {
  return json.stages.filter((s) => s.status === 'ran').map((s) => s.name);
}

/**
 * A TCP server the test controls, standing in for a remote that misbehaves: `silent` accepts connections and never
 * answers; `stall-body` answers HEAD of a key with 404 (of anything else, a bucket, with 200), answers GET with its headers and the first bytes of a body that never
 * comes, and never reads a PUT's body. It records each request line (the test's handshake: `waitForRequest`).
 */
export class FakeServer {
  readonly requests: string[] = [];
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly mode: 'silent' | 'stall-body',
  ) {}

  static async start(mode: 'silent' | 'stall-body'): Promise<FakeServer> {
    const server = createServer();
    const fake = new FakeServer(server, mode);
    server.on('connection', (socket) => fake.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private accept(socket: Socket): void {
    this.connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.includes('\r\n\r\n')) return; // a body (or a pipelined request): never read further
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const line = head.split('\r\n')[0];
      this.requests.push(line);
      for (const w of this.waiters.splice(0)) w();
      if (this.mode === 'silent') return;
      const method = line.split(' ')[0];
      // HEAD of a key: absent; HEAD of anything else (an S3 bucket): there.
      if (method === 'HEAD') socket.write(/\/(cas|ac)\//.test(line) ? 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n' : 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
      else if (method === 'GET') socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 4096\r\n\r\n{"version": 1, ');
      else socket.pause();
      head = '';
      if (method !== 'HEAD') head = '\r\n\r\n';
    });
  }

  /** Resolves once the server has seen `n` requests in all. */
  waitForRequest(n = 1): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => (this.requests.length >= n ? resolve() : this.waiters.push(check));
      this.waiters.push(check);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A port that is listening but never accepts (its accept queue filled by the helper itself): a connection attempt
 * there waits for an answer that never comes, as with a host that drops packets. A Python child holds the socket;
 * `close` ends it by its pid.
 */
export async function unacceptingPort(): Promise<{ port: number; close(): void }> {
  const script = [
    'import socket, sys',
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    'port = s.getsockname()[1]',
    'fill = []',
    'for i in range(4):',
    '    c = socket.socket(); c.setblocking(False)',
    '    try: c.connect(("127.0.0.1", port))',
    '    except BlockingIOError: pass',
    '    fill.append(c)',
    'print(port, flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return {
    port,
    close: () => {
      child.stdin.end();
      if (child.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/** Every file under `dir` as text (latin1), for looking for a secret in what the runner wrote. */
export function allText(dir: string): string {
  let text = '';
  if (!existsSync(dir)) return text;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) text += `${readFileSync(path.join(e.parentPath, e.name), 'latin1')}\n`;
  }
  return text;
}

/** Every file of a workspace the runner writes: .pipeline/ (state, logs, last-run.json, history) and the store. */
export function everythingWritten(ws: Workspace): string {
  return allText(ws.path('.pipeline')) + allText(ws.cacheDir);
}
