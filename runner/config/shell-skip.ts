// The constructs of a shell line that a value is never put into (shell-lexer.ts), skipped: each method returns the
// index just after the construct's end, reading the quotes and constructs nested in it, and gives up on the rest of
// the line (`lose`) where it cannot be sure where the construct ends (a `case` or a comment inside `$(…)`, a
// here-document inside it, anything unterminated).

export class Skipper {
  constructor(
    private readonly s: string,
    private readonly lose: (at: number, why: string) => void,
  ) {}

  backquotes(from: number): number {
    for (let j = from; j < this.s.length; j++) {
      if (this.s[j] === '\\') j++;
      else if (this.s[j] === '`') return j + 1;
    }
    this.lose(from - 1, 'unterminated backquotes');
    return this.s.length;
  }

  quotedEnd(from: number): number {
    const { s } = this;
    for (let j = from; j < s.length; j++) {
      const c = s[j];
      if (c === '\\') j++;
      else if (c === '"') return j + 1;
      else if (c === '`') j = this.backquotes(j + 1) - 1;
      else if (c === '$' && s[j + 1] === '(') j = this.substitution(j + 2) - 1;
      else if (c === '$' && s[j + 1] === '{') j = this.braces(j + 2) - 1;
    }
    this.lose(from - 1, 'an unterminated double quote');
    return s.length;
  }

  ansiC(from: number): number {
    for (let j = from; j < this.s.length; j++) {
      if (this.s[j] === '\\') j++;
      else if (this.s[j] === "'") return j + 1;
    }
    this.lose(from - 2, "an unterminated `$'…'` string");
    return this.s.length;
  }

  /** Inside `${…}` (a shell expansion): up to its `}`. */
  braces(from: number): number {
    const { s } = this;
    for (let j = from; j < s.length; j++) {
      const c = s[j];
      if (c === '\\') j++;
      else if (c === '}') return j + 1;
      else if (c === "'") j = this.singleEnd(j + 1) - 1;
      else if (c === '"') j = this.quotedEnd(j + 1) - 1;
      else if (c === '`') j = this.backquotes(j + 1) - 1;
      else if (c === '$' && s[j + 1] === '(') j = this.substitution(j + 2) - 1;
      else if (c === '$' && s[j + 1] === '{') j = this.braces(j + 2) - 1;
    }
    this.lose(from - 2, 'an unterminated `${`');
    return s.length;
  }

  singleEnd(from: number): number {
    const end = this.s.indexOf("'", from);
    if (end >= 0) return end + 1;
    this.lose(from - 1, 'an unterminated single quote');
    return this.s.length;
  }

  /** Inside `$(…)` or `<(…)`: up to the `)` that closes it. */
  substitution(from: number): number {
    const { s } = this;
    let depth = 1;
    for (let j = from; j < s.length; j++) {
      const c = s[j];
      const wordStart = j === from || /[\s;&|()<>]/.test(s[j - 1]);
      if (c === '\\') j++;
      else if (c === "'") j = this.singleEnd(j + 1) - 1;
      else if (c === '"') j = this.quotedEnd(j + 1) - 1;
      else if (c === '`') j = this.backquotes(j + 1) - 1;
      else if (c === '$' && s[j + 1] === '{') j = this.braces(j + 2) - 1;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return j + 1;
      else if (c === '#' && wordStart) this.lose(from - 2, 'a comment inside `$(…)`');
      else if (c === '<' && s[j + 1] === '<' && s[j + 2] !== '<') this.lose(from - 2, 'a here-document inside `$(…)`');
      else if (wordStart && /^case[\s;&|()<>]/.test(s.slice(j, j + 5))) this.lose(from - 2, 'a `case` inside `$(…)`');
    }
    this.lose(from - 2, 'an unterminated `$(`');
    return s.length;
  }

  /** Inside `$((…))` or `((…))`: just after the `))` that closes it, or -1 when the parentheses close otherwise. */
  arithmetic(from: number): number {
    const { s } = this;
    let depth = 0;
    for (let j = from; j < s.length; j++) {
      const c = s[j];
      if (c === '\\') j++;
      else if (c === "'") j = this.singleEnd(j + 1) - 1;
      else if (c === '"') j = this.quotedEnd(j + 1) - 1;
      else if (c === '`') j = this.backquotes(j + 1) - 1;
      else if (c === '$' && s[j + 1] === '{') j = this.braces(j + 2) - 1;
      else if (c === '(') depth++;
      else if (c === ')' && depth > 0) depth--;
      else if (c === ')') return s[j + 1] === ')' ? j + 2 : -1;
    }
    this.lose(from - 3, 'an unterminated `$((`');
    return s.length;
  }
}
