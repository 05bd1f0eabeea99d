// Diagnostics as values: every problem found in an input file (pipeline.yaml, its `ci:` settings) is one
// Diagnostic with a stable code, a range in the file, a hint and related locations. Checks collect them; the CLI
// prints them all (people) or as JSON (`pipeline validate --json`). The list of codes lives here, in one union:
// new checks add their code to it (and a line to the README's table of codes).

/** A place in a config file, 1-based, for error messages (`file:line:col`). */
export interface Position {
  file: string;
  line: number;
  col: number;
}

/** Stable, kebab-case identifiers of every kind of diagnostic. Never rename one: tools match on them. */
export const DIAGNOSTIC_CODES = [
  // reading the file
  'file-too-large',
  'yaml-syntax',
  'empty-file',
  'yaml-alias',
  'duplicate-key',
  'duplicate-stage',
  'reserved-name',
  // shapes (zod issues, runner/core/schema-issues.ts)
  'not-a-mapping',
  'unknown-key',
  'missing-key',
  'wrong-type',
  'invalid-value',
  'invalid-name',
  // one stage
  'cmd-and-module',
  'no-cmd-or-module',
  'cmd-syntax',
  'cmd-empty',
  'shell-misuse',
  'missing-module',
  'module-not-file',
  'module-escapes',
  'bad-path',
  'path-escapes',
  'glob-not-allowed',
  'reserved-out',
  'dep-is-out',
  'dep-unhashable',
  'metrics-not-out',
  'metrics-format',
  'self-need',
  'unknown-need',
  'reserved-env',
  'pass-env-declared',
  'pass-env-duplicate',
  'sbatch-option',
  'retry-unused',
  // templates (`matrix:`, `name:`)
  'matrix-shape',
  'matrix-empty',
  'matrix-value',
  'matrix-param-clash',
  'matrix-key-set',
  'expansion-name',
  'expansion-clash',
  // across stages
  'out-overlap',
  'cycle',
  'dep-needs-producer',
  'dep-not-found',
  'command-builtin',
  // `remote:`
  'bad-remote',
  'remote-credentials',
  // `--set` on the command line, params and their types
  'unknown-param',
  'param-type',
  'param-missing',
  'param-check',
  'params-schema',
  'unknown-interpolation',
  'unsafe-interpolation',
  // `ci:` settings and `pipeline ci generate`
  'unknown-stage',
  'ci-job-id',
  'ci-artifact',
  'ci-out-name',
  'ci-secret-env',
] as const;

export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

/** A span of a file, 1-based; `endLine:endCol` is the position just after the last character. */
export interface Range {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

/** Another place that explains a diagnostic: the first definition of a duplicate, the other stage writing an out. */
export interface RelatedLocation extends Range {
  message: string;
}

export interface Diagnostic extends Range {
  code: DiagnosticCode;
  severity: 'error' | 'warning';
  message: string;
  hint?: string;
  related: RelatedLocation[];
}

/** At most this many diagnostics are reported for one file; the count of the rest is reported instead. */
export const MAX_DIAGNOSTICS = 20;

/** A range from a point (a zero-width range when nothing else is known). */
export function pointRange(pos: { file: string; line: number; col: number; endLine?: number; endCol?: number }): Range {
  return { file: pos.file, line: pos.line, col: pos.col, endLine: pos.endLine ?? pos.line, endCol: pos.endCol ?? pos.col };
}

export function diagnostic(
  code: DiagnosticCode,
  at: { file: string; line: number; col: number; endLine?: number; endCol?: number },
  message: string,
  hint?: string,
  related: RelatedLocation[] = [],
): Diagnostic {
  return { code, severity: 'error', ...pointRange(at), message, ...(hint !== undefined ? { hint } : {}), related };
}

export function related(at: { file: string; line: number; col: number; endLine?: number; endCol?: number }, message: string): RelatedLocation {
  return { ...pointRange(at), message };
}

/**
 * Collects diagnostics in the order they are found (the first one is the one a reader fixes first), keeping at
 * most `cap` and counting the rest. A diagnostic equal to one already found (same code, place, message and
 * hint: a template's expansions share their text) is kept once.
 */
export class DiagnosticList {
  readonly items: Diagnostic[] = [];
  omitted = 0;
  private readonly seen = new Set<string>();
  constructor(private readonly cap = MAX_DIAGNOSTICS) {}

  add(d: Diagnostic): void {
    const key = JSON.stringify([d.code, d.file, d.line, d.col, d.endLine, d.endCol, d.message, d.hint]);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.items.length < this.cap) this.items.push(d);
    else this.omitted++;
  }

  get size(): number {
    return this.items.length + this.omitted;
  }
}

/** The human form: `file:line:col: message`, then `hint: …` and one `  related: file:line:col: …` per location. */
export function formatDiagnostic(d: Diagnostic, prefix = 'error: '): string {
  const lines = [`${prefix}${d.file}:${d.line}:${d.col}: ${d.message}`];
  if (d.hint) lines.push(`hint: ${d.hint}`);
  for (const r of d.related) lines.push(`  related: ${r.file}:${r.line}:${r.col}: ${r.message}`);
  return lines.join('\n');
}

/** Every diagnostic's block, then how many were left out. */
export function formatDiagnostics(list: readonly Diagnostic[], omitted = 0): string {
  const blocks = list.map((d) => formatDiagnostic(d, d.severity === 'error' ? 'error: ' : 'warning: '));
  if (omitted > 0)
    blocks.push(`… and ${omitted} more ${omitted === 1 ? 'error' : 'errors'} not shown (fix these and run again)`);
  return blocks.join('\n') + '\n';
}

/** The document `pipeline validate --json` prints. */
export interface ValidationReport {
  schemaVersion: 1;
  ok: boolean;
  /** Diagnostics beyond the cap, not listed. */
  omitted: number;
  diagnostics: Diagnostic[];
  /** Per stage, the variables of the current environment it does not get (names; stages that get them all left out). */
  withheldEnv?: Record<string, string[]>;
}
