// Where each `${name}` of a `shell: true` command stands, as /bin/sh will read the line: unquoted, inside '…',
// inside "…", or somewhere a value cannot be quoted safely (a command substitution, backquotes, arithmetic, a shell
// `${…}` expansion, a here-document, a comment, `$'…'`, `[[ … ]]`, after a backslash). And the line's top-level
// simple commands as words, so the program a value is passed to can be checked (shell-interpreters.ts).
//
// Why a lexer of our own: the parsers on npm that give positions either run as async WebAssembly whose JSON drops
// the command nodes (sh-syntax), are deprecated by their author (mvdan-sh), parse bash for highlighting with error
// recovery (tree-sitter-bash), or give no positions at all (shell-quote, bash-parser). This one recognises only the
// few contexts where a value is quoted, and fails closed: every construct it does not model refuses the references
// inside it, and one whose end it cannot be sure of (a `case` or a comment inside `$(…)`, a here-document inside a
// substitution, an unbalanced quote) refuses every reference after it. It reads the union of dash and bash: a
// construct either shell reads as code is treated as code.
import { scanRefs } from './refs.js';
import { Skipper } from './shell-skip.js';

export type ShellContext = 'unquoted' | 'double' | 'single';

/** One reference of the line: where it is (in the text as written) and how it must be quoted, or why it cannot be. */
export interface ShellRefSite {
  start: number;
  end: number;
  name: string;
  context?: ShellContext;
  refusal?: string;
}

/** A word of a top-level simple command: literal text and references (their index in `sites`). */
export interface ShellWord {
  parts: (string | number)[];
  /** It holds a shell expansion (`$VAR`, `$(…)`, …): its text is known only when the shell runs. */
  dynamic: boolean;
}

export interface ShellAnalysis {
  sites: ShellRefSite[];
  /** Top-level simple commands: the words after leading assignments and reserved words (redirections left out). */
  commands: ShellWord[][];
}

