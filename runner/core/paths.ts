// Small facts about workspace paths shared by the config checks, the store and the scheduler.

/** The characters of tinyglobby's pattern syntax: `*`, `?`, `[…]`, `{…}`. */
const GLOB_CHARS = /[*?[\]{}]/;

/** True when a workspace path is a glob pattern (only `deps` may be) rather than one exact path. */
export function isGlobPattern(p: string): boolean {
  return GLOB_CHARS.test(p);
}
