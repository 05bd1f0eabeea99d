// No source file of the engine or the stages grows past 400 lines: a file that long holds several concerns and
// is split along them (one concept per file).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { repoRoot } from '../helpers/workspace.js';

const MAX_LINES = 400;

describe('architecture: file size', () => {
  it(`no source file in runner/ or stages/ has more than ${MAX_LINES} lines`, async () => {
    const files = await glob(['runner/**/*.ts', 'stages/**/*.ts'], { cwd: repoRoot });
    expect(files.length).to.be.greaterThan(10);
    const long = files
      .map((f) => ({ f, lines: readFileSync(path.join(repoRoot, f), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ f, lines }) => `${f}: ${lines} lines`);
    expect(long.sort(), `files over ${MAX_LINES} lines:\n  ${long.join('\n  ')}\n`).to.deep.equal([]);
  });
});
