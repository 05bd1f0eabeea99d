// What every remote store offers: named blobs in two namespaces, `cas` (objects named by their sha256) and `ac`
// (run records named by fingerprint). Backends move bytes and nothing else; checking what comes back (hashes,
// signatures) and retrying is done once, above them, in remote.ts.
import { Transform } from 'node:stream';
import { UsageError, ExitCode } from '../../core/errors.js';

export type Namespace = 'cas' | 'ac';

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
  /** Stream the blob into `file` (created or truncated); false when there is no such blob. */
  download(ns: Namespace, key: string, file: string, onProgress?: ProgressFn): Promise<boolean>;
  /** Upload a local file of `size` bytes; readers never see it half-written. */
  upload(ns: Namespace, key: string, file: string, size: number, onProgress?: ProgressFn): Promise<void>;
  /** Small blobs (run records). */
  getBytes(ns: Namespace, key: string): Promise<Buffer | undefined>;
  putBytes(ns: Namespace, key: string, data: Buffer): Promise<void>;
  /**
   * Every blob of a namespace with its last change (`pipeline gc --remote`). Absent when the store cannot list
   * (the HTTP layout has no listing).
   */
  list?(ns: Namespace): AsyncIterable<ListedBlob>;
  /** Remove a blob (absent along with `list`); removing one that is gone is not an error. */
  remove?(ns: Namespace, key: string): Promise<void>;
}

export interface ListedBlob {
  key: string;
  modified: Date;
  size: number;
}

/**
 * The remote failed: unreachable, refused the credentials, answered with an error. `transient` failures (network
 * errors, 5xx, throttling) are retried with backoff; others are not. Exit code 1 on push/pull.
 */
export class RemoteError extends UsageError {
  override readonly exitCode: number = ExitCode.stageFailed;
  constructor(
    readonly location: string,
    readonly cause_: string,
    readonly transient: boolean,
    hint?: string,
  ) {
    super(`remote ${location}: ${cause_}`, hint);
    this.name = 'RemoteError';
  }
}

/** A downloaded object or record that fails a check: refused and named, never used. */
export class IntegrityError extends Error {
  constructor(
    readonly what: string,
    readonly detail: string,
  ) {
    super(`refused ${what}: ${detail}`);
    this.name = 'IntegrityError';
  }
}

/** A URL for messages: user, password and query (which may carry tokens) removed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
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
