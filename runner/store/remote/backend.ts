// What every remote store offers: named blobs in two namespaces, `cas` (objects named by their sha256) and `ac`
// (run records named by fingerprint). Backends move bytes and nothing else; checking what comes back (hashes,
// signatures) and retrying is done once, above them, in remote.ts.
import { Transform } from 'node:stream';
import { UsageError, ExitCode } from '../../core/errors.js';
import { printable } from '../../core/printable.js';

export type Namespace = 'cas' | 'ac';

/** What a download wrote: the sha256 of exactly those bytes, and how many there were (ingest.ts). */
export interface Landed {
  sha256: string;
  size: number;
}

/** Called while a large body moves: bytes done so far, of `total` (when known). */
export type ProgressFn = (done: number, total: number | undefined) => void;

/** A pass-through stream that reports the bytes through it so far (to a progress display). */
export function progressCounter(total: number | undefined, onProgress?: ProgressFn): Transform {
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      onProgress?.(done, total);
      cb(null, chunk);
    },
  });
}

export interface Backend {
  /** The location for messages, with any credentials removed. */
  describe(): string;
  /** True when the blob exists. */
  has(ns: Namespace, key: string): Promise<boolean>;
  /**
   * Stream the blob into `file` (a new file: one already there is an error), hashing it on the way: the sha256 and
   * size of exactly the bytes written (ingest.ts), or undefined when there is no such blob. Nothing is checked here.
   */
  download(ns: Namespace, key: string, file: string, onProgress?: ProgressFn): Promise<Landed | undefined>;
  /** Upload a local file of `size` bytes; readers never see it half-written. */
  upload(ns: Namespace, key: string, file: string, size: number, onProgress?: ProgressFn): Promise<void>;
  /** Small blobs (run records). */
  getBytes(ns: Namespace, key: string): Promise<Buffer | undefined>;
  putBytes(ns: Namespace, key: string, data: Buffer): Promise<void>;
  /**
   * Every blob of a namespace (whose key starts with `prefix`, when given) with its last change (`pipeline gc
   * --remote`, the experiments a remote holds). Absent when the store cannot list (the HTTP layout has no listing).
   */
  list?(ns: Namespace, prefix?: string): AsyncIterable<ListedBlob>;
  /** Remove a blob (absent along with `list`); removing one that is gone is not an error. */
  remove?(ns: Namespace, key: string): Promise<void>;
  /** A blob's last change, undefined when absent (present along with `list`). */
  modified?(ns: Namespace, key: string): Promise<Date | undefined>;
  /** Make a blob's last change now, so `gc --remote` counts it as just used; false when it is gone (along with `list`). */
  touch?(ns: Namespace, key: string): Promise<boolean>;
}

export interface ListedBlob {
  key: string;
  modified: Date;
  size: number;
}

/**
 * How a remote failed. `transient` (network errors, 5xx, throttling) is retried with backoff; `timeout` (no
 * connection, or no byte for the idle timeout) is retried once, then the remote is given up for the command;
 * `permanent` (4xx, a missing bucket) and `interrupted` (Ctrl-C, SIGTERM) are not retried.
 */
export type FailureKind = 'transient' | 'timeout' | 'permanent' | 'interrupted';

/**
 * The remote failed: unreachable, refused the credentials, answered with an error, timed out. Exit code 1 on
 * push/pull. Its message is printable: what the server said is neutralised (control characters escaped).
 */
export class RemoteError extends UsageError {
  override readonly exitCode: number = ExitCode.stageFailed;
  constructor(
    readonly location: string,
    readonly cause_: string,
    readonly kind: FailureKind,
    hint?: string,
  ) {
    super(printable(`remote ${location}: ${cause_}`), hint);
    this.name = 'RemoteError';
  }

  /** Worth another attempt (a timeout only once: see Remote). */
  get transient(): boolean {
    return this.kind === 'transient' || this.kind === 'timeout';
  }
}

/** A downloaded object or record that fails a check: refused and named, never used. Printable, as above. */
export class IntegrityError extends Error {
  constructor(
    readonly what: string,
    readonly detail: string,
  ) {
    super(printable(`refused ${what}: ${detail}`));
    this.name = 'IntegrityError';
  }
}

/** How long a request may wait: for a connection, and for the next byte either way once connected. */
export interface Transport {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** Ctrl-C / SIGTERM: every request in flight is abandoned (RemoteError `interrupted`). */
  signal?: AbortSignal;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export function defaultTransport(): Transport {
  return { connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS, idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS };
}

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(3))} s`;

/** The error of a request that got no connection, or no byte, in time. */
export function timeoutError(location: string, action: string, phase: 'connect' | 'idle', transport: Transport): RemoteError {
  return phase === 'connect'
    ? new RemoteError(location, `${action} timed out: no connection within ${seconds(transport.connectTimeoutMs)}`, 'timeout', 'check the address and the network, or raise PIPELINE_REMOTE_CONNECT_TIMEOUT (seconds)')
    : new RemoteError(
        location,
        `${action} timed out: the server sent nothing for ${seconds(transport.idleTimeoutMs)}`,
        'timeout',
        'the server accepted the connection but stopped answering: check it, or raise PIPELINE_REMOTE_TIMEOUT (seconds)',
      );
}

export function interruptedError(location: string, action: string): RemoteError {
  return new RemoteError(location, `${action} interrupted`, 'interrupted');
}

/** Node's network error codes worth a retry. */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The innermost network error code of an error chain (fetch wraps them in `cause`), if any. */
export function networkCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && (TRANSIENT_CODES.has(e.code) || e.code.startsWith('E'))) return e.code;
  }
  return undefined;
}

export function isTransientCode(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/** Remove every occurrence of the given secrets from a message. */
export function scrub(message: string, secrets: (string | undefined)[]): string {
  let out = message;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***');
  return out;
}
