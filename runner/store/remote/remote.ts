// A remote cache over any backend: what comes back is checked before anything uses it, failures are retried.
//   - objects are hashed as they are downloaded (in the same pass); a mismatch is refused (IntegrityError), the file
//     removed;
//   - run records must parse, carry the expected fingerprint and format version, list well-formed outs, and — when
//     PIPELINE_REMOTE_SIGNING_KEY is set — an HMAC-SHA256 signature made with that key (unsigned or mis-signed
//     records are refused);
//   - network errors and 5xx answers are retried with exponential backoff (PIPELINE_REMOTE_RETRIES, default 4);
//     4xx answers are not; a timeout is retried once, and after a second one the remote is given up: every later
//     request of this command fails at once with that timeout, so a server that never answers costs one timeout
//     (and its retry) per command, not one per object;
//   - Ctrl-C / SIGTERM (the signal of the command) abandons what is in flight and every retry.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import pRetry from 'p-retry';
import type * as StableStringify from 'safe-stable-stringify';
import { UsageError } from '../../core/errors.js';
import { RUN_RECORD_VERSION, validOutRecords, type RunRecord } from '../cache.js';
import { HASH_PATTERN } from '../hash.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, IntegrityError, RemoteError, interruptedError, type Backend, type Namespace, type ProgressFn, type Transport } from './backend.js';

const stableStringify = createRequire(import.meta.url)('safe-stable-stringify') as typeof StableStringify.default;

const SIGNATURE_PREFIX = 'hmac-sha256:';

/** A blob found on the remote older than this is made new again by a push that relies on it (see `present`). */
export const REFRESH_AFTER_MS = 60 * 60 * 1000;

export interface RemoteOptions {
  /** HMAC key for run records; undefined = records are neither signed nor checked. */
  signingKey?: string;
  /** Retries after a transient failure (default 4: waits of 0.2, 0.4, 0.8, 1.6 s). */
  retries?: number;
  /** The command's Ctrl-C / SIGTERM. */
  signal?: AbortSignal;
}

/** A run record as stored on a remote: the local record plus its signature when signing is on. */
export interface RemoteRecord extends RunRecord {
  signature?: string;
}

export function remoteOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RemoteOptions {
  const retries = env.PIPELINE_REMOTE_RETRIES;
  return {
    signingKey: env.PIPELINE_REMOTE_SIGNING_KEY || undefined,
    retries: retries !== undefined && /^[0-9]+$/.test(retries) ? Number(retries) : undefined,
  };
}

/** A timeout in seconds from the environment (decimals allowed), in ms; a bad value is a usage error. */
function secondsFromEnv(env: NodeJS.ProcessEnv, name: string, fallbackMs: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallbackMs;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(v.trim()) || Number(v) <= 0) {
    throw new UsageError(`${name}=${JSON.stringify(v)} is not a number of seconds`, `set it to a positive number of seconds, e.g. ${name}=${fallbackMs / 1000}, or unset it`);
  }
  return Math.round(Number(v) * 1000);
}

