// "Did you mean …?" for a misspelt name (a column, a model): the closest candidate by edit distance.
import { distance } from 'fastest-levenshtein';

/** The closest candidate within a third of the word's length (at least 2 edits), or undefined. */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
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

/** ` (did you mean \`x\`?)` to append to a message, or '' when nothing is close. */
export function suggestion(word: string, candidates: Iterable<string>): string {
  const s = closestName(word, candidates);
  return s === undefined ? '' : ` (did you mean \`${s}\`?)`;
}
