// Errors meant for people: what went wrong, where, and how to fix it, each kind with its own exit code.
import { createRequire } from 'node:module';
import type { Position } from '../config/types.js';

// One list of exit codes, shared with workspace commands through `pipeline-dag/command`.
import { ExitCode } from '../public/command.js';
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

/** A config error at a known place in pipeline.yaml. */
export class ConfigError extends UsageError {
  constructor(
    readonly pos: Position,
    readonly detail: string,
    hint?: string,
  ) {
    super(`${formatPosition(pos)}: ${detail}`, hint);
    this.name = 'ConfigError';
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
