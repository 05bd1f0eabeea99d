// URLs that may carry credentials — a remote cache (`PIPELINE_REMOTE`, `remote:`), a URL dep — are taken apart by
// the WHATWG URL parser (`parseUrl`) and shown only through `displayUrl`, which never prints `user:password@` (nor
// anything before the last `@`), the query (a token often rides there: shown as `?…`) or the fragment, whatever the
// scheme, known or not.
//
// The one case the parser cannot settle is a password typed with an unencoded `/`, `?`, `#` or `\`
// (`https://bob:2024/pw@host/x` parses as host `bob`, port 2024, path `/pw@host/x`): an `@` after such a character
// may end a password or sit in a path or query. `displayUrl` hides everything before the last `@` anyway, and
// `parseUrl` refuses such a URL (saying how to encode it) rather than guess where a request should go.
import { printable } from './printable.js';

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/** The scheme of `scheme://…`, lower-cased; undefined for anything else (a path). */
export function urlScheme(raw: string): string | undefined {
  return SCHEME.exec(raw)?.[1]?.toLowerCase();
}

export type ParsedUrl =
  /** `url` has no user or password left in it; they are returned decoded. */
  | { ok: true; url: URL; user?: string; password?: string }
  | { ok: false; problem: string; hint: string };

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

const ENCODE_HINT = 'percent-encode the `@` of a path or query as %40, and `/`, `?`, `#` in a password as %2F, %3F, %23 — or better, take the credentials from the environment';

/** A URL taken apart by the WHATWG URL parser, its credentials separated; refused when it is not one, or ambiguous. */
export function parseUrl(raw: string): ParsedUrl {
  const m = SCHEME.exec(raw);
  if (!m) return { ok: false, problem: 'is not a URL (scheme://…)', hint: 'write it as scheme://host/path' };
  const after = raw.slice(m[0].length);
  const lastAt = after.lastIndexOf('@');
  if (lastAt >= 0 && /[/?#\\]/.test(after.slice(0, lastAt))) {
    return { ok: false, problem: 'has an `@` after a `/`, `?` or `#`: it cannot be told whether that ends a password or belongs to the path', hint: ENCODE_HINT };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: 'is not a valid URL', hint: 'check the host, the port (digits only) and the characters of the address' };
  }
  const user = url.username ? decode(url.username) : undefined;
  const password = url.password ? decode(url.password) : undefined;
  url.username = '';
  url.password = '';
  return { ok: true, url, ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}) };
}

/** True when `raw` is a URL with something before an `@` (credentials, or possibly so). */
export function hasUrlCredentials(raw: string): boolean {
  const m = SCHEME.exec(raw);
  return m !== null && raw.indexOf('@', m[0].length) >= 0;
}

/** A parsed URL for messages: scheme, host, path; a query shown as `?…`. */
function shown(url: URL): string {
  const pathname = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${pathname}${url.search ? '?…' : ''}`;
}

/**
 * A URL (or a folder path) for any message, warning, error, JSON document or file: no user, password, query or
 * fragment, control characters neutralised. A path is returned as it is (neutralised).
 */
export function displayUrl(raw: string): string {
  const m = SCHEME.exec(raw);
  if (!m) return printable(raw);
  const parsed = parseUrl(raw);
  if (parsed.ok) return printable(shown(parsed.url));
  // Not a URL the parser accepts, or an ambiguous one: nothing before the last `@` is shown, nor a query or fragment.
  const after = raw.slice(m[0].length);
  const rest = after.slice(after.lastIndexOf('@') + 1);
  const end = rest.search(/[?#]/);
  const base = (end < 0 ? rest : rest.slice(0, end)).replace(/\/+$/, '');
  return printable(`${m[1].toLowerCase()}://${base}${end >= 0 && rest[end] === '?' ? '?…' : ''}`);
}
