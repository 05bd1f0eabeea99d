// `cmd:` strings → argv, split like a POSIX shell splits words, without running a shell.

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

/**
 * Splits a command line into argv the way a POSIX shell would split words, without running one:
 * whitespace separates words; '...' is literal; "..." allows \" \\ \$ \` escapes; a backslash outside
 * quotes escapes the next character. Shell syntax that would need a shell (pipes, redirections, `;`, `&`,
 * `$VAR`, `$(...)`, backquotes) is an error, as are unbalanced quotes and a trailing backslash.
 */
export function splitCommand(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) args.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CommandSyntaxError('unbalanced single quote', i, "close it with another ' (or escape it as \\')");
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      const open = i;
      i++;
      inWord = true;
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
        } else if (d === '$' && paramRef(line, i) !== undefined) {
          cur += paramRef(line, i)!;
          i += paramRef(line, i)!.length;
        } else if (d === '$' && /[A-Za-z_{(]/.test(line[i + 1] ?? '')) {
          throw new CommandSyntaxError('`$` expansion needs a shell', i, SHELL_HINT + " (or use '...' quotes)");
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
        cur += line[i + 1];
        inWord = true;
      }
      i += 2;
    } else if (c === '`') {
      throw new CommandSyntaxError('backquote substitution needs a shell', i, SHELL_HINT);
    } else if ('|&;<>()'.includes(c)) {
      throw new CommandSyntaxError(`\`${c}\` is shell syntax`, i, SHELL_HINT);
    } else if (c === '$' && paramRef(line, i) !== undefined) {
      cur += paramRef(line, i)!;
      i += paramRef(line, i)!.length;
      inWord = true;
    } else if (c === '$' && /[A-Za-z_{(]/.test(line[i + 1] ?? '')) {
      throw new CommandSyntaxError('`$` expansion needs a shell', i, SHELL_HINT);
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) args.push(cur);
  return args;
}

/** A param reference `${name}` starting at `i` (kept in the word, resolved from params later), or undefined. */
function paramRef(line: string, i: number): string | undefined {
  return /^\$\{[A-Za-z_][A-Za-z0-9_.-]*\}/.exec(line.slice(i, i + 200))?.[0];
}
