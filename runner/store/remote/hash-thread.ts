// Large downloads land through a second thread: the main thread only receives the body (Node's HTTP client costs a
// CPU of its own at these rates) and hands its bytes over in batches; one worker thread hashes each batch and
// writes it to the temp file, in the order received. Receiving and hashing then run side by side, as `curl | openssl
// dgst` does in two processes, and the object's sha256 is still that of exactly the bytes written (never read back).
// Small chunks are copied once into batches whose ownership moves to the worker (transferred, not cloned); a large
// chunk that owns its memory moves as it is. At most IN_FLIGHT of them are on their way, so memory stays bounded
// whatever the source's speed.
import { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { HASH_ALGORITHM } from '../hash.js';
import { ioError } from '../io-error.js';
import type { Landed, ProgressFn } from './backend.js';

/** Bytes handed over at once. */
const BATCH = 256 * 1024;
/** Batches on their way to the worker before the source is paused. */
const IN_FLIGHT = 16;

/** The worker: one job per file, its messages handled in order (open, chunks, end or abort). CommonJS, run by eval. */
const WORKER_CODE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const jobs = new Map();
const close = (job) => { try { fs.closeSync(job.fd); } catch {} };
// A job's file is closed only once none of its writes is pending: its descriptor may not be reused under them.
function finish(id, job) {
  if (!job.ending || job.pending > 0 || !jobs.has(id)) return;
  jobs.delete(id);
  close(job);
  if (job.aborted) parentPort.postMessage({ id, closed: true });
  else if (job.failed) parentPort.postMessage({ id, error: { code: job.failed.code, message: job.failed.message } });
  else parentPort.postMessage({ id, sha256: job.hash.digest('hex'), size: job.size });
}
parentPort.on('message', (m) => {
  const job = jobs.get(m.id);
  try {
    if (m.open !== undefined) {
      jobs.set(m.id, { fd: fs.openSync(m.open, 'wx'), hash: createHash(m.algorithm), size: 0, pending: 0, failed: undefined, ending: false, aborted: false });
      parentPort.postMessage({ id: m.id, opened: true });
    } else if (m.chunk !== undefined) {
      if (!job || job.ending || job.failed) return;
      const b = new Uint8Array(m.chunk, 0, m.length);
      job.hash.update(b);
      const at = job.size;
      job.size += b.length;
      job.pending++;
      const put = (off) => fs.write(job.fd, b, off, b.length - off, at + off, (err, n) => {
        if (err) {
          job.pending--;
          if (!job.failed) parentPort.postMessage({ id: m.id, error: { code: err.code, message: err.message } });
          job.failed = err;
          return finish(m.id, job);
        }
        if (off + n < b.length) return put(off + n);
        job.pending--;
        parentPort.postMessage({ id: m.id, ack: true });
        finish(m.id, job);
      });
      put(0);
    } else if (m.end) {
      if (!job) return;
      job.ending = true;
      finish(m.id, job);
    } else if (m.abort) {
      if (!job) return parentPort.postMessage({ id: m.id, closed: true });
      job.aborted = job.ending = true;
      finish(m.id, job);
    }
  } catch (e) {
    if (!job) return parentPort.postMessage({ id: m.id, error: { code: e.code, message: e.message } });
    job.failed = e;
    job.ending = true;
    finish(m.id, job);
  }
});
`;

interface Reply {
  id: number;
  opened?: true;
  ack?: true;
  closed?: true;
  sha256?: string;
  size?: number;
  error?: { code?: string; message: string };
}

/** The one worker of the process, started on first use; it keeps the process alive only while a job is open. */
class HashThread {
  private worker?: Worker;
  private readonly jobs = new Map<number, (reply: Reply) => void>();
  private nextId = 1;

  private start(): Worker {
    // Required when the first large download starts: every command that may pull imports this module.
    const { Worker: WorkerThread } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
    const worker = new WorkerThread(WORKER_CODE, { eval: true });
    worker.on('message', (r: Reply) => this.jobs.get(r.id)?.(r));
    const gone = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const waiting = [...this.jobs.values()];
      this.jobs.clear();
      for (const tell of waiting) tell({ id: 0, error: { message: `the hashing thread stopped: ${err.message}` } });
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`exit code ${code}`)));
    return worker;
  }

  /** A new job: its id, and where its replies go until `release`. */
  open(onReply: (reply: Reply) => void): number {
    this.worker ??= this.start();
    const id = this.nextId++;
    this.jobs.set(id, onReply);
    this.worker.ref();
    return id;
  }

  post(message: object, transfer?: ArrayBuffer[]): void {
    this.worker?.postMessage(message, transfer);
  }

  alive(): boolean {
    return this.worker !== undefined;
  }

  release(id: number): void {
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.worker?.unref();
  }
}

const thread = new HashThread();

/** HashingFile's counterpart (ingest.ts) for large bodies: the same contract, the hashing and writing in the worker. */
export class ThreadedHashingFile extends Writable {
  private id = 0;
  private batch = Buffer.allocUnsafeSlow(BATCH);
  private filled = 0;
  private inFlight = 0;
  private received = 0;
  private resume?: () => void;
  private settle?: (reply: Reply) => void;
  private result?: Landed;

  constructor(
    private readonly file: string,
    private readonly total?: number,
    private readonly onProgress?: ProgressFn,
  ) {
    super({ highWaterMark: BATCH });
  }

  private failure(reply: Reply): Error {
    const e = reply.error!;
    const err = Object.assign(new Error(e.message), { code: e.code });
    return ioError(err, 'write a download to', this.file) as Error;
  }

  private onReply(reply: Reply): void {
    if (reply.ack) {
      this.inFlight--;
      const go = this.resume;
      this.resume = undefined;
      go?.();
      return;
    }
    const settle = this.settle;
    this.settle = undefined;
    if (settle) settle(reply);
    // An error while chunks flow: the stream stops with it.
    else if (reply.error) this.destroy(this.failure(reply));
  }

  /** Send one message and wait for its answer (open, end, abort). */
  private ask(message: object): Promise<Reply> {
    return new Promise((resolve) => {
      this.settle = resolve;
      thread.post({ id: this.id, ...message });
      if (!thread.alive()) resolve({ id: this.id, error: { message: 'the hashing thread stopped' } });
    });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.id = thread.open((r) => this.onReply(r));
    void this.ask({ open: this.file, algorithm: HASH_ALGORITHM }).then((r) => callback(r.error ? this.failure(r) : null));
  }

  private flush(): void {
    if (this.filled === 0) return;
    const full = this.batch;
    thread.post({ id: this.id, chunk: full.buffer, length: this.filled }, [full.buffer]);
    this.inFlight++;
    this.batch = Buffer.allocUnsafeSlow(BATCH);
    this.filled = 0;
  }

  /**
   * A chunk that is the whole of its own memory (as the HTTP client's body chunks are: copied out of each read) and
   * at least a batch long moves to the worker as it is, after the bytes gathered before it: no copy. Its sender keeps
   * no use for it once written, and a view someone kept would see it emptied, never changed.
   */
  private handOver(chunk: Buffer): boolean {
    if (chunk.length < BATCH || chunk.byteOffset !== 0 || chunk.buffer.byteLength !== chunk.length || !(chunk.buffer instanceof ArrayBuffer)) return false;
    this.flush();
    try {
      thread.post({ id: this.id, chunk: chunk.buffer, length: chunk.length }, [chunk.buffer]);
    } catch {
      // Memory that may not move (a pool's): copied after all.
      return false;
    }
    this.inFlight++;
    this.received += chunk.length;
    return true;
  }

  private take(chunk: Buffer): void {
    if (this.handOver(chunk)) return;
    for (let off = 0; off < chunk.length; ) {
      const n = chunk.copy(this.batch, this.filled, off);
      this.filled += n;
      off += n;
      if (this.filled === BATCH) this.flush();
    }
    this.received += chunk.length;
  }

  /** Go on once fewer than IN_FLIGHT batches are on their way. */
  private paced(callback: (error?: Error | null) => void): void {
    this.onProgress?.(this.received, this.total);
    if (this.inFlight < IN_FLIGHT) return callback();
    this.resume = () => this.paced(callback);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk);
    this.paced(callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    for (const c of chunks) this.take(c.chunk);
    this.paced(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush();
    void this.ask({ end: true }).then((r) => {
      thread.release(this.id);
      if (r.error) return callback(this.failure(r));
      this.result = { sha256: r.sha256!, size: r.size! };
      callback();
    });
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.result || this.id === 0) return callback(err);
    // The file is closed before the stream says it is done, so the caller may remove it.
    void this.ask({ abort: true }).then(() => {
      thread.release(this.id);
      callback(err);
    });
  }

  /** Once finished: what was written. */
  landed(): Landed {
    if (this.result === undefined) throw new Error('ThreadedHashingFile: not finished');
    return this.result;
  }
}
