// Paths written in pipeline.yaml: normalized (forward slashes, no `./`, no trailing `/`, inner `..` resolved) and
// kept inside the workspace; deps may also be files outside it, URLs or `${param}` texts; module files must exist.
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { diagnostic, type DiagnosticCode, type Range } from '../core/diagnostic.js';
import { isExternalDep, isGlobPattern, isUrlDep } from '../core/paths.js';
import { isInside, report, type CheckContext } from './check-context.js';

/**
 * Normalizes a workspace-relative path (forward slashes, no `./`, no trailing `/`), or reports why it cannot be
 * one (naming `what`, e.g. "stage `fit`: out") and returns undefined. `at` is the place to report (a function: found
 * only when there is something to report).
 */
export function normalizePath(ctx: CheckContext, raw: string, what: string, at: Range | (() => Range), opts: { glob: boolean }): string | undefined {
  const fail = (code: DiagnosticCode, detail: string, hint?: string): undefined => {
    report(ctx, code, typeof at === 'function' ? at() : at, `${what} \`${raw.replace(/\0/g, '\\0')}\` ${detail}`, hint);
    return undefined;
  };
  if (raw.includes('\0')) return fail('bad-path', 'contains a NUL character', 'remove the `\\0` from the path');
  if (raw.trim() === '') return fail('bad-path', 'is empty', 'name a file or folder inside the workspace');
  const slashed = raw.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed))
    return fail('bad-path', 'is an absolute path', 'write paths relative to the folder of pipeline.yaml (the workspace)');
  if (slashed.startsWith('~')) return fail('bad-path', 'starts with `~`, which is not expanded', 'write paths relative to the workspace');
  const norm = path.posix.normalize(slashed).replace(/\/+$/, '');
  if (norm === '..' || norm.startsWith('../'))
    return fail('path-escapes', 'points outside the workspace (`..`)', 'inputs and outputs must live inside the folder of pipeline.yaml');
  if (norm === '.' || norm === '') return fail('bad-path', 'is the workspace itself', 'name a file or folder inside the workspace');
  if (!opts.glob && isGlobPattern(norm)) return fail('glob-not-allowed', 'is a glob pattern', 'only `deps` may use patterns; name the exact path');
  return norm;
}

/**
 * A dep: a workspace path or glob (normalizePath), a file or folder outside the workspace (absolute or `../`,
 * normalized, no glob), an `http(s)://` URL, or a text with `${param}` references, resolved once params are known
 * (config/interpolate.ts).
 */
export function normalizeDep(ctx: CheckContext, raw: string, what: string, at: () => Range): string | undefined {
  if (raw.includes('${') || isUrlDep(raw)) return raw;
  const slashed = raw.replace(/\\/g, '/');
  if (!raw.includes('\0') && isExternalDep(path.posix.normalize(slashed))) {
    const norm = path.posix.normalize(slashed).replace(/\/+$/, '');
    if (isGlobPattern(norm)) {
      report(ctx, 'glob-not-allowed', at(), `${what} \`${raw}\` is a glob pattern outside the workspace`, 'name the file or folder itself; patterns work inside the workspace only');
      return undefined;
    }
    return norm;
  }
  return normalizePath(ctx, raw, what, at, { glob: true });
}

/** The workspace root with symlinks followed, found once per check (every module file is compared with it). */
const realRoots = new WeakMap<object, string>();

/** A module file must exist, be a file, and stay inside the workspace after following symlinks. */
export function checkFile(ctx: Pick<CheckContext, 'root' | 'out'>, rel: string, what: string, at: () => Range): boolean {
  const { root } = ctx;
  const abs = path.join(root, rel);
  const fail = (code: DiagnosticCode, message: string, hint: string) => {
    ctx.out.add(diagnostic(code, at(), message, hint));
    return false;
  };
  let st;
  try {
    st = statSync(abs);
  } catch {
    return fail('missing-module', `${what} \`${rel}\` not found (looked for ${abs})`, 'check the path: it is relative to the folder of pipeline.yaml');
  }
  if (!st.isFile()) return fail('module-not-file', `${what} \`${rel}\` is not a file`, 'name the module file itself');
  const real = realpathSync.native(abs);
  let realRoot = realRoots.get(ctx);
  if (realRoot === undefined) realRoots.set(ctx, (realRoot = realpathSync.native(root)));
  if (!isInside(real, realRoot)) return fail('module-escapes', `${what} \`${rel}\` resolves to ${real}, outside the workspace`, 'keep modules inside the workspace');
  return true;
}
