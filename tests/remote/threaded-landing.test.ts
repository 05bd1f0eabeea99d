// Large downloads are hashed and written in a second thread (runner/store/remote/hash-thread.ts), small ones gathered
// and written at once (ingest.ts). Against a small in-process HTTP server: the bytes land exactly and are checked against their name; several at once through the one
// thread each land their own bytes; wrong bytes are refused, a body that stops mid-way fails as a broken download,
// and a place that cannot be written (or a file in the way) is named, by either path; nothing is left behind.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { HttpBackend } from '../../runner/store/remote/http.js';
import { Remote } from '../../runner/store/remote/remote.js';
import { IntegrityError, RemoteError } from '../../runner/store/remote/backend.js';
import { THREADED_LANDING } from '../../runner/store/remote/ingest.js';
import { IoError } from '../../runner/store/io-error.js';
import { hashBytes } from '../../runner/store/hash.js';

/** Random-looking bytes, different per seed, large enough for the threaded path. */
function body(seed: number, size = THREADED_LANDING * 2 + 12_345): Buffer {
  const b = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    b.writeUInt32LE(x, Math.min(i, size - 4));
  }
  return b;
}

const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('remote cache: large downloads hashed in a second thread (in-process HTTP server)', () => {
  let server: Server;
  let url: string;
  let dir: string;
  /** Per path: the bytes to send, and how many of them before the connection is cut (all when absent). */
  const blobs = new Map<string, { data: Buffer; cutAt?: number }>();

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-threaded-'));
    server = createServer((req, res) => {
      const blob = blobs.get(req.url!);
      if (!blob) {
        res.statusCode = 404;
        return res.end();
      }
      res.writeHead(200, { 'content-length': String(blob.data.length) });
      if (blob.cutAt === undefined) return res.end(blob.data);
      res.write(blob.data.subarray(0, blob.cutAt), () => req.socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/p`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => blobs.clear());

  it('lands several large objects at once, each byte-identical and checked against its name', async () => {
    const remote = new Remote(new HttpBackend(url, {}));
    const datas = [1, 2, 3, 4, 5].map((seed) => body(seed));
    const hashes = datas.map((d) => hashBytes(d));
    datas.forEach((d, i) => blobs.set(`/p/cas/${hashes[i]}`, { data: d }));
    const files = hashes.map((_, i) => path.join(dir, `many-${i}`));
    const got = await Promise.all(hashes.map((h, i) => remote.getObject(h, files[i])));
    expect(got).to.deep.equal(datas.map((d) => ({ size: d.length })));
    files.forEach((f, i) => expect(readFileSync(f).equals(datas[i])).to.equal(true));
  });

  it('refuses a large object whose bytes do not match its name, and removes the file', async () => {
    const remote = new Remote(new HttpBackend(url, {}));
    const hash = hashBytes(body(7));
    blobs.set(`/p/cas/${hash}`, { data: body(8) });
    const file = path.join(dir, 'wrong');
    const err = await failure(remote.getObject(hash, file));
    expect(err).to.be.instanceOf(IntegrityError);
    expect((err as Error).message).to.equal(`refused object ${hash} from ${url}: its content hashes to ${hashBytes(body(8))}`);
    expect(existsSync(file)).to.equal(false);
  });

  it('a large body that stops mid-way fails as a broken download, retried, and lands nothing', async () => {
    const remote = new Remote(new HttpBackend(url, {}), { retries: 1 });
    const data = body(9);
    const hash = hashBytes(data);
    blobs.set(`/p/cas/${hash}`, { data, cutAt: THREADED_LANDING + 1000 });
    const file = path.join(dir, 'cut');
    const err = await failure(remote.getObject(hash, file));
    expect(err).to.be.instanceOf(RemoteError);
    expect((err as Error).message).to.match(new RegExp(`^remote ${url}: GET cas/${hash} broke off: `));
    // The caller removes the temp file; the thread has closed it (nothing is written into it afterwards).
    rmSync(file, { force: true });
    // The same object, whole now, lands through the same thread.
    blobs.set(`/p/cas/${hash}`, { data });
    expect(await remote.getObject(hash, file)).to.deep.equal({ size: data.length });
    expect(readFileSync(file).equals(data)).to.equal(true);
  });

  for (const [what, size] of [
    ['large', THREADED_LANDING * 2 + 12_345],
    ['small', 70_000],
  ] as const) {
    it(`${what}: a place that cannot be written is named with its path and remedy, not blamed on the remote`, async () => {
      const data = body(10, size);
      const hash = hashBytes(data);
      blobs.set(`/p/cas/${hash}`, { data });
      const notDir = path.join(dir, `a-file-${what}`);
      writeFileSync(notDir, 'x');
      const file = path.join(notDir, 'download');
      const err = await failure(new HttpBackend(url, {}).download('cas', hash, file));
      expect(err).to.be.instanceOf(IoError);
      expect((err as Error).message).to.match(new RegExp(`^cannot write a download to \`${file}\`: ENOTDIR`));
    });

    it(`${what}: a file already in the way is never written through`, async () => {
      const data = body(11, size);
      const hash = hashBytes(data);
      blobs.set(`/p/cas/${hash}`, { data });
      const file = path.join(dir, `taken-${what}`);
      writeFileSync(file, 'keep me');
      const err = await failure(new HttpBackend(url, {}).download('cas', hash, file));
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).message).to.include('EEXIST');
      expect(readFileSync(file, 'utf8')).to.equal('keep me');
    });
  }

  it('a small body that stops mid-way fails as a broken download and writes nothing', async () => {
    const data = body(12, 500_000);
    const hash = hashBytes(data);
    blobs.set(`/p/cas/${hash}`, { data, cutAt: 100_000 });
    const file = path.join(dir, 'small-cut');
    const err = await failure(new Remote(new HttpBackend(url, {}), { retries: 0 }).getObject(hash, file));
    expect(err).to.be.instanceOf(RemoteError);
    expect((err as Error).message).to.match(new RegExp(`^remote ${url}: GET cas/${hash} broke off: `));
    expect(existsSync(file)).to.equal(false);
  });
});