/** PIPELINE_REMOTE_CONNECT_TIMEOUT (default 5 s) and PIPELINE_REMOTE_TIMEOUT (idle, default 30 s). */
export function transportFromEnv(env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Transport {
  return {
    connectTimeoutMs: secondsFromEnv(env, 'PIPELINE_REMOTE_CONNECT_TIMEOUT', DEFAULT_CONNECT_TIMEOUT_MS),
    idleTimeoutMs: secondsFromEnv(env, 'PIPELINE_REMOTE_TIMEOUT', DEFAULT_IDLE_TIMEOUT_MS),
    ...(signal ? { signal } : {}),
  };
}

export class Remote {
  private readonly retries: number;
  /** The timeout after which this remote is not asked again (in this command). */
  private gaveUp: RemoteError | undefined;

  constructor(
    readonly backend: Backend,
    private readonly options: RemoteOptions = {},
  ) {
    this.retries = options.retries ?? 4;
  }

  /** Where it is, credentials removed: for every message. */
  describe(): string {
    return this.backend.describe();
  }

  get signing(): boolean {
    return this.options.signingKey !== undefined;
  }

  /** The timeout that made this remote be given up, if one did. */
  get unresponsive(): RemoteError | undefined {
    return this.gaveUp;
  }

  private async attempt<T>(fn: () => Promise<T>): Promise<T> {
    if (this.gaveUp) throw this.gaveUp;
    const { signal } = this.options;
    let timeouts = 0;
    try {
      return await pRetry(fn, {
        retries: this.retries,
        minTimeout: 200,
        factor: 2,
        maxTimeout: 5000,
        signal,
        shouldRetry: ({ error }) => {
          if (!(error instanceof RemoteError) || this.gaveUp) return false;
          if (error.kind === 'timeout') return ++timeouts <= 1;
          return error.kind === 'transient';
        },
      });
    } catch (err) {
      if (err instanceof RemoteError && err.kind === 'timeout') this.gaveUp ??= err;
      if (signal?.aborted && !(err instanceof RemoteError && err.kind === 'interrupted')) throw interruptedError(this.describe(), 'a request');
      throw err;
    }
  }

  async hasObject(hash: string): Promise<boolean> {
    return this.attempt(() => this.backend.has('cas', hash));
  }

  /**
   * Whether the remote holds a blob, for a push about to rely on it: one found older than REFRESH_AFTER_MS is made
   * new again (where the store keeps ages: a folder, S3), so `gc --remote` counts it as just used.
   */
  async present(ns: Namespace, key: string): Promise<boolean> {
    const { backend } = this;
    if (!backend.modified || !backend.touch) return this.attempt(() => backend.has(ns, key));
    const modified = await this.attempt(() => backend.modified!(ns, key));
    if (modified === undefined) return false;
    if (Date.now() - modified.getTime() < REFRESH_AFTER_MS) return true;
    return this.attempt(() => backend.touch!(ns, key));
  }

  /**
   * Download an object into `file`, hashed as it is written (one pass: the file is never read back). Its size, or
   * undefined when the remote does not have it; an IntegrityError (file removed) when its bytes do not match its name.
   */
  async getObject(hash: string, file: string, onProgress?: ProgressFn): Promise<{ size: number } | undefined> {
    if (!HASH_PATTERN.test(hash)) throw new IntegrityError(`object \`${hash}\``, 'not a sha256');
    let tries = 0;
    const landed = await this.attempt(async () => {
      // What a failed try left; the first writes a fresh name (`wx`: never through a file in the way).
      if (tries++ > 0) rmSync(file, { force: true });
      return this.backend.download('cas', hash, file, onProgress);
    });
    if (!landed) return undefined;
    if (landed.sha256 !== hash) {
      rmSync(file, { force: true });
      throw new IntegrityError(`object ${hash} from ${this.describe()}`, `its content hashes to ${landed.sha256}`);
    }
    return { size: landed.size };
  }

  async putObject(hash: string, file: string, size: number, onProgress?: ProgressFn): Promise<void> {
    await this.attempt(() => this.backend.upload('cas', hash, file, size, onProgress));
  }

  async hasRecord(fingerprint: string): Promise<boolean> {
    return this.attempt(() => this.backend.has('ac', fingerprint));
  }

  /**
   * Whether the remote holds a record for this fingerprint that a pull with this key accepts: with signing on, one
   * that verifies (an unsigned record, or one signed with another key, is not: a push replaces it with a signed
   * copy). Its age is refreshed as by `present`.
   */
  async hasUsableRecord(fingerprint: string): Promise<boolean> {
    if (!this.signing) return this.present('ac', fingerprint);
    try {
      if ((await this.getRecord(fingerprint)) === undefined) return false;
    } catch (err) {
      if (err instanceof IntegrityError) return false;
      throw err;
    }
    return this.present('ac', fingerprint);
  }

  /** The run record for a fingerprint, checked (and its signature too when signing is on); undefined if absent. */
  async getRecord(fingerprint: string): Promise<RunRecord | undefined> {
    const bytes = await this.attempt(() => this.backend.getBytes('ac', fingerprint));
    if (bytes === undefined) return undefined;
    return this.checkRecord(fingerprint, bytes);
  }

  /** A record's bytes checked: its form, then (with signing on) its signature. IntegrityError when refused. */
  checkRecord(fingerprint: string, bytes: Buffer): RunRecord {
    const { record, signature } = this.parseRecord(fingerprint, bytes);
    if (this.options.signingKey !== undefined) {
      const what = this.recordName(fingerprint);
      if (typeof signature !== 'string') throw new IntegrityError(what, 'unsigned, and PIPELINE_REMOTE_SIGNING_KEY is set');
      const expected = Buffer.from(this.sign(record));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        throw new IntegrityError(what, 'its signature does not match PIPELINE_REMOTE_SIGNING_KEY');
      }
    }
    return record;
  }

  recordName(fingerprint: string): string {
    return `run record ${fingerprint.slice(0, 12)} from ${this.describe()}`;
  }

  /** A record's form only, its signature not checked (`gc --remote` keeps the objects of records it cannot verify). */
  parseRecord(fingerprint: string, bytes: Buffer): { record: RunRecord; signature: unknown } {
    const what = this.recordName(fingerprint);
    let parsed: RemoteRecord;
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as RemoteRecord;
    } catch {
      throw new IntegrityError(what, 'not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new IntegrityError(what, 'not a run record');
    const { signature, ...record } = parsed;
    if (record.version !== RUN_RECORD_VERSION) throw new IntegrityError(what, `unsupported record version ${JSON.stringify(record.version) ?? 'none'}`);
    if (record.fingerprint !== fingerprint) throw new IntegrityError(what, 'it names another fingerprint');
    if (typeof record.stage !== 'string') throw new IntegrityError(what, 'not a run record');
    if (!validOutRecords(record.outs)) throw new IntegrityError(what, 'an out entry is malformed');
    if (record.log !== undefined && !(typeof record.log === 'string' && HASH_PATTERN.test(record.log))) throw new IntegrityError(what, 'its log hash is malformed');
    return { record, signature };
  }

  async putRecord(record: RunRecord): Promise<void> {
    const stored: RemoteRecord = this.options.signingKey !== undefined ? { ...record, signature: this.sign(record) } : { ...record };
    const bytes = Buffer.from(JSON.stringify(stored, null, 1));
    await this.attempt(() => this.backend.putBytes('ac', record.fingerprint, bytes));
  }

  private sign(record: object): string {
    const key = this.options.signingKey ?? '';
    return SIGNATURE_PREFIX + createHmac('sha256', key).update(stableStringify(record) ?? '').digest('hex');
  }

  /** The keys of a namespace that start with `prefix`; undefined when the store cannot list (HTTP). */
  async keys(ns: Namespace, prefix: string): Promise<string[] | undefined> {
    const { backend } = this;
    if (!backend.list) return undefined;
    return this.attempt(async () => {
      const keys: string[] = [];
      for await (const blob of backend.list!(ns, prefix)) keys.push(blob.key);
      return keys;
    });
  }

  /** A JSON object under an `ac` key (an experiment record, their index), signed as run records are when a key is set. */
  async putSigned(key: string, value: object): Promise<void> {
    const stored = this.options.signingKey !== undefined ? { ...value, signature: this.sign(value) } : { ...value };
    await this.attempt(() => this.backend.putBytes('ac', key, Buffer.from(JSON.stringify(stored))));
  }

  /**
   * The JSON object under an `ac` key, and whether its signature verifies with this command's key (false without a
   * key, unsigned, or signed with another key: the caller decides what an unverified value may do). Undefined if absent.
   */
  async getSigned(key: string, what: string): Promise<{ value: Record<string, unknown>; signed: boolean } | undefined> {
    const bytes = await this.attempt(() => this.backend.getBytes('ac', key));
    if (bytes === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new IntegrityError(what, 'not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new IntegrityError(what, 'not a JSON object');
    const { signature, ...value } = parsed as Record<string, unknown>;
    if (this.options.signingKey === undefined || typeof signature !== 'string') return { value, signed: false };
    const expected = Buffer.from(this.sign(value));
    const given = Buffer.from(signature);
    return { value, signed: expected.length === given.length && timingSafeEqual(expected, given) };
  }
}
