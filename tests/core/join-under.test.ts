// joinUnder (runner/core/paths.ts), the workspace's path join without path.join's normalising for a plain relative
// path: it must give exactly what path.join gives for every form a path can take, plain or not.
import { expect } from 'chai';
import path from 'node:path';
import { joinUnder } from '../../runner/core/paths.js';

const ROOTS = ['/w', '/w/sub', '/', '/w/', '/w//x', '/w/./x', 'rel'];
const RELS = [
  'a', 'a/b.ts', '.a', 'a/.b', 'a..b', '...', 'a/...', 'a/..b/c', 'a b/c', 'ü/ß',
  '', '.', '..', './a', 'a/./b', 'a/../b', '../a', 'a/..', 'a/.', 'a//b', 'a/', '/a', '//a', 'a\\b', 'a/b/../../..',
];

describe('joinUnder', () => {
  it('gives what path.join gives, for plain paths and for every form path.join would change', () => {
    for (const root of ROOTS) for (const rel of RELS) expect(joinUnder(root, rel), `${root} + ${rel}`).to.equal(path.join(root, rel));
  });
});
