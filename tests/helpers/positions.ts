// Positions in a text as diagnostics give them.

/** 1-based `line:col` of the `nth` occurrence of `token`. */
export function at(text: string, token: string, nth = 1): string {
  let i = -1;
  for (let k = 0; k < nth; k++) {
    i = text.indexOf(token, i + 1);
    if (i < 0) throw new Error(`${token} not in the text`);
  }
  const lines = text.slice(0, i).split('\n');
  return `${lines.length}:${lines[lines.length - 1].length + 1}`;
}