const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'in', 'case', 'esac', '{', '}', '!', 'function', 'select', 'time', 'coproc']);
const NAME_CHAR = /[A-Za-z0-9_]/;
const SPECIAL_PARAM = /[@*#?$!0-9-]/;

export function analyseShell(text: string): ShellAnalysis {
  return new Lexer(text).run();
}

class Lexer {
  /** The line as the shell sees it: each reference is one placeholder character. */
  private readonly s: string;
  /** Raw index of each character of `s`. */
  private readonly raw: number[] = [];
  private readonly holeAt = new Map<number, number>();
  private readonly sites: ShellRefSite[] = [];
  private readonly commands: ShellWord[][] = [];
  private i = 0;
  private word: (ShellWord & { quoted: boolean; leadQuoted: boolean; target: boolean; delim: boolean }) | undefined;
  private command: ShellWord[] = [];
  private commandStart = true;
  private nextIsTarget = false;
  private nextIsDelim = false;
  private heredocs: { delim: string; strip: boolean }[] = [];
  private heredocStrip = false;
  private inTest = false;
  /** Index in `s` from which nothing can be trusted, and why. */
  private lostAt: { at: number; why: string } | undefined;
  private readonly skip: Skipper;

  constructor(text: string) {
    let s = '';
    for (const p of scanRefs(text)) {
      if (p.kind === 'ref') {
        this.holeAt.set(s.length, this.sites.length);
        this.sites.push({ start: p.start, end: p.end, name: p.name });
        this.raw.push(p.start);
        s += 'h';
      } else {
        const chunk = p.kind === 'escape' ? '${' : text.slice(p.start, p.end);
        for (let k = 0; k < chunk.length; k++) this.raw.push(p.kind === 'escape' ? p.start + k + (k > 0 ? 1 : 0) : p.start + k);
        s += chunk;
      }
    }
    this.s = s;
    this.skip = new Skipper(s, (at, why) => this.lose(at, why));
  }

  run(): ShellAnalysis {
    while (this.i < this.s.length) this.step();
    this.endWord();
    this.endCommand();
    if (this.heredocs.length > 0) this.lose(this.s.length, 'a here-document without its body');
    if (this.lostAt) for (const [at, k] of this.holeAt) if (at >= this.lostAt.at) this.refuse(k, this.lostAt.why);
    return { sites: this.sites, commands: this.commands };
  }

  private refuse(k: number, why: string): void {
    if (this.sites[k].refusal === undefined) this.sites[k] = { ...this.sites[k], context: undefined, refusal: why };
  }

  /** Nothing from `at` on can be read with certainty. */
  private lose(at: number, why: string): void {
    if (this.lostAt === undefined || at < this.lostAt.at) this.lostAt = { at, why: `it comes after ${why} (column ${this.raw[Math.min(at, this.raw.length - 1)] + 1} of the command), which this check cannot read with certainty` };
  }

  private cur(): NonNullable<Lexer['word']> {
    if (!this.word) {
      this.word = { parts: [], dynamic: false, quoted: false, leadQuoted: false, target: this.nextIsTarget, delim: this.nextIsDelim };
      this.nextIsTarget = false;
      this.nextIsDelim = false;
    }
    return this.word;
  }

  /** The word being read has quoting (from here on): it is no reserved word, and no assignment if it starts quoted. */
  private quoting(): void {
    const w = this.cur();
    if (w.parts.length === 0) w.leadQuoted = true;
    w.quoted = true;
  }

  private lit(text: string): void {
    const w = this.cur();
    if (typeof w.parts[w.parts.length - 1] === 'string') w.parts[w.parts.length - 1] += text;
    else w.parts.push(text);
  }

  private hole(k: number, context: ShellContext, refusal?: string): void {
    this.cur().parts.push(k);
    if (refusal !== undefined) this.refuse(k, refusal);
    else if (this.inTest) this.refuse(k, '`[[ … ]]`, where bash evaluates operands as arithmetic');
    else if (this.sites[k].refusal === undefined) this.sites[k] = { ...this.sites[k], context };
  }

  private step(): void {
    const { s } = this;
    const c = s[this.i];
    const k = this.holeAt.get(this.i);
    if (k !== undefined) {
      this.hole(k, 'unquoted');
      this.i++;
    } else if (c === ' ' || c === '\t') {
      this.endWord();
      this.i++;
    } else if (c === '\n') {
      this.endWord();
      this.endCommand();
      this.i++;
      this.heredocBodies();
    } else if (c === '#' && !this.word) {
      const end = s.indexOf('\n', this.i);
      this.refuseIn(this.i, end < 0 ? s.length : end, 'a comment (a newline in the value would end it)');
      this.i = end < 0 ? s.length : end;
    } else if (c === "'") this.singleQuoted();
    else if (c === '"') this.doubleQuoted();
    else if (c === '\\') this.backslash();
    else if (c === '`') this.expansion(this.skip.backquotes(this.i + 1), 'backquotes');
    else if (c === '$') this.dollar();
    else if (';&|()<>'.includes(c)) this.operator();
    else {
      this.lit(c);
      this.i++;
    }
  }

  private refuseIn(from: number, to: number, why: string): void {
    for (let j = from; j < to; j++) {
      const k = this.holeAt.get(j);
      if (k !== undefined) this.refuse(k, why);
    }
  }

  /** A skipped construct from `this.i` to `end`: its references are refused, the word is dynamic. */
  private expansion(end: number, what: string): void {
    this.refuseIn(this.i, end, `inside ${what}`);
    if (this.heredocs.length > 0 && this.s.slice(this.i, end).includes('\n')) this.lose(this.i, `${what} spanning lines before a here-document`);
    this.cur().dynamic = true;
    this.i = end;
  }

  private singleQuoted(): void {
    this.quoting();
    const end = this.s.indexOf("'", this.i + 1);
    if (end < 0) {
      this.lose(this.i, 'an unterminated single quote');
      this.i = this.s.length;
      return;
    }
    let from = this.i + 1;
    for (let j = from; j < end; j++) {
      const k = this.holeAt.get(j);
      if (k === undefined) continue;
      if (j > from) this.lit(this.s.slice(from, j));
      this.hole(k, 'single');
      from = j + 1;
    }
    if (end > from) this.lit(this.s.slice(from, end));
    this.i = end + 1;
  }

  private doubleQuoted(): void {
    const { s } = this;
    this.quoting();
    const open = this.i++;
    for (;;) {
      if (this.i >= s.length) return this.lose(open, 'an unterminated double quote');
      const c = s[this.i];
      const k = this.holeAt.get(this.i);
      if (k !== undefined) {
        this.hole(k, 'double');
        this.i++;
      } else if (c === '"') {
        this.i++;
        return;
      } else if (c === '\\') {
        const next = this.holeAt.get(this.i + 1);
        if (next !== undefined) {
          this.hole(next, 'double', 'after a backslash, which escapes its `$` (write `$${` for a literal `${`)');
          this.i += 2;
        } else if ('$`"\\\n'.includes(s[this.i + 1] ?? '')) {
          if (s[this.i + 1] !== '\n') this.lit(s[this.i + 1]);
          this.i += 2;
        } else {
          this.lit('\\');
          this.i++;
        }
      } else if (c === '`') this.expansion(this.skip.backquotes(this.i + 1), 'backquotes');
      else if (c === '$' && /[({]/.test(s[this.i + 1] ?? '')) this.dollar();
      else if (c === '$' && (NAME_CHAR.test(s[this.i + 1] ?? '') || SPECIAL_PARAM.test(s[this.i + 1] ?? ''))) this.dollar();
      else {
        this.lit(c);
        this.i++;
      }
    }
  }

  private backslash(): void {
    const { s } = this;
    const k = this.holeAt.get(this.i + 1);
    if (k !== undefined) {
      this.hole(k, 'unquoted', 'after a backslash, which escapes its `$` (write `$${` for a literal `${`)');
      this.i += 2;
    } else if (this.i + 1 >= s.length) {
      this.lit('\\');
      this.i++;
    } else {
      if (s[this.i + 1] !== '\n') {
        this.quoting();
        this.lit(s[this.i + 1]);
      }
      this.i += 2;
    }
  }

  private dollar(): void {
    const { s, i } = this;
    const next = s[i + 1] ?? '';
    if (next === '(' && s[i + 2] === '(') {
      const end = this.skip.arithmetic(i + 3);
      if (end < 0) {
        this.lose(i, '`$((` that is not an arithmetic expansion');
        this.expansion(s.length, '`$((…))`');
      } else this.expansion(end, 'an arithmetic expansion `$((…))`');
    } else if (next === '(') this.expansion(this.skip.substitution(i + 2), 'a command substitution `$(…)`');
    else if (next === '{') this.expansion(this.skip.braces(i + 2), 'a shell `${…}` expansion');
    else if (next === "'") this.expansion(this.skip.ansiC(i + 2), "a `$'…'` string");
    else if (next === '"') {
      const end = this.skip.quotedEnd(i + 2);
      this.expansion(end, 'a `$"…"` string');
    } else if (NAME_CHAR.test(next) && !/[0-9]/.test(next)) {
      let j = i + 1;
      while (j < s.length && NAME_CHAR.test(s[j]) && !this.holeAt.has(j)) j++;
      this.expansion(j, 'a variable');
    } else if (SPECIAL_PARAM.test(next) && !this.holeAt.has(i + 1)) this.expansion(i + 2, 'a variable');
    else {
      this.lit('$');
      this.i++;
    }
  }

  private operator(): void {
    const { s } = this;
    const c = s[this.i];
    const two = s.slice(this.i, this.i + 2);
    const w = this.word;
    const ioNumber = w !== undefined && (c === '<' || c === '>') && !w.quoted && !w.dynamic && w.parts.length === 1 && /^[0-9]+$/.test(String(w.parts[0]));
    if (ioNumber) this.word = undefined;
    else this.endWord();
    if (two === '<(' || two === '>(') return this.expansion(this.skip.substitution(this.i + 2), 'a process substitution');
    if (c === '(' && s[this.i + 1] === '(' && this.commandStart && this.command.length === 0) {
      const end = this.skip.arithmetic(this.i + 2);
      if (end >= 0) {
        this.refuseIn(this.i, end, 'inside an arithmetic command `((…))`');
        this.i = end;
        return;
      }
    }
    if (s.startsWith('<<<', this.i)) {
      this.i += 3;
      this.nextIsTarget = true;
      return;
    }
    if (two === '<<') {
      this.i += s[this.i + 2] === '-' ? 3 : 2;
      this.nextIsDelim = true;
      this.heredocStrip = s[this.i - 1] === '-';
      return;
    }
    if (c === '<' || c === '>') {
      this.i += /^(>>|<&|>&|<>|>\|)$/.test(two) ? 2 : 1;
      this.nextIsTarget = true;
      return;
    }
    if (two === '&>') {
      this.i += s[this.i + 2] === '>' ? 3 : 2;
      this.nextIsTarget = true;
      return;
    }
    this.i += /^(&&|\|\||;;|;&|\|&)$/.test(two) ? 2 : 1;
    this.endCommand();
  }

  private endWord(): void {
    const w = this.word;
    if (!w) return;
    this.word = undefined;
    const text = w.parts.every((p) => typeof p === 'string') ? w.parts.join('') : undefined;
    if (w.delim) {
      w.parts.forEach((p) => typeof p === 'number' && this.refuse(p, 'a here-document delimiter'));
      if (text === undefined || w.dynamic) this.lose(this.i, 'a here-document whose delimiter is not plain text');
      else this.heredocs.push({ delim: text, strip: this.heredocStrip });
      return;
    }
    if (w.target) return;
    if (this.inTest) {
      if (text === ']]' && !w.quoted) this.inTest = false;
      return;
    }
    if (this.command.length === 0 && text !== undefined && !w.quoted) {
      if (text === '[[') {
        this.inTest = true;
        return;
      }
      if (RESERVED.has(text)) return;
    }
    const first = w.parts[0];
    if (this.command.length === 0 && typeof first === 'string' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(first) && !w.leadQuoted) return;
    this.command.push({ parts: w.parts, dynamic: w.dynamic });
    this.commandStart = false;
  }

  private endCommand(): void {
    if (this.command.length > 0) this.commands.push(this.command);
    this.command = [];
    this.commandStart = true;
  }

  /** After a newline: the bodies of the here-documents opened on the line, their references refused. */
  private heredocBodies(): void {
    const { s } = this;
    for (const { delim, strip } of this.heredocs) {
      const start = this.i;
      let end = s.length;
      while (this.i < s.length) {
        const nl = s.indexOf('\n', this.i);
        const lineEnd = nl < 0 ? s.length : nl;
        const line = s.slice(this.i, lineEnd);
        this.i = nl < 0 ? s.length : nl + 1;
        if ((strip ? line.replace(/^\t+/, '') : line) === delim) {
          end = lineEnd;
          break;
        }
      }
      this.refuseIn(start, end, 'a here-document');
    }
    this.heredocs = [];
  }
}
