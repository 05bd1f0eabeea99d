// The one piece every interpolating key goes through: where the references of a text are, which of them can never
// be given a value safely (and why), and the text with the values put in, quoted for where each one stands.
//
// - A path or an environment value (`deps`, `env`, later `outs` and template names): the value as it is.
// - An argv word (`cmd` as a list, or a string split into words without a shell): the value as it is, inside that one
//   word — except in the code a known interpreter runs (`sh -c`, `python3 -c`, … see shell-interpreters.ts).
// - A `shell: true` line: the value quoted for its context (shell-lexer.ts) — unquoted: '…'; inside '…': '\'' for
//   each quote; inside "…": a backslash before `$`, backquote, `"` and `\` — and refused where no quoting is safe.
// The static checks (which need no value) run when the file is loaded, with exact positions; the same checks run
// again with the values, for what only a value can tell (a program named by a param, a value that is an option).
import { ESCAPE_HINT, scanRefs, substitute, type RefPiece } from './refs.js';
import { analyseShell, type ShellContext, type ShellWord } from './shell-lexer.js';
import { codeRefusals, type ArgWord } from './shell-interpreters.js';

export { ESCAPE_HINT };

/** The hint of a reference refused for where it stands in a shell line. */
export const UNSAFE_HINT =
  'pass the value through `env:` (`env: {X: "${x}"}`) and write "$X" there instead, or use the argv form `cmd: [prog, arg, "${x}"]`; if this `${…}` is meant for the shell, write `$${`';

/** The hint of a reference refused because a program would run it as code. */
export const CODE_HINT =
  'pass the value through `env:` (`env: {X: "${x}"}`) and read it from the environment in the script, or pass it as an argument after the script (`sh -c \'… "$1" …\' sh "${x}"`); if this `${…}` is meant for the script itself, write `$${`';

/** A problem with one reference: where it is in the text (`start`..`end`) and why. */
export interface RefProblem {
  start: number;
  end: number;
  kind: 'unsafe' | 'code' | 'unterminated';
  why: string;
}

/** `value` quoted for the place it stands in a /bin/sh line. */
export function quoteFor(context: ShellContext, value: string): string {
  switch (context) {
    case 'unquoted':
      return `'${value.replace(/'/g, `'\\''`)}'`;
    case 'single':
      return value.replace(/'/g, `'\\''`);
    case 'double':
      return value.replace(/[$`"\\]/g, (c) => `\\${c}`);
  }
}

/** Unterminated references of any text (`${` with no `}`). */
export function unterminated(text: string): RefProblem[] {
  return scanRefs(text)
    .filter((p) => p.kind === 'unterminated')
    .map((p) => ({ start: p.start, end: p.end, kind: 'unterminated', why: `\`${text.slice(p.start, Math.min(p.end, p.start + 20))}\` has no closing \`}\`` }));
}

type Ref = Extract<RefPiece, { kind: 'ref' }>;

/** Text of a word for the interpreter checks: values in (or `\0` before they are known). */
function wordOf(parts: (string | number)[], dynamic: boolean, valueOf: ((k: number) => string) | undefined): ArgWord {
  const refs = parts.some((p) => typeof p === 'number');
  const valueFirst = typeof parts[0] === 'number';
  if (dynamic) return { refs, valueFirst };
  return { text: parts.map((p) => (typeof p === 'number' ? (valueOf ? valueOf(p) : '\0') : p)).join(''), refs, valueFirst };
}

/**
 * A `shell: true` line: the references that cannot be given a value safely, and (with `valueOf`, by reference index)
 * the line with the values quoted in. Without `valueOf` only what the text alone shows is checked.
 */
export function shellLine(text: string, valueOf?: (ref: Ref, index: number) => string): { problems: RefProblem[]; text?: string } {
  const { sites, commands } = analyseShell(text);
  const problems: RefProblem[] = unterminated(text);
  const refsRefused = new Set<number>();
  sites.forEach((s, k) => {
    if (s.refusal === undefined) return;
    refsRefused.add(k);
    problems.push({ start: s.start, end: s.end, kind: 'unsafe', why: s.refusal });
  });
  const value = valueOf && ((k: number) => valueOf({ kind: 'ref', start: sites[k].start, end: sites[k].end, name: sites[k].name }, k));
  for (const words of commands) {
    for (const { index, why } of codeRefusals(words.map((w: ShellWord) => wordOf(w.parts, w.dynamic, value)))) {
      for (const p of words[index].parts) {
        if (typeof p !== 'number' || refsRefused.has(p)) continue;
        refsRefused.add(p);
        problems.push({ start: sites[p].start, end: sites[p].end, kind: 'code', why });
      }
    }
  }
  problems.sort((a, b) => a.start - b.start);
  if (!value || problems.length > 0) return { problems };
  return { problems, text: substitute(text, (_ref, k) => quoteFor(sites[k].context!, value(k))) };
}

/**
 * An argv (a list, or a string split into words): the words whose references a program among them would run as code
 * (by word index), checked on the text alone or, with `valueOf`, on the values.
 */
export function argvCodeWords(words: string[], valueOf?: (ref: Ref, word: number) => string): { index: number; why: string }[] {
  const argWords = words.map((w, i): ArgWord => {
    const pieces = scanRefs(w);
    const refs = pieces.some((p) => p.kind === 'ref');
    const text = substitute(w, (ref) => (valueOf ? valueOf(ref, i) : '\0'));
    return { text, refs, valueFirst: pieces[0]?.kind === 'ref' };
  });
  return codeRefusals(argWords);
}
