// URL deps (`deps: [https://…]`): tracked by what the server reports — ETag, Last-Modified, Content-Length — and
// the sha256 of the body after a download. The recorded state lives in .pipeline/state/urls.json; it is compared
// with the server only by `pipeline update` (or `run --update`), never on a plain command, so a no-op never touches
// the network. A URL that was never checked here takes the hash pipeline.lock recorded for it (a fresh clone stays
// fresh), else a hash of the URL alone. An unreachable server keeps the recorded state.
// Credentials in a URL (`https://user:password@host/…`) are sent as basic auth, never in a message: the URL is shown
// only through displayUrl, and a URL with credentials or a query is kept in urls.json under its shown form and a
// hash of the whole, never as written.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { displayUrl, hasUrlCredentials, parseUrl } from '../core/url-credentials.js';
import { canonicalJson, hashBytes } from './hash.js';
import { scrub } from './remote/backend.js';

export interface UrlState {
  etag?: string;
  lastModified?: string;
  contentLength?: number;
  /** sha256 of the body as last downloaded. */
  sha256?: string;
  /** When the server was last asked (ISO time). */
  checked: string;
}

export type UrlCheck =
  | { url: string; result: 'unchanged'; state: UrlState }
  | { url: string; result: 'changed' | 'first'; state: UrlState; before?: UrlState }
  | { url: string; result: 'unreachable'; message: string; state?: UrlState };

export class UrlDeps {
  private states: Record<string, UrlState> = {};
  private dirty = false;
  constructor(
    private readonly stateDir: string,
    /** The hash pipeline.lock recorded for a URL, if any. */
    private readonly recorded: (url: string) => string | undefined = () => undefined,
  ) {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as { version: number; urls: Record<string, UrlState> };
      if (data.version === 1) this.states = data.urls;
    } catch {
      // nothing checked yet
    }
    // Written by an older version under the URL as written: dropped (checked again by the next update).
    for (const key of Object.keys(this.states)) {
      if (!key.includes(' ') && (hasUrlCredentials(key) || key.includes('?'))) {
        delete this.states[key];
        this.dirty = true;
      }
    }
  }

  /** The key of a URL in urls.json: the URL itself, or (credentials or a query in it) its shown form and a hash. */
  private key(url: string): string {
    return hasUrlCredentials(url) || url.includes('?') ? `${displayUrl(url)} ${hashBytes(`url ${url}`).slice(0, 16)}` : url;
  }

  private get file(): string {
    return path.join(this.stateDir, 'urls.json');
  }

  state(url: string): UrlState | undefined {
    return this.states[this.key(url)];
  }

  /** The dep's hash, from the recorded state only (no request). */
  hashOf(url: string): string {
    const s = this.states[this.key(url)];
    if (s) return hashBytes(canonicalJson({ url, etag: s.etag ?? null, lastModified: s.lastModified ?? null, contentLength: s.contentLength ?? null, sha256: s.sha256 ?? null }));
    return this.recorded(url) ?? hashBytes(`url ${url}`);
  }

  /**
   * Asks the server: a conditional GET (If-None-Match / If-Modified-Since from the recorded state); on 304 the state
   * stands, on 200 the body is hashed and the new state recorded.
   */
  async check(url: string, timeoutMs = 30_000): Promise<UrlCheck> {
    const key = this.key(url);
    const before = this.states[key];
    const parsed = parseUrl(url);
    if (!parsed.ok) return { url, result: 'unreachable', message: `the URL ${parsed.problem} (${parsed.hint})`, ...(before ? { state: before } : {}) };
    const headers: Record<string, string> = {};
    if (before?.etag) headers['if-none-match'] = before.etag;
    if (before?.lastModified) headers['if-modified-since'] = before.lastModified;
    if (parsed.user !== undefined || parsed.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${parsed.user ?? ''}:${parsed.password ?? ''}`).toString('base64')}`;
    }
    const secrets = [parsed.password, parsed.password && encodeURIComponent(parsed.password), headers.authorization];
    let res: Response;
    try {
      res = await fetch(parsed.url, { headers, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const message = scrub(cause?.code ?? cause?.message ?? (err as Error).message, secrets);
      return { url, result: 'unreachable', message, ...(before ? { state: before } : {}) };
    }
    if (res.status === 304 && before) {
      await res.body?.cancel();
      const state = { ...before, checked: new Date().toISOString() };
      this.states[key] = state;
      this.dirty = true;
      return { url, result: 'unchanged', state };
    }
    if (!res.ok) {
      await res.body?.cancel();
      return { url, result: 'unreachable', message: `HTTP ${res.status}`, ...(before ? { state: before } : {}) };
    }
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of res.body ?? []) {
        hash.update(chunk as Uint8Array);
        size += (chunk as Uint8Array).length;
      }
    } catch (err) {
      return { url, result: 'unreachable', message: `the download broke off: ${scrub((err as Error).message, secrets)}`, ...(before ? { state: before } : {}) };
    }
    const length = res.headers.get('content-length');
    const state: UrlState = {
      ...(res.headers.get('etag') ? { etag: res.headers.get('etag')! } : {}),
      ...(res.headers.get('last-modified') ? { lastModified: res.headers.get('last-modified')! } : {}),
      contentLength: length !== null ? Number(length) : size,
      sha256: hash.digest('hex'),
      checked: new Date().toISOString(),
    };
    this.states[key] = state;
    this.dirty = true;
    const same = before && before.sha256 === state.sha256 && before.etag === state.etag && before.lastModified === state.lastModified;
    return same ? { url, result: 'unchanged', state } : { url, result: before ? 'changed' : 'first', state, ...(before ? { before } : {}) };
  }

  save(): void {
    if (this.dirty) writeFileAtomic(this.file, JSON.stringify({ version: 1, urls: this.states }));
    this.dirty = false;
  }
}

