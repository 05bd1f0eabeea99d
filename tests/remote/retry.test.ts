// Retries and authentication headers, against a small in-process HTTP server that can be told to fail: 5xx and
// dropped connections are retried with backoff, 4xx answers are not; a bearer token is sent as configured.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { HttpBackend } from '../../runner/store/remote/http.js';
import { Remote } from '../../runner/store/remote/remote.js';
import { RemoteError } from '../../runner/store/remote/backend.js';
import { hashBytes } from '../../runner/store/hash.js';

interface Plan {
  /** Answers to give before behaving, e.g. [503, 503] or ['drop']. */
  failures: (number | 'drop')[];
}

describe('remote cache: retries and authentication (in-process HTTP server)', () => {
  let server: Server;
  let url: string;
  const blobs = new Map<string, Buffer>();
  const seen: { method: string; auth?: string }[] = [];
  const plan: Plan = { failures: [] };
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-retry-'));
    server = createServer((req: IncomingMessage, res) => {
      seen.push({ method: req.method!, auth: req.headers.authorization });
      const failure = plan.failures.shift();
      if (failure === 'drop') return req.socket.destroy();
      if (typeof failure === 'number') {
        res.statusCode = failure;
        return res.end('failing on purpose');
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const key = req.url!;
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
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/p`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen.length = 0;
    plan.failures = [];
  });

  it('retries 5xx answers and dropped connections, then succeeds', async () => {
    const remote = new Remote(new HttpBackend(url, {}), { retries: 3 });
    const data = Buffer.from('some object');
    const file = path.join(dir, 'obj');
    writeFileSync(file, data);
    const hash = hashBytes(data);
    plan.failures = [503, 'drop'];
    await remote.putObject(hash, file, data.length);
    expect(seen.map((s) => s.method)).to.deep.equal(['PUT', 'PUT', 'PUT']);
    plan.failures = [500];
    expect(await remote.hasObject(hash)).to.equal(true);
    expect(seen.length).to.equal(5);
  });

  it('gives up after the configured retries with the last cause', async () => {
    const remote = new Remote(new HttpBackend(url, {}), { retries: 2 });
    plan.failures = [502, 502, 502, 502];
    const err = await remote.hasObject('0'.repeat(64)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RemoteError);
    expect((err as Error).message).to.include('answered 502');
    expect(seen.length).to.equal(3);
  });

  it('does not retry 4xx answers', async () => {
    const remote = new Remote(new HttpBackend(url, {}), { retries: 4 });
    plan.failures = [403];
    const err = await remote.getRecord('a'.repeat(64)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.include('answered 403');
    expect(seen.length).to.equal(1);
  });

  it('sends a bearer token, or basic auth, and never shows either', async () => {
    await new Remote(new HttpBackend(url, { token: 'tok-secret-123' })).hasRecord('b'.repeat(64));
    expect(seen[0].auth).to.equal('Bearer tok-secret-123');
    const basic = new HttpBackend(url.replace('://', '://alice:pw-secret-9@'), {});
    await basic.has('cas', 'c'.repeat(64));
    expect(seen[1].auth).to.equal(`Basic ${Buffer.from('alice:pw-secret-9').toString('base64')}`);
    expect(basic.describe()).to.equal(url);
    plan.failures = [401];
    const err = await basic.has('cas', 'd'.repeat(64)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.not.include('pw-secret-9');
    expect((err as Error).message).to.include(url);
  });

  it('refuses a downloaded object whose bytes do not match its name, and removes the file', async () => {
    const remote = new Remote(new HttpBackend(url, {}));
    const hash = hashBytes('the real content');
    blobs.set(`/p/cas/${hash}`, Buffer.from('something else'));
    const file = path.join(dir, 'download');
    const err = await remote.getObject(hash, file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.match(new RegExp(`refused object ${hash} from .*: its content hashes to [0-9a-f]{64}`));
    expect(() => rmSync(file)).to.throw();
  });
});
