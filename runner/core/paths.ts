// Small facts about workspace paths shared by the config checks, the store and the scheduler.
import path from 'node:path';

/** The characters of tinyglobby's pattern syntax: `*`, `?`, `[…]`, `{…}`. */
const GLOB_CHARS = /[*?[\]{}]/;

/** True when a workspace path is a glob pattern (only `deps` may be) rather than one exact path. */
export function isGlobPattern(p: string): boolean {
  return GLOB_CHARS.test(p);
}

/** A dep read from a server: `http://` or `https://`. */
export function isUrlDep(p: string): boolean {
  return /^https?:\/\//i.test(p);
}

/** A dep outside the workspace: an absolute path or one that leaves it with `../`. */
export function isExternalDep(p: string): boolean {
  return p.startsWith('/') || p === '..' || p.startsWith('../');
}

/** In a relative path: a `.` or `..` part, an empty part (`//`, a leading or trailing `/`), or a backslash. */
const NOT_PLAIN = /(?:^|\/)\.{1,2}(?:\/|$)|\/\/|^\/|\/$|\\/;
/** In an absolute path: a `//`, `/./` or `/../` part, or a trailing `/`, `/.` or `/..`. */
const NOT_NORMAL = /\/\.{0,2}(?:\/|$)/;

/**
 * `rel` under the absolute folder `root`, as path.join(root, rel) gives it; a plain relative path (nearly every path
 * the engine keeps: `stages/lib/x.ts`) is appended without join's normalising, which the no-op run paid on every stat.
 */
export function joinUnder(root: string, rel: string): string {
  if (rel === '' || !root.startsWith('/') || NOT_NORMAL.test(root) || NOT_PLAIN.test(rel)) return path.join(root, rel);
  return `${root}/${rel}`;
}
