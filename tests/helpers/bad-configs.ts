// The bad-config corpus (tests/fixtures/bad-configs): each NAME.yaml with its NAME.expect — the position
// (`at: "L:C"`), a phrase of the message, and the `--set` arguments when the fault is on the command line.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const corpusDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/bad-configs');

export const corpusCases: string[] = readdirSync(corpusDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -'.yaml'.length))
  .sort();

export interface Expectation {
  at?: string;
  message: string;
  set?: string[];
}

export function expectation(name: string): Expectation {
  return parse(readFileSync(path.join(corpusDir, `${name}.expect`), 'utf8')) as Expectation;
}
