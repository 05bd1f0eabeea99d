// A remote speaking the HTTP layout build caches use (Bazel's): objects at <prefix>/cas/<sha256>, run records at
// <prefix>/ac/<fingerprint>, with PUT, GET and HEAD. Authentication from the environment:
//   PIPELINE_REMOTE_TOKEN                          bearer token (Authorization: Bearer …), or
//   PIPELINE_REMOTE_USER + PIPELINE_REMOTE_PASSWORD   HTTP basic auth (also taken from user:password@ in the URL).
// Uses Node's built-in fetch; bodies are streamed both ways.
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { RemoteError, isTransientCode, networkCode, redactUrl, scrub, type Backend, type Namespace, type ProgressFn, progressCounter } from './backend.js';

export interface HttpAuth {
  user?: string;
  password?: string;
  token?: string;
}

export function httpAuthFromEnv(env: NodeJS.ProcessEnv = process.env): HttpAuth {
  return { user: env.PIPELINE_REMOTE_USER, password: env.PIPELINE_REMOTE_PASSWORD, token: env.PIPELINE_REMOTE_TOKEN };
}

export class HttpBackend implements Backend {
  private readonly base: string;
  private readonly shown: string;
  private readonly headers: Record<string, string> = {};
  private readonly secrets: (string | undefined)[];

  constructor(url: string, auth: HttpAuth = httpAuthFromEnv()) {
    const u = new URL(url);
    const user = auth.user ?? (u.username ? decodeURIComponent(u.username) : undefined);
    const password = auth.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
    u.username = '';
    u.password = '';
    this.base = u.toString().replace(/\/+$/, '');
    this.shown = redactUrl(url);
    if (auth.token) this.headers.authorization = `Bearer ${auth.token}`;
    else if (user !== undefined) this.headers.authorization = `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
    this.secrets = [auth.token, password, this.headers.authorization];
  }

  describe(): string {
    return this.shown;
  }

  private url(ns: Namespace, key: string): string {
    return `${this.base}/${ns}/${key}`;
  }

  private async send(method: string, ns: Namespace, key: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url(ns, key), { ...init, method, headers: { ...this.headers, ...(init.headers as Record<string, string>) } });
    } catch (err) {
      const code = networkCode(err);
      const detail = scrub(((err as Error).cause as Error | undefined)?.message ?? (err as Error).message, this.secrets);
      throw new RemoteError(this.shown, `${method} ${ns}/${key} failed: ${detail.includes(code ?? '\0') || !code ? detail : `${code} ${detail}`}`, isTransientCode(code) || code === undefined, 'check that the server is running and reachable');
    }
    if (res.ok || (res.status === 404 && method !== 'PUT')) return res;
    await res.body?.cancel().catch(() => undefined);
    const transient = res.status >= 500 || res.status === 429 || res.status === 408;
    const hint =
      res.status === 401 || res.status === 403
        ? 'check PIPELINE_REMOTE_USER and PIPELINE_REMOTE_PASSWORD, or PIPELINE_REMOTE_TOKEN'
        : res.status === 413
          ? 'the server refuses bodies this large: raise its limit (nginx: client_max_body_size 0)'
          : undefined;
    throw new RemoteError(this.shown, `${method} ${ns}/${key} answered ${res.status} ${res.statusText}`, transient, hint);
  }

  async has(ns: Namespace, key: string): Promise<boolean> {
    const res = await this.send('HEAD', ns, key);
    return res.status !== 404;
  }

  async download(ns: Namespace, key: string, file: string, onProgress?: ProgressFn): Promise<boolean> {
    const res = await this.send('GET', ns, key);
    if (res.status === 404 || !res.body) return false;
    const total = Number(res.headers.get('content-length')) || undefined;
    const counter = progressCounter(total, onProgress);
    try {
      await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), counter, createWriteStream(file));
    } catch (err) {
      const code = networkCode(err);
      throw new RemoteError(this.shown, `GET ${ns}/${key} broke off: ${code ?? (err as Error).message}`, true);
    }
    return true;
  }

  async upload(ns: Namespace, key: string, file: string, size: number, onProgress?: ProgressFn): Promise<void> {
    const counter = progressCounter(size, onProgress);
    const body = Readable.toWeb(createReadStream(file).pipe(counter)) as unknown as ReadableStream<Uint8Array>;
    await this.send('PUT', ns, key, {
      body,
      headers: { 'content-length': String(size), 'content-type': 'application/octet-stream' },
      duplex: 'half',
    } as RequestInit);
  }

  async getBytes(ns: Namespace, key: string): Promise<Buffer | undefined> {
    const res = await this.send('GET', ns, key);
    if (res.status === 404) return undefined;
    return Buffer.from(await res.arrayBuffer());
  }

  async putBytes(ns: Namespace, key: string, data: Buffer): Promise<void> {
    await this.send('PUT', ns, key, { body: data as unknown as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream' } });
  }
}
