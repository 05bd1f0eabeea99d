// A remote in any S3-compatible store: s3://bucket/prefix → objects at <prefix>/cas/<sha256>, run records at
// <prefix>/ac/<fingerprint>. Endpoint, region and credentials come from the AWS SDK's standard environment and
// config files (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, …).
// Path-style addressing: PIPELINE_S3_PATH_STYLE=1 (or 0); by default on when an endpoint is set (self-hosted
// servers rarely resolve bucket subdomains). Checksums are computed only when an operation requires them, which
// S3-compatible servers that predate the SDK's default CRC32 trailers (Ceph 16, Swift) accept. Every request has a
// connect timeout and an idle timeout (the SDK's connectionTimeout and socketTimeout: no byte for that long, body
// included), and is abandoned on Ctrl-C. The SDK starts a request's idle clock S3_IDLE_CLOCK_DELAY_MS into it when the
// limit is 6 s or more (to spare fast requests a listener), so there an S3 request that never gets a byte waits that
// much longer than the limit.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { UsageError } from '../../core/errors.js';
import { displayUrl, parseUrl } from '../../core/url-credentials.js';
import {
  RemoteError,
  defaultTransport,
  interruptedError,
  isTransientCode,
  networkCode,
  progressCounter,
  timeoutError,
  type Backend,
  type ListedBlob,
  type Namespace,
  type ProgressFn,
  type Transport,
} from './backend.js';
import { land, readLarge, type Landed } from './ingest.js';
import { readBufferAgent } from './read-buffer.js';

/** Objects up to this size are uploaded from memory. */
const SMALL_OBJECT = 1024 * 1024;

/** How late the SDK (@smithy/node-http-handler) starts watching an idle socket, for limits of 6 s and more. */
export const S3_IDLE_CLOCK_DELAY_MS = 3_000;

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

export class S3Backend implements Backend {
  readonly bucket: string;
  readonly prefix: string;
  private client?: S3Client;
  private sdk?: typeof import('@aws-sdk/client-s3');

  constructor(
    readonly url: string,
    private readonly transport: Transport = defaultTransport(),
  ) {
    const parsed = parseUrl(url);
    if (!parsed.ok) throw new UsageError(`remote \`${displayUrl(url)}\` ${parsed.problem}`, parsed.hint);
    if (parsed.user !== undefined || parsed.password !== undefined) {
      throw new UsageError(`remote \`${displayUrl(url)}\` carries credentials`, 'an S3 remote takes them from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE): remove `user:password@`');
    }
    this.bucket = parsed.url.hostname;
    this.prefix = parsed.url.pathname.replace(/^\/+|\/+$/g, '');
  }

  describe(): string {
    return displayUrl(this.url);
  }

  private key(ns: Namespace, key: string): string {
    return `${this.prefix ? `${this.prefix}/` : ''}${ns}/${key}`;
  }

  private async open(): Promise<{ client: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> {
    if (!this.client || !this.sdk) {
      // Loaded only when a command talks to S3: the SDK is large.
      // The pinned SDK supports Node 20; its notice that later releases will not is not the user's concern on
      // every push, so it is silenced unless the user set the variable themselves.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      this.sdk = await import('@aws-sdk/client-s3');
      const env = process.env;
      const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
      const pathStyle = env.PIPELINE_S3_PATH_STYLE;
      this.client = new this.sdk.S3Client({
        region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined),
        forcePathStyle: pathStyle === undefined || pathStyle === '' ? Boolean(endpoint) : /^(1|true|yes|on)$/i.test(pathStyle),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // Retries happen above the backend, the same way for every kind of remote.
        maxAttempts: 1,
        requestHandler: {
          connectionTimeout: this.transport.connectTimeoutMs,
          socketTimeout: this.transport.idleTimeoutMs,
          // The SDK's own settings for it (keep-alive, 50 sockets), over connections reading into one buffer.
          httpAgent: readBufferAgent(createRequire(import.meta.url)('node:http') as typeof import('node:http'), { keepAlive: true, maxSockets: 50 }),
        },
      });
    }
    return { client: this.client, sdk: this.sdk };
  }

  /** Send one command (made from the SDK once it is loaded), abandoned on Ctrl-C; its output typed by the caller. */
  private async send<T>(make: (sdk: typeof import('@aws-sdk/client-s3')) => object, action: string): Promise<T> {
    const { client, sdk } = await this.open();
    try {
      // The client's send is overloaded per command; the command made here is one of them.
      return (await client.send(make(sdk) as Parameters<S3Client['send']>[0], { abortSignal: this.transport.signal })) as T;
    } catch (err) {
      if (S3Backend.missing(err)) throw err;
      this.fail(err, action);
    }
  }

