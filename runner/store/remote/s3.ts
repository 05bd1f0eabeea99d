// A remote in any S3-compatible store: s3://bucket/prefix → objects at <prefix>/cas/<sha256>, run records at
// <prefix>/ac/<fingerprint>. Endpoint, region and credentials come from the AWS SDK's standard environment and
// config files (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, …).
// Path-style addressing: PIPELINE_S3_PATH_STYLE=1 (or 0); by default on when an endpoint is set (self-hosted
// servers rarely resolve bucket subdomains). Checksums are computed only when an operation requires them, which
// S3-compatible servers that predate the SDK's default CRC32 trailers (Ceph 16, Swift) accept.
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { RemoteError, isTransientCode, networkCode, type Backend, type ListedBlob, type Namespace, type ProgressFn, progressCounter } from './backend.js';

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

  constructor(readonly url: string) {
    const u = new URL(url);
    this.bucket = u.hostname;
    this.prefix = u.pathname.replace(/^\/+|\/+$/g, '');
  }

  describe(): string {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
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
      });
    }
    return { client: this.client, sdk: this.sdk };
  }

  private fail(err: unknown, action: string): never {
    const e = err as SdkError;
    const status = e.$metadata?.httpStatusCode;
    const code = networkCode(err);
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
    throw new RemoteError(this.describe(), `${action} failed: ${what}`, transient, hint);
  }

  private static missing(err: unknown): boolean {
    const e = err as SdkError;
    return e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket';
  }

  async has(ns: Namespace, key: string): Promise<boolean> {
    const { client, sdk } = await this.open();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key) }));
      return true;
    } catch (err) {
      if (S3Backend.missing(err)) {
        // HEAD has no body, so a missing bucket also answers 404: tell them apart once.
        await this.checkBucket();
        return false;
      }
      this.fail(err, `HEAD ${ns}/${key}`);
    }
  }

  private bucketChecked = false;
  private async checkBucket(): Promise<void> {
    if (this.bucketChecked) return;
    const { client, sdk } = await this.open();
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: this.bucket }));
      this.bucketChecked = true;
    } catch (err) {
      if ((err as SdkError).$metadata?.httpStatusCode === 404) {
        throw new RemoteError(this.describe(), `bucket \`${this.bucket}\` does not exist`, false, `create it (e.g. \`aws s3 mb s3://${this.bucket}\`)`);
      }
      this.fail(err, 'HEAD bucket');
    }
  }

  private async get(ns: Namespace, key: string): Promise<{ body: Readable; size?: number } | undefined> {
    const { client, sdk } = await this.open();
    try {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key) }));
      return { body: res.Body as Readable, size: res.ContentLength };
    } catch (err) {
      if (S3Backend.missing(err) || (err as SdkError).name === 'NoSuchKey') return undefined;
      this.fail(err, `GET ${ns}/${key}`);
    }
  }

  async download(ns: Namespace, key: string, file: string, onProgress?: ProgressFn): Promise<boolean> {
    const found = await this.get(ns, key);
    if (!found) return false;
    const counter = progressCounter(found.size, onProgress);
    try {
      await pipeline(found.body, counter, createWriteStream(file));
    } catch (err) {
      this.fail(err, `GET ${ns}/${key}`);
    }
    return true;
  }

  async upload(ns: Namespace, key: string, file: string, size: number, onProgress?: ProgressFn): Promise<void> {
    const { client, sdk } = await this.open();
    const counter = progressCounter(size, onProgress);
    try {
      // One PUT: S3 stores it whole or not at all, so readers never see it half-written.
      await client.send(
        new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key), Body: createReadStream(file).pipe(counter), ContentLength: size }),
      );
    } catch (err) {
      this.fail(err, `PUT ${ns}/${key}`);
    }
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
    const { client, sdk } = await this.open();
    try {
      await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key), Body: data, ContentLength: data.length }));
    } catch (err) {
      this.fail(err, `PUT ${ns}/${key}`);
    }
  }

  async *list(ns: Namespace): AsyncIterable<ListedBlob> {
    const { client, sdk } = await this.open();
    const prefix = this.key(ns, '');
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (err) {
        this.fail(err, `LIST ${ns}/`);
      }
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        yield { key: o.Key.slice(prefix.length), modified: o.LastModified ?? new Date(0), size: o.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async remove(ns: Namespace, key: string): Promise<void> {
    const { client, sdk } = await this.open();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(ns, key) }));
    } catch (err) {
      this.fail(err, `DELETE ${ns}/${key}`);
    }
  }
}
