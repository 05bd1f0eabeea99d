// Errors meant for people: what went wrong, where, and how to fix it, each kind with its own exit code.
import { createRequire } from 'node:module';
import { diagnostic, formatDiagnostics, type Diagnostic, type Position, type DiagnosticCode, type RelatedLocation } from './diagnostic.js';

// One list of exit codes, shared with workspace commands through `pipeline-dag/command`.
import { ExitCode } from './exit-codes.js';
export { ExitCode };

export function formatPosition(pos: Position): string {
  return `${pos.file}:${pos.line}:${pos.col}`;
}

/** A bad command line or a bad config: exit code 2, nothing written. */
export class UsageError extends Error {
  readonly exitCode: number = ExitCode.usage;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A stage's module that does not build; `remedy` when the error says which fix applies. */
export class ModuleBuildError extends UsageError {
  constructor(
    message: string,
    readonly remedy: string | undefined,
  ) {
    super(message, remedy ?? 'fix the module so that it compiles');
    this.name = 'ModuleBuildError';
  }
}

/**
 * A config that cannot be used: one or more diagnostics (each with its place in the file). `pos`, `detail` and
 * `hint` are those of the first diagnostic, the one a reader fixes first; `diagnostics` holds every one found
 * (up to the cap) and `omitted` how many more there were. Exit code 2, nothing written.
 */
export class ConfigError extends UsageError {
  readonly pos: Position;
  diagnostics: Diagnostic[];
  omitted = 0;
  constructor(
    at: Position & { endLine?: number; endCol?: number },
    readonly detail: string,
    hint?: string,
    readonly code: DiagnosticCode = 'invalid-value',
    related: RelatedLocation[] = [],
  ) {
    super(`${formatPosition(at)}: ${detail}`, hint);
    this.name = 'ConfigError';
    this.pos = { file: at.file, line: at.line, col: at.col };
    this.diagnostics = [diagnostic(code, at, detail, hint, related)];
  }

  /** One error carrying every diagnostic found (at least one), the first one being its message. */
  static of(diagnostics: Diagnostic[], omitted = 0): ConfigError {
    const [first] = diagnostics;
    const err = new ConfigError(first, first.message, first.hint, first.code, first.related);
    err.diagnostics = diagnostics;
    err.omitted = omitted;
    return err;
  }

  /** Every diagnostic in the human form (see formatDiagnostic). */
  format(): string {
    return formatDiagnostics(this.diagnostics, this.omitted);
  }
}

/** Another run holds the workspace lock and the caller asked not to wait. */
export class BusyError extends Error {
  readonly exitCode: number = ExitCode.busy;
  constructor(message: string) {
    super(message);
    this.name = 'BusyError';
  }
}

/** Edit distance suggestion: the closest candidate within a third of the word's length, or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  // Loaded only when there is a mistake to suggest a fix for.
  const { distance } = createRequire(import.meta.url)('fastest-levenshtein') as typeof import('fastest-levenshtein');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function suggestion(word: string, candidates: Iterable<string>): string {
  const s = didYouMean(word, candidates);
  return s === undefined ? '' : ` (did you mean \`${s}\`?)`;
}
