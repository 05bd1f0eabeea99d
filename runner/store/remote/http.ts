// A remote speaking the HTTP layout build caches use (Bazel's): objects at <prefix>/cas/<sha256>, run records at
// <prefix>/ac/<fingerprint>, with PUT, GET and HEAD; a query in the URL (`…/cache?token=X`) is kept on every
// request, after the key. Authentication from the environment:
//   PIPELINE_REMOTE_TOKEN                          bearer token (Authorization: Bearer …), or
//   PIPELINE_REMOTE_USER + PIPELINE_REMOTE_PASSWORD   HTTP basic auth (also taken from user:password@ in the URL).
// Node's http/https with keep-alive (plain-HTTP connections read into one reused buffer: read-buffer.ts); bodies are
// streamed both ways. Every request has a connect timeout and an idle timeout (no byte either way for that long,
// whether waiting for the answer, reading its body or sending one).
import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../../core/errors.js';
import { displayUrl, parseUrl } from '../../core/url-credentials.js';
import {
  RemoteError,
  defaultTransport,
  interruptedError,
  isTransientCode,
  networkCode,
  progressCounter,
  scrub,
  timeoutError,
  type Backend,
  type Namespace,
  type ProgressFn,
  type Transport,
} from './backend.js';
import { land, readLarge, type Landed } from './ingest.js';
import { readBufferAgent } from './read-buffer.js';

export interface HttpAuth {
  user?: string;
  password?: string;
  token?: string;
}

export function httpAuthFromEnv(env: NodeJS.ProcessEnv = process.env): HttpAuth {
  return { user: env.PIPELINE_REMOTE_USER, password: env.PIPELINE_REMOTE_PASSWORD, token: env.PIPELINE_REMOTE_TOKEN };
}

type Body = (req: ClientRequest) => Promise<void>;

/**
 * node:http or node:https, loaded when an HTTP remote is opened: a command that has none (a no-op run) does not
 * evaluate them (nor the TLS modules https loads).
 */
type HttpModule = Pick<typeof import('node:http'), 'Agent' | 'request'>;
function httpModule(protocol: string): HttpModule {
  const load = createRequire(import.meta.url);
  return protocol === 'https:' ? (load('node:https') as typeof import('node:https')) : (load('node:http') as typeof import('node:http'));
}

export class HttpBackend implements Backend {
  private readonly base: URL;
  private readonly shown: string;
  private readonly headers: Record<string, string> = {};
  private readonly secrets: (string | undefined)[];
  private readonly agent: Agent;
  private readonly http: HttpModule;

