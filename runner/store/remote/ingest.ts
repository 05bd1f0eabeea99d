// Downloads land in one pass: every chunk of a body is hashed as it is written to the temp file, so the object's
// sha256 is known when the last byte is on disk and the file is never read back to check it. Writes go to the
// thread pool while the next chunks arrive and are hashed (a large buffer keeps the source flowing meanwhile), the
// chunks given as they came, never copied or joined.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HASH_ALGORITHM } from '../hash.js';
import { ioError } from '../io-error.js';
import type { Landed, ProgressFn } from './backend.js';
import { ThreadedHashingFile } from './hash-thread.js';

export type { Landed };

/** Bytes buffered ahead of the disk: the source keeps flowing while a write is in the thread pool. */
const WRITE_AHEAD = 8 * 1024 * 1024;
/** Reads of a local file (the folder remote, uploads): large, so the per-chunk costs vanish. */
export const READ_CHUNK = 1024 * 1024;

/** A new file (`wx`: never an existing one, nor a symlink's target) written with what it is given, hashed on the way. */
export class HashingFile extends Writable {
  private readonly hash: Hash = createHash(HASH_ALGORITHM);
  private fh?: FileHandle;
  private written = 0;
  private digest?: string;

  constructor(
    private readonly file: string,
    private readonly total?: number,
    private readonly onProgress?: ProgressFn,
  ) {
    super({ highWaterMark: WRITE_AHEAD });
  }

  /** A local failure (a full disk, a permission) named with its path and remedy: not the remote's fault, never retried. */
  private local(callback: (error?: Error | null) => void): (err: Error) => void {
    return (err) => callback(ioError(err, 'write a download to', this.file) as Error);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.file, 'wx').then(
      (fh) => {
        this.fh = fh;
        callback();
      },
      this.local(callback),
    );
  }

  private take(chunks: Buffer[]): void {
    for (const c of chunks) {
      this.hash.update(c);
      this.written += c.length;
    }
    this.onProgress?.(this.written, this.total);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take([chunk]);
    this.fh!.write(chunk).then(() => callback(), this.local(callback));
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    this.take(buffers);
    this.fh!.writev(buffers).then(() => callback(), this.local(callback));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.digest = this.hash.digest('hex');
    this.close(callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.close(() => callback(err));
  }

  private close(callback: (error?: Error | null) => void): void {
    const fh = this.fh;
    this.fh = undefined;
    if (!fh) return callback();
    fh.close().then(() => callback(), this.local(callback));
  }

  /** Once finished: what was written. */
  landed(): Landed {
    if (this.digest === undefined) throw new Error('HashingFile: not finished');
    return { sha256: this.digest, size: this.written };
  }
}

/** Bodies at least this large (by their announced length) are hashed and written in a second thread (hash-thread.ts). */
export const THREADED_LANDING = 4 * 1024 * 1024;

/** Bodies up to this size (by their announced length) are gathered in memory and written at once (landSmall). */
export const SMALL_LANDING = 1024 * 1024;

/**
 * A small body: its chunks gathered as they come, then hashed and written with one synchronous open, write and
 * close, instead of three trips through the thread pool each (what a folder of many small objects pays per object).
 */
async function landSmall(body: Readable, file: string): Promise<Landed> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  try {
    const fd = openSync(file, 'wx');
    try {
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw ioError(err, 'write a download to', file);
  }
  return { sha256: createHash(HASH_ALGORITHM).update(data).digest('hex'), size: data.length };
}

/** Stream a body into a new file, hashing it on the way. Rejects with the stream's error (the file is left to the caller). */
export async function land(body: Readable, file: string, total?: number, onProgress?: ProgressFn): Promise<Landed> {
  if (total !== undefined && total <= SMALL_LANDING && !onProgress) return landSmall(body, file);
  const sink = total !== undefined && total >= THREADED_LANDING ? new ThreadedHashingFile(file, total, onProgress) : new HashingFile(file, total, onProgress);
  await pipeline(body, sink);
  return sink.landed();
}

/** A local file as a stream of large chunks. */
export function readLarge(file: string): Readable {
  return createReadStream(file, { highWaterMark: READ_CHUNK });
}
