// Plain-HTTP connections read into one reused buffer (runner/store/remote/read-buffer.ts), and large body chunks that
// own their memory move to the hashing thread without a copy (hash-thread.ts). Against a small in-process HTTP
// server: bodies larger than the buffer arrive byte-identical through one kept-alive connection, also when the reader
// pauses after every chunk (the socket stops and starts reading into the same buffer); a body of many sizes of
// chunk, some moved and some copied, lands byte-identical with the right hash, and the chunks moved are not reused.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { READ_BUFFER, readBufferAgent } from '../../runner/store/remote/read-buffer.js';
import { ThreadedHashingFile } from '../../runner/store/remote/hash-thread.js';
import { hashBytes } from '../../runner/store/hash.js';

function bytes(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i + 4 <= size; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

describe('remote cache: connections reading into one buffer (in-process HTTP server)', () => {
  let server: Server;
  let port: number;
  const bodies = new Map<string, Buffer>();
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-read-buffer-'));
    server = createServer((req, res) => {
      const data = bodies.get(req.url!) ?? Buffer.alloc(0);
      res.writeHead(200, { 'content-length': String(data.length) });
      res.end(data);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** GET a path through the agent; every chunk copied as it comes (the reader's own copy), pausing after each when asked. */
  function get(agent: ReturnType<typeof readBufferAgent>, p: string, pauseEach: boolean): Promise<{ body: Buffer; socket: Socket; chunks: number }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: p, agent }, (res: IncomingMessage) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          parts.push(Buffer.from(c));
          if (pauseEach) {
            res.pause();
            setImmediate(() => res.resume());
          }
        });
        res.on('end', () => resolve({ body: Buffer.concat(parts), socket: req.socket as Socket, chunks: parts.length }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('bodies larger than the buffer arrive byte-identical through one kept-alive connection, paused after every chunk or not', async () => {
    const http = await import('node:http');
    const agent = readBufferAgent(http, { keepAlive: true, maxSockets: 1 });
    const sizes = [READ_BUFFER * 3 + 17, 1, READ_BUFFER, 5 * READ_BUFFER - 1];
    sizes.forEach((size, i) => bodies.set(`/b${i}`, bytes(i + 1, size)));
    let socket: Socket | undefined;
    try {
      for (const [i] of sizes.entries()) {
        for (const pauseEach of [false, true]) {
          const got = await get(agent, `/b${i}`, pauseEach);
          expect(got.body.equals(bodies.get(`/b${i}`)!), `/b${i} paused ${pauseEach}`).to.equal(true);
          socket ??= got.socket;
          expect(got.socket).to.equal(socket);
        }
      }
    } finally {
      agent.destroy();
    }
  });

  it('a body whose chunks are moved (own memory, ≥ a batch) or copied (views, small) lands byte-identical with its hash', async () => {
    const own = (seed: number, size: number) => {
      const b = Buffer.from(new ArrayBuffer(size));
      bytes(seed, size).copy(b);
      return b;
    };
    const pool = bytes(99, 3 * 1024 * 1024);
    const chunks = [own(1, 1024 * 1024), pool.subarray(5, 300_000), own(2, 256 * 1024), own(3, 1000), pool.subarray(300_000), own(4, 2 * 1024 * 1024 + 3)];
    const expected = Buffer.concat(chunks);
    const file = path.join(dir, 'moved');
    const sink = new ThreadedHashingFile(file, expected.length);
    await pipeline(Readable.from(chunks), sink);
    expect(sink.landed()).to.deep.equal({ sha256: hashBytes(expected), size: expected.length });
    expect(readFileSync(file).equals(expected)).to.equal(true);
    // The moved chunks now belong to the worker: emptied here, never changed under it; the views were copied.
    expect(chunks.map((c) => c.length)).to.deep.equal([0, 300_000 - 5, 0, 1000, pool.length - 300_000, 0]);
  });
});
