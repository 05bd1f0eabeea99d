// Schema issues → diagnostics with places in a file. One converter for every reader that checks a document with
// a zod schema: pipeline.yaml, its `ci:` settings, artifacts that stages read back (model.json...).
//
// Self-contained on purpose (stage modules reach it through `pipeline-dag/stage`, public/diagnostics.ts): it
// imports nothing, and zod only by shape — it takes the `issues` array of a failed `safeParse` and a locator that
// maps a key path to a range of the file.
// The diagnostics it returns have the shape of the engine's Diagnostic (runner/core/diagnostic.ts), with one of
// the shape codes below.

/** A span of a file, 1-based; `endLine:endCol` is just after the last character. */
export interface SourceRange {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

export type KeyPath = (string | number)[];

/** What the converter reads of a zod issue (zod 4's `$ZodIssue` fits it). */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /** `unrecognized_keys`: the unknown keys. */
  readonly keys?: readonly string[];
  /** `invalid_union`: the issues of each branch. */
  readonly errors?: readonly (readonly SchemaIssue[])[];
  /** `invalid_key`, `invalid_element`: the issues of the key or element. */
  readonly issues?: readonly SchemaIssue[];
}

/** The codes a schema issue becomes (a subset of the engine's diagnostic codes). */
export type ShapeCode = 'unknown-key' | 'missing-key' | 'wrong-type' | 'invalid-value' | 'invalid-name';

export interface ShapeDiagnostic extends SourceRange {
  code: ShapeCode;
  severity: 'error';
  message: string;
  hint?: string;
  related: (SourceRange & { message: string })[];
}

/** One issue as the converter sees it, handed to `explain` to word it for the document at hand. */
export interface IssueView {
  code: ShapeCode;
  issue: SchemaIssue;
  /** Full path of the offending node (with `prefix`): for unknown keys and bad names, the key itself. */
  path: KeyPath;
  /** The unknown or invalid key, for `unknown-key` and `invalid-name`. */
  key?: string;
  /** The default message and hint. */
  message: string;
  hint?: string;
}

export interface ConvertOptions {
  /** Range of the key (`part: 'key'`) or of the value at `path` (the nearest existing ancestor when it is missing). */
  locate(path: KeyPath, part: 'key' | 'value'): SourceRange;
  /** Path of the checked value inside the file (e.g. `['ci']` for the `ci:` mapping of pipeline.yaml). */
  prefix?: KeyPath;
  /** The checked value at a path (without `prefix`), to tell a missing key from a wrong value. */
  valueAt?(path: KeyPath): unknown;
  /** Rewords an issue for its document; return nothing to keep the default. */
  explain?(view: IssueView): { message?: string; hint?: string } | undefined;
}

function keyPath(path: readonly PropertyKey[]): KeyPath {
  return path.map((p) => (typeof p === 'number' ? p : String(p)));
}

function dotted(path: KeyPath): string {
  return path.length === 0 ? '(top level)' : path.join('.');
}

/** The deepest failing path inside a union (e.g. the bad entry of a list), to point at the exact node. */
function deepest(issue: SchemaIssue): { path: KeyPath; issue: SchemaIssue } {
  let best = { path: keyPath(issue.path), issue };
  if (issue.code === 'invalid_union') {
    for (const branch of issue.errors ?? []) {
      for (const sub of branch) {
        const inner = deepest(sub);
        const p = [...keyPath(issue.path), ...inner.path];
        if (p.length > best.path.length) best = { path: p, issue: inner.issue };
      }
    }
  }
  return best;
}

/**
 * Every issue as a diagnostic (an issue with several unknown keys gives one per key), sorted by place in the
 * file; missing keys come last (a misspelled key elsewhere usually explains them).
 */
export function issuesToDiagnostics(issues: readonly SchemaIssue[], opts: ConvertOptions): ShapeDiagnostic[] {
  const prefix = opts.prefix ?? [];
  const views: IssueView[] = [];
  for (const issue of issues) {
    const own = keyPath(issue.path);
    const at = [...prefix, ...own];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys ?? [])
        views.push({ code: 'unknown-key', issue, path: [...at, key], key, message: `unknown key \`${key}\` in \`${dotted(at)}\`` });
    } else if (issue.code === 'invalid_key') {
      const key = String(own[own.length - 1]);
      const why = issue.issues?.[0]?.message ?? issue.message;
      views.push({ code: 'invalid-name', issue, path: at, key, message: `\`${key}\` is not a valid key in \`${dotted(at.slice(0, -1))}\`: ${why}` });
    } else if (own.length > 0 && (opts.valueAt ? opts.valueAt(own) === undefined : / received undefined$/.test(issue.message))) {
      views.push({ code: 'missing-key', issue, path: at, message: `missing \`${dotted(at)}\`` });
    } else if (issue.code === 'invalid_type' || issue.code === 'invalid_union') {
      const deep = deepest(issue);
      const path = [...prefix, ...deep.path];
      views.push({ code: 'wrong-type', issue, path, message: `\`${dotted(path)}\`: ${deep.issue.message}` });
    } else {
      views.push({ code: 'invalid-value', issue, path: at, message: `\`${dotted(at)}\`: ${issue.message}` });
    }
  }
  const out = views.map((v) => {
    const said = opts.explain?.(v) ?? {};
    const part = v.code === 'unknown-key' || v.code === 'invalid-name' ? 'key' : 'value';
    const hint = said.hint ?? v.hint;
    const d: ShapeDiagnostic = {
      code: v.code,
      severity: 'error',
      ...opts.locate(v.path, part),
      message: said.message ?? v.message,
      ...(hint !== undefined ? { hint } : {}),
      related: [],
    };
    return d;
  });
  const last = (d: ShapeDiagnostic) => (d.code === 'missing-key' ? 1 : 0);
  return out
    .map((d, i) => ({ d, i }))
    .sort((a, b) => last(a.d) - last(b.d) || a.d.line - b.d.line || a.d.col - b.d.col || a.i - b.i)
    .map((x) => x.d);
}

/** `file:line:col: message` lines, for readers that report diagnostics as one error message. */
export function formatShapeDiagnostics(diagnostics: readonly ShapeDiagnostic[], max = 5): string {
  const shown = diagnostics.slice(0, max).map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
  if (diagnostics.length > max) shown.push(`… and ${diagnostics.length - max} more`);
  return shown.join('; ');
}
