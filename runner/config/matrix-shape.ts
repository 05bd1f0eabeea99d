// The shape of a stage's `matrix:`, checked in words of its own: a mapping of keys (each becomes a param, so a name
// `${key}` can reference) to non-empty lists of strings, finite numbers or booleans. The zod schema (zod-schema.ts)
// says the same to editors; shapes.ts hands every issue under `matrix` here, so each problem is reported once,
// with its own code, at the key, the list or the entry it is about.
import { diagnostic, type DiagnosticCode, type DiagnosticList } from '../core/diagnostic.js';
import { MATRIX_KEY_PATTERN } from './keys.js';
import type { KeyPath, Source } from './positions.js';
import { describe } from './shapes.js';
import type { MatrixValue } from './types.js';

const KEY_RE = new RegExp(MATRIX_KEY_PATTERN);
const EXAMPLE = 'e.g. `matrix: {bits: [8, 16]}`: one stage per value (per combination with several keys)';

/** A value a matrix list may hold: a string, a finite number or a boolean. */
export function isMatrixValue(v: unknown): v is MatrixValue {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Every problem of the `matrix:` of stage `stage` (its parsed value); true when there is none. */
export function checkMatrixShape(src: Source, stage: string, matrix: unknown, out: DiagnosticList): boolean {
  const base: KeyPath = ['stages', stage, 'matrix'];
  const before = out.size;
  const fail = (code: DiagnosticCode, at: KeyPath, part: 'key' | 'value', message: string, hint: string) =>
    out.add(diagnostic(code, part === 'key' ? src.keyRange(at) : src.valueRange(at), `stage \`${stage}\`: ${message}`, hint));
  if (matrix === null || typeof matrix !== 'object' || Array.isArray(matrix)) {
    fail('matrix-shape', base, 'value', `\`matrix\` must be a mapping of keys to lists of values; got ${describe(matrix)}`, EXAMPLE);
    return false;
  }
  const entries = Object.entries(matrix as Record<string, unknown>);
  if (entries.length === 0) fail('matrix-shape', base, 'value', '`matrix` has no keys', `${EXAMPLE}; without keys, remove \`matrix\``);
  for (const [key, values] of entries) {
    if (!KEY_RE.test(key))
      fail('invalid-name', [...base, key], 'key', `matrix key \`${key}\` is not allowed`, 'a matrix key is a param referenced as `${key}`: letters, digits and `_`, not starting with a digit');
    if (!Array.isArray(values)) {
      fail('matrix-shape', [...base, key], 'value', `matrix key \`${key}\` must be a list of values; got ${describe(values)}`, `write \`${key}: [${typeof values === 'string' || typeof values === 'number' || typeof values === 'boolean' ? String(values) : 'a, b'}]\``);
      continue;
    }
    if (values.length === 0) fail('matrix-empty', [...base, key], 'value', `matrix key \`${key}\` has an empty list: the stage would have no expansion`, `list at least one value, e.g. \`${key}: [1]\`, or remove the key`);
    values.forEach((v, i) => {
      if (isMatrixValue(v)) return;
      const what = typeof v === 'number' ? `the number ${String(v)}, which is not finite` : describe(v);
      fail(
        'matrix-value',
        [...base, key, i],
        'value',
        `matrix key \`${key}\`: entry ${i + 1} is ${what}; a matrix value must be a string, a finite number or a boolean`,
        'each value becomes a param and part of a stage name: to sweep structured settings, list a name per setting and map names to settings in the stage',
      );
    });
  }
  return out.size === before;
}