  private fail(err: unknown, action: string): never {
    if (err instanceof RemoteError) throw err;
    const e = err as SdkError;
    if (this.transport.signal?.aborted || e.name === 'AbortError') throw interruptedError(this.describe(), action);
    const status = e.$metadata?.httpStatusCode;
    const code = networkCode(err);
    // The SDK's own timeouts: no connection in time, or an idle socket (body included); they carry no error code.
    if (e.name === 'TimeoutError' && status === undefined && !isTransientCode(code)) {
      throw timeoutError(this.describe(), action, /establish a connection/.test(e.message ?? '') ? 'connect' : 'idle', this.transport);
    }
    const transient = (status !== undefined && (status >= 500 || status === 429)) || isTransientCode(code) || (status === undefined && e.$retryable !== undefined);
    const what = status !== undefined ? `${e.name ?? 'error'} (HTTP ${status})` : code ? `${code} ${e.message ?? ''}`.trim() : `${e.name ?? 'error'}: ${e.message ?? String(err)}`;
    const hint =
      status === 403 || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch'
        ? 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)'
        : e.name === 'NoSuchBucket'
          ? `create the bucket \`${this.bucket}\``
          : /region/i.test(e.message ?? '')
            ? 'set AWS_REGION'
            : status === undefined
              ? 'check AWS_ENDPOINT_URL and that the server is reachable'
              : undefined;
    throw new RemoteError(this.describe(), `${action} failed: ${what}`, transient ? 'transient' : 'permanent', hint);
  }

  private static missing(err: unknown): boolean {
    const e = err as SdkError;
    return (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket') || e.name === 'NoSuchKey';
  }

  /** HEAD: the blob's last change, or undefined when it is absent. */
  private async head(ns: Namespace, key: string): Promise<Date | undefined> {
    try {
      const res = await this.send<{ LastModified?: Date }>((sdk) => new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key) }), `HEAD ${ns}/${key}`);
      return res.LastModified ?? new Date(0);
    } catch (err) {
      if (!S3Backend.missing(err)) throw err;
      // HEAD has no body, so a missing bucket also answers 404: tell them apart once.
      await this.checkBucket();
      return undefined;
    }
  }

  async has(ns: Namespace, key: string): Promise<boolean> {
    return (await this.head(ns, key)) !== undefined;
  }

  async modified(ns: Namespace, key: string): Promise<Date | undefined> {
    return this.head(ns, key);
  }

  /** Copy the object onto itself with its metadata replaced: S3's way to make its last change now. */
  async touch(ns: Namespace, key: string): Promise<boolean> {
    const k = this.key(ns, key);
    try {
      await this.send(
        (sdk) =>
          new sdk.CopyObjectCommand({ Bucket: this.bucket, Key: k, CopySource: `${this.bucket}/${encodeURIComponent(k).replace(/%2F/g, '/')}`, MetadataDirective: 'REPLACE', Metadata: { used: new Date().toISOString() } }),
        `COPY ${ns}/${key}`,
      );
      return true;
    } catch (err) {
      if (S3Backend.missing(err)) return false;
      throw err;
    }
  }

  private bucketChecked = false;
  private async checkBucket(): Promise<void> {
    if (this.bucketChecked) return;
    try {
      await this.send((sdk) => new sdk.HeadBucketCommand({ Bucket: this.bucket }), 'HEAD bucket');
      this.bucketChecked = true;
    } catch (err) {
      if ((err as SdkError).$metadata?.httpStatusCode === 404) {
        throw new RemoteError(this.describe(), `bucket \`${this.bucket}\` does not exist`, 'permanent', `create it (e.g. \`aws s3 mb s3://${this.bucket}\`)`);
      }
      this.fail(err, 'HEAD bucket');
    }
  }

  private async get(ns: Namespace, key: string): Promise<{ body: Readable; size?: number } | undefined> {
    try {
      const res = await this.send<{ Body?: unknown; ContentLength?: number }>((sdk) => new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key) }), `GET ${ns}/${key}`);
      return { body: res.Body as Readable, size: res.ContentLength };
    } catch (err) {
      if (S3Backend.missing(err)) return undefined;
      throw err;
    }
  }

  async download(ns: Namespace, key: string, file: string, onProgress?: ProgressFn): Promise<Landed | undefined> {
    const found = await this.get(ns, key);
    if (!found) return undefined;
    try {
      return await land(found.body, file, found.size, onProgress);
    } catch (err) {
      // A local failure writing the file (IoError) is not the remote's.
      if (err instanceof UsageError) throw err;
      this.fail(err, `GET ${ns}/${key}`);
    }
  }

  async upload(ns: Namespace, key: string, file: string, size: number, onProgress?: ProgressFn): Promise<void> {
    // A small object goes as bytes (an empty file as a stream never ends the request against radosgw, and bytes can
    // be sent again by the SDK's own retry); a large one is streamed.
    const body = size <= SMALL_OBJECT ? await readFile(file) : onProgress ? readLarge(file).pipe(progressCounter(size, onProgress)) : readLarge(file);
    // One PUT: S3 stores it whole or not at all, so readers never see it half-written.
    await this.send((sdk) => new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key), Body: body, ContentLength: size }), `PUT ${ns}/${key}`);
  }

  async getBytes(ns: Namespace, key: string): Promise<Buffer | undefined> {
    const found = await this.get(ns, key);
    if (!found) return undefined;
    const chunks: Buffer[] = [];
    try {
      for await (const c of found.body) chunks.push(c as Buffer);
    } catch (err) {
      this.fail(err, `GET ${ns}/${key}`);
    }
    return Buffer.concat(chunks);
  }

  async putBytes(ns: Namespace, key: string, data: Buffer): Promise<void> {
    await this.send((sdk) => new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key), Body: data, ContentLength: data.length }), `PUT ${ns}/${key}`);
  }

  async *list(ns: Namespace, keyPrefix = ''): AsyncIterable<ListedBlob> {
    const prefix = this.key(ns, '');
    let token: string | undefined;
    do {
      const page = await this.send<{ Contents?: { Key?: string; LastModified?: Date; Size?: number }[]; IsTruncated?: boolean; NextContinuationToken?: string }>(
        (sdk) => new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix + keyPrefix, ContinuationToken: token }),
        `LIST ${ns}/`,
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        yield { key: o.Key.slice(prefix.length), modified: o.LastModified ?? new Date(0), size: o.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async remove(ns: Namespace, key: string): Promise<void> {
    await this.send((sdk) => new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key) }), `DELETE ${ns}/${key}`);
  }
}
