// `${name}` references and the `$${` escape, found the same way in every key that interpolates (`deps`, `cmd`, `env`,
// and any key that takes interpolation later): one scanner, so what is a reference is never decided twice.
//
// - `${` … `}` is a reference to the param named by the text between the braces (any text: a name the stage has no
//   param for is reported where the text is checked, with a hint naming the escape).
// - `$${` is a literal `${` (as Docker Compose writes it): `$${HOME:-/tmp}` reaches the shell as `${HOME:-/tmp}`.
//   Read from the left: `$${x}` is the text `${x}`, never `$` followed by a reference.
// - A `${` with no `}` after it is an unterminated reference.

/** One piece of a text: literal text, the escape (`$${`, standing for `${`), or a reference. */
export type RefPiece =
  | { kind: 'text'; start: number; end: number }
  | { kind: 'escape'; start: number; end: number }
  | { kind: 'ref'; start: number; end: number; name: string }
  | { kind: 'unterminated'; start: number; end: number };

/** The hint every message about a `${` that is not a param gives. */
export const ESCAPE_HINT = 'to write a literal `${` (a shell expansion such as `${HOME:-/tmp}`, a JS template literal), write `$${`';

/** True when the text has anything to interpolate or unescape (a reference or `$${`). */
export function hasRefs(text: string): boolean {
  return text.includes('${');
}

/** The piece that starts at `i` when it is an escape, a reference or an unterminated one; undefined for text. */
export function refAt(text: string, i: number): Exclude<RefPiece, { kind: 'text' }> | undefined {
  if (text[i] !== '$') return undefined;
  if (text[i + 1] === '$' && text[i + 2] === '{') return { kind: 'escape', start: i, end: i + 3 };
  if (text[i + 1] !== '{') return undefined;
  const close = text.indexOf('}', i + 2);
  if (close < 0) return { kind: 'unterminated', start: i, end: text.length };
  return { kind: 'ref', start: i, end: close + 1, name: text.slice(i + 2, close) };
}

/** The text cut into pieces, left to right; joined they cover it exactly. */
export function scanRefs(text: string): RefPiece[] {
  const pieces: RefPiece[] = [];
  let textStart = 0;
  let i = text.indexOf('$');
  while (i >= 0 && i < text.length) {
    const piece = refAt(text, i);
    if (piece === undefined) {
      i = text.indexOf('$', i + 1);
      continue;
    }
    if (textStart < i) pieces.push({ kind: 'text', start: textStart, end: i });
    pieces.push(piece);
    textStart = piece.end;
    i = text.indexOf('$', piece.end);
  }
  if (textStart < text.length) pieces.push({ kind: 'text', start: textStart, end: text.length });
  return pieces;
}

/** The references of a text. */
export function refsOf(text: string): Extract<RefPiece, { kind: 'ref' }>[] {
  return scanRefs(text).filter((p): p is Extract<RefPiece, { kind: 'ref' }> => p.kind === 'ref');
}

/**
 * The text with each reference replaced by `valueOf(ref, index among the references)` and each `$${` by `${`. An
 * unterminated reference stays as written (it is reported where the text is checked).
 */
export function substitute(text: string, valueOf: (ref: Extract<RefPiece, { kind: 'ref' }>, index: number) => string): string {
  let out = '';
  let n = 0;
  for (const p of scanRefs(text)) {
    if (p.kind === 'ref') out += valueOf(p, n++);
    else if (p.kind === 'escape') out += '${';
    else out += text.slice(p.start, p.end);
  }
  return out;
}
