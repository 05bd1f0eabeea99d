// Small facts about workspace paths shared by the config checks, the store and the scheduler.

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
