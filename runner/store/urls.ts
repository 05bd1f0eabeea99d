// URL deps (`deps: [https://…]`): tracked by what the server reports — ETag, Last-Modified, Content-Length — and
// the sha256 of the body after a download. The recorded state lives in .pipeline/state/urls.json; it is compared
// with the server only by `pipeline update` (or `run --update`), never on a plain command, so a no-op never touches
// the network. A URL that was never checked here takes the hash pipeline.lock recorded for it (a fresh clone stays
// fresh), else a hash of the URL alone. An unreachable server keeps the recorded state.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { canonicalJson, hashBytes } from './hash.js';

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
  }

  private get file(): string {
    return path.join(this.stateDir, 'urls.json');
  }

  state(url: string): UrlState | undefined {
    return this.states[url];
  }

  /** The dep's hash, from the recorded state only (no request). */
  hashOf(url: string): string {
    const s = this.states[url];
    if (s) return hashBytes(canonicalJson({ url, etag: s.etag ?? null, lastModified: s.lastModified ?? null, contentLength: s.contentLength ?? null, sha256: s.sha256 ?? null }));
    return this.recorded(url) ?? hashBytes(`url ${url}`);
  }

  /**
   * Asks the server: a conditional GET (If-None-Match / If-Modified-Since from the recorded state); on 304 the state
   * stands, on 200 the body is hashed and the new state recorded.
   */
  async check(url: string, timeoutMs = 30_000): Promise<UrlCheck> {
    const before = this.states[url];
    const headers: Record<string, string> = {};
    if (before?.etag) headers['if-none-match'] = before.etag;
    if (before?.lastModified) headers['if-modified-since'] = before.lastModified;
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { url, result: 'unreachable', message: cause?.code ?? cause?.message ?? (err as Error).message, ...(before ? { state: before } : {}) };
    }
    if (res.status === 304 && before) {
      await res.body?.cancel();
      const state = { ...before, checked: new Date().toISOString() };
      this.states[url] = state;
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
      return { url, result: 'unreachable', message: `the download broke off: ${(err as Error).message}`, ...(before ? { state: before } : {}) };
    }
    const length = res.headers.get('content-length');
    const state: UrlState = {
      ...(res.headers.get('etag') ? { etag: res.headers.get('etag')! } : {}),
      ...(res.headers.get('last-modified') ? { lastModified: res.headers.get('last-modified')! } : {}),
      contentLength: length !== null ? Number(length) : size,
      sha256: hash.digest('hex'),
      checked: new Date().toISOString(),
    };
    this.states[url] = state;
    this.dirty = true;
    const same = before && before.sha256 === state.sha256 && before.etag === state.etag && before.lastModified === state.lastModified;
    return same ? { url, result: 'unchanged', state } : { url, result: before ? 'changed' : 'first', state, ...(before ? { before } : {}) };
  }

  save(): void {
    if (this.dirty) writeFileAtomic(this.file, JSON.stringify({ version: 1, urls: this.states }));
    this.dirty = false;
  }
}