  constructor(
    url: string,
    auth: HttpAuth = httpAuthFromEnv(),
    private readonly transport: Transport = defaultTransport(),
  ) {
    this.shown = displayUrl(url);
    const parsed = parseUrl(url);
    if (!parsed.ok) throw new UsageError(`remote \`${this.shown}\` ${parsed.problem}`, parsed.hint);
    this.base = parsed.url;
    this.base.hash = '';
    const user = auth.user ?? parsed.user;
    const password = auth.password ?? parsed.password;
    if (auth.token) this.headers.authorization = `Bearer ${auth.token}`;
    else if (user !== undefined) this.headers.authorization = `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
    this.secrets = [auth.token, password, password && encodeURIComponent(password), this.headers.authorization, this.headers.authorization?.split(' ')[1]];
    this.http = httpModule(this.base.protocol);
    this.agent = this.base.protocol === 'http:' ? readBufferAgent(this.http, { keepAlive: true }) : new this.http.Agent({ keepAlive: true });
  }

  describe(): string {
    return this.shown;
  }

  /** <base path>/<ns>/<key>, the base's query kept after it. */
  private target(ns: Namespace, key: string): URL {
    const u = new URL(this.base.href);
    u.pathname = `${this.base.pathname.replace(/\/+$/, '')}/${ns}/${key}`;
    return u;
  }

  private networkFailure(action: string, err: unknown): RemoteError {
    if (err instanceof RemoteError) return err;
    const code = networkCode(err);
    const detail = scrub((err as Error).message ?? String(err), this.secrets);
    const what = !code || detail.includes(code) ? detail : `${code} ${detail}`;
    return new RemoteError(this.shown, `${action} failed: ${what}`, isTransientCode(code) || code === undefined ? 'transient' : 'permanent', 'check that the server is running and reachable');
  }

  /**
   * One request, resolved with the answer's head. Its timeouts and the interruption signal keep watching the body
   * while it is read: a stall or Ctrl-C destroys it with the RemoteError.
   */
  private request(method: string, ns: Namespace, key: string, headers: Record<string, string>, body?: Body): Promise<IncomingMessage> {
    const action = `${method} ${ns}/${key}`;
    const { signal, connectTimeoutMs, idleTimeoutMs } = this.transport;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(interruptedError(this.shown, action));
      const target = this.target(ns, key);
      const req = this.http.request(target, { method, agent: this.agent, headers: { ...this.headers, ...headers } });
      let response: IncomingMessage | undefined;
      let settled = false;
      let closed = false;
      const onAbort = () => fail(interruptedError(this.shown, action));
      const connectTimer = setTimeout(() => fail(timeoutError(this.shown, action, 'connect', this.transport)), connectTimeoutMs);
      const cleanup = () => {
        clearTimeout(connectTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      function fail(err: RemoteError): void {
        if (closed) return;
        closed = true;
        cleanup();
        response?.destroy(err);
        req.destroy();
        if (!settled) {
          settled = true;
          reject(err);
        }
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (socket) => {
        if (!socket.connecting) clearTimeout(connectTimer);
        else socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.setTimeout(idleTimeoutMs, () => fail(timeoutError(this.shown, action, 'idle', this.transport)));
      req.on('error', (err) => fail(this.networkFailure(action, err)));
      req.on('response', (res) => {
        response = res;
        clearTimeout(connectTimer);
        res.once('close', () => {
          closed = true;
          cleanup();
        });
        settled = true;
        resolve(res);
      });
      if (body) body(req).catch((err: unknown) => fail(this.networkFailure(action, err)));
      else req.end();
    });
  }

  /** A request whose answer must be 2xx (or 404, except for PUT). */
  private async send(method: string, ns: Namespace, key: string, headers: Record<string, string> = {}, body?: Body): Promise<IncomingMessage> {
    const res = await this.request(method, ns, key, headers, body);
    const status = res.statusCode ?? 0;
    if ((status >= 200 && status < 300) || (status === 404 && method !== 'PUT')) return res;
    res.resume();
    const transient = status >= 500 || status === 429 || status === 408;
    const hint =
      status === 401 || status === 403
        ? 'check PIPELINE_REMOTE_USER and PIPELINE_REMOTE_PASSWORD, or PIPELINE_REMOTE_TOKEN'
        : status === 413
          ? 'the server refuses bodies this large: raise its limit (nginx: client_max_body_size 0)'
          : undefined;
    throw new RemoteError(this.shown, `${method} ${ns}/${key} answered ${status} ${res.statusMessage ?? ''}`.trimEnd(), transient ? 'transient' : 'permanent', hint);
  }

  /** Read an answer's body to its end; a break is a RemoteError (transient unless a timeout or Ctrl-C said otherwise). */
  private async consume<T>(action: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      // A RemoteError (a timeout, Ctrl-C), or a local failure writing the file (IoError): as they are.
      if (err instanceof UsageError) throw err;
      throw new RemoteError(this.shown, `${action} broke off: ${networkCode(err) ?? (err as Error).message}`, 'transient');
    }
  }

  async has(ns: Namespace, key: string): Promise<boolean> {
    const res = await this.send('HEAD', ns, key);
    res.resume();
    return res.statusCode !== 404;
  }

  async download(ns: Namespace, key: string, file: string, onProgress?: ProgressFn): Promise<Landed | undefined> {
    const res = await this.send('GET', ns, key);
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    const total = Number(res.headers['content-length']) || undefined;
    return this.consume(`GET ${ns}/${key}`, () => land(res, file, total, onProgress));
  }

  async upload(ns: Namespace, key: string, file: string, size: number, onProgress?: ProgressFn): Promise<void> {
    const headers = { 'content-length': String(size), 'content-type': 'application/octet-stream' };
    const res = await this.send('PUT', ns, key, headers, (req) =>
      onProgress ? pipeline(readLarge(file), progressCounter(size, onProgress), req) : pipeline(readLarge(file), req),
    );
    res.resume();
  }

  async getBytes(ns: Namespace, key: string): Promise<Buffer | undefined> {
    const res = await this.send('GET', ns, key);
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    return this.consume(`GET ${ns}/${key}`, async () => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    });
  }

  async putBytes(ns: Namespace, key: string, data: Buffer): Promise<void> {
    const headers = { 'content-length': String(data.length), 'content-type': 'application/octet-stream' };
    const res = await this.send('PUT', ns, key, headers, (req) => {
      req.end(data);
      return Promise.resolve();
    });
    res.resume();
  }
}
