// `cmd:` strings → argv, split like a POSIX shell splits words, without running a shell.
import { ESCAPE_HINT, refAt } from './refs.js';

export class CommandSyntaxError extends Error {
  constructor(
    message: string,
    /** 0-based index of the offending character in the command line. */
    readonly index: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CommandSyntaxError';
  }
}

const SHELL_HINT = 'the command runs without a shell: quote the character to pass it literally, or set `shell: true`';
const DOLLAR_HINT = `${SHELL_HINT}; ${ESCAPE_HINT}`;

/** A word of a command line and where it is in the line (`start`..`end`, quotes included). */
export interface WordSpan {
  word: string;
  start: number;
  end: number;
}

/**
 * Splits a command line into argv the way a POSIX shell would split words, without running one:
 * whitespace separates words; '...' is literal; "..." allows \" \\ \$ \` escapes; a backslash outside
 * quotes escapes the next character. Shell syntax that would need a shell (pipes, redirections, `;`, `&`,
 * `$VAR`, `$(...)`, backquotes) is an error, as are unbalanced quotes and a trailing backslash. A `${name}`
 * reference and the `$${` escape are kept as written, in any quotes, for interpolation (config/refs.ts) to resolve.
 */
export function splitCommand(line: string): string[] {
  return splitCommandSpans(line).map((w) => w.word);
}

/** splitCommand, with where each word is in the line. */
export function splitCommandSpans(line: string): WordSpan[] {
  const args: WordSpan[] = [];
  let cur = '';
  let inWord = false;
  let start = 0;
  let i = 0;
  const n = line.length;
  const begin = () => {
    if (!inWord) start = i;
    inWord = true;
  };
  while (i < n) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) args.push({ word: cur, start, end: i });
      cur = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      begin();
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CommandSyntaxError('unbalanced single quote', i, "close it with another ' (or escape it as \\')");
      cur += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      begin();
      const open = i;
      i++;
      for (;;) {
        if (i >= n) throw new CommandSyntaxError('unbalanced double quote', open, 'close it with another " (or escape it as \\")');
        const d = line[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < n && '"\\$`\n'.includes(line[i + 1])) {
          if (line[i + 1] !== '\n') cur += line[i + 1];
          i += 2;
        } else if (d === '$' && refAt(line, i) !== undefined) {
          const ref = refAt(line, i)!;
          cur += line.slice(i, ref.end);
          i = ref.end;
        } else if (d === '$' && /[A-Za-z_(]/.test(line[i + 1] ?? '')) {
          throw new CommandSyntaxError('`$` expansion needs a shell', i, DOLLAR_HINT);
        } else if (d === '`') {
          throw new CommandSyntaxError('backquote substitution needs a shell', i, SHELL_HINT);
        } else {
          cur += d;
          i++;
        }
      }
    } else if (c === '\\') {
      if (i + 1 >= n) throw new CommandSyntaxError('trailing backslash', i, 'remove it, or write \\\\ for a literal backslash');
      if (line[i + 1] !== '\n') {
        begin();
        cur += line[i + 1];
      }
      i += 2;
    } else if (c === '`') {
      throw new CommandSyntaxError('backquote substitution needs a shell', i, SHELL_HINT);
    } else if ('|&;<>()'.includes(c)) {
      throw new CommandSyntaxError(`\`${c}\` is shell syntax`, i, SHELL_HINT);
    } else if (c === '$' && refAt(line, i) !== undefined) {
      begin();
      const ref = refAt(line, i)!;
      cur += line.slice(i, ref.end);
      i = ref.end;
    } else if (c === '$' && /[A-Za-z_(]/.test(line[i + 1] ?? '')) {
      throw new CommandSyntaxError('`$` expansion needs a shell', i, DOLLAR_HINT);
    } else {
      begin();
      cur += c;
      i++;
    }
  }
  if (inWord) args.push({ word: cur, start, end: n });
  return args;
}
