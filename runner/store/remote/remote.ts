// A remote cache over any backend: what comes back is checked before anything uses it, failures are retried.
//   - objects are re-hashed after download; a mismatch is refused (IntegrityError), the file removed;
//   - run records must parse, carry the expected fingerprint and format version, and — when
//     PIPELINE_REMOTE_SIGNING_KEY is set — an HMAC-SHA256 signature made with that key (unsigned or mis-signed
//     records are refused);
//   - network errors and 5xx answers are retried with exponential backoff (PIPELINE_REMOTE_RETRIES, default 4);
//     4xx answers are not.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import pRetry from 'p-retry';
import type * as StableStringify from 'safe-stable-stringify';
import { RUN_RECORD_VERSION, type RunRecord } from '../cache.js';
import { hashFile } from '../hash.js';
import { IntegrityError, RemoteError, type Backend, type ProgressFn } from './backend.js';

const stableStringify = createRequire(import.meta.url)('safe-stable-stringify') as typeof StableStringify.default;

const SHA256 = /^[0-9a-f]{64}$/;
const SIGNATURE_PREFIX = 'hmac-sha256:';

export interface RemoteOptions {
  /** HMAC key for run records; undefined = records are neither signed nor checked. */
  signingKey?: string;
  /** Retries after a transient failure (default 4: waits of 0.2, 0.4, 0.8, 1.6 s). */
  retries?: number;
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

export class Remote {
  private readonly retries: number;

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

  private attempt<T>(fn: () => Promise<T>): Promise<T> {
    return pRetry(fn, {
      retries: this.retries,
      minTimeout: 200,
      factor: 2,
      maxTimeout: 5000,
      shouldRetry: ({ error }) => error instanceof RemoteError && error.transient,
    });
  }

  async hasObject(hash: string): Promise<boolean> {
    return this.attempt(() => this.backend.has('cas', hash));
  }

  /**
   * Download an object into `file` and re-hash it. False when the remote does not have it; an IntegrityError
   * (file removed) when its bytes do not match its name.
   */
  async getObject(hash: string, file: string, onProgress?: ProgressFn): Promise<boolean> {
    if (!SHA256.test(hash)) throw new IntegrityError(`object \`${hash}\``, 'not a sha256');
    const found = await this.attempt(async () => {
      rmSync(file, { force: true });
      return this.backend.download('cas', hash, file, onProgress);
    });
    if (!found) return false;
    const actual = await hashFile(file);
    if (actual !== hash) {
      rmSync(file, { force: true });
      throw new IntegrityError(`object ${hash} from ${this.describe()}`, `its content hashes to ${actual}`);
    }
    return true;
  }

  async putObject(hash: string, file: string, size: number, onProgress?: ProgressFn): Promise<void> {
    await this.attempt(() => this.backend.upload('cas', hash, file, size, onProgress));
  }

  async hasRecord(fingerprint: string): Promise<boolean> {
    return this.attempt(() => this.backend.has('ac', fingerprint));
  }

  /** The run record for a fingerprint, checked (and its signature too when signing is on); undefined if absent. */
  async getRecord(fingerprint: string): Promise<RunRecord | undefined> {
    const bytes = await this.attempt(() => this.backend.getBytes('ac', fingerprint));
    if (bytes === undefined) return undefined;
    return this.checkRecord(fingerprint, bytes);
  }

  checkRecord(fingerprint: string, bytes: Buffer): RunRecord {
    const what = `run record ${fingerprint.slice(0, 12)} from ${this.describe()}`;
    let parsed: RemoteRecord;
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as RemoteRecord;
    } catch {
      throw new IntegrityError(what, 'not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new IntegrityError(what, 'not a run record');
    const { signature, ...record } = parsed;
    if (this.options.signingKey !== undefined) {
      if (typeof signature !== 'string') throw new IntegrityError(what, 'unsigned, and PIPELINE_REMOTE_SIGNING_KEY is set');
      const expected = Buffer.from(this.sign(record));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        throw new IntegrityError(what, 'its signature does not match PIPELINE_REMOTE_SIGNING_KEY');
      }
    }
    if (record.version !== RUN_RECORD_VERSION) throw new IntegrityError(what, `unsupported record version ${String(record.version)}`);
    if (record.fingerprint !== fingerprint) throw new IntegrityError(what, 'it names another fingerprint');
    if (typeof record.stage !== 'string' || !Array.isArray(record.outs)) throw new IntegrityError(what, 'not a run record');
    for (const o of record.outs) {
      if (typeof o?.path !== 'string' || (o.type !== 'file' && o.type !== 'dir') || !SHA256.test(String(o.hash)) || typeof o.size !== 'number') {
        throw new IntegrityError(what, 'an out entry is malformed');
      }
    }
    if (record.log !== undefined && !SHA256.test(String(record.log))) throw new IntegrityError(what, 'its log hash is malformed');
    return record;
  }

  async putRecord(record: RunRecord): Promise<void> {
    const stored: RemoteRecord = this.options.signingKey !== undefined ? { ...record, signature: this.sign(record) } : { ...record };
    const bytes = Buffer.from(JSON.stringify(stored, null, 1));
    await this.attempt(() => this.backend.putBytes('ac', record.fingerprint, bytes));
  }

  private sign(record: RunRecord): string {
    const key = this.options.signingKey ?? '';
    return SIGNATURE_PREFIX + createHmac('sha256', key).update(stableStringify(record) ?? '').digest('hex');
  }
}
