// The list of paths a decision read (runner/core/read-set.ts): every path as path.resolve names it, whatever form it
// was added in, and every folder between the workspace's root and a file below it, however many files share them.
import { expect } from 'chai';
import path from 'node:path';
import { ReadSet } from '../../runner/core/read-set.js';

const FORMS = [
  '/w/a/b.txt',
  '/w/a//b.txt',
  '/w/a/./b.txt',
  '/w/x/../a/b.txt',
  '/w/a/b.txt/',
  '/w/a/b.txt/.',
  '/w/a/b.txt/..',
  '/w/a/.hidden',
  '/w/a/...',
  '/w/a/..b',
  '//w/a',
  '/',
  'rel/x',
  './rel/../y',
  '',
];

describe('ReadSet', () => {
  it('names each path as path.resolve does, whether or not it was already in that form', () => {
    for (const form of FORMS) {
      const reads = new ReadSet();
      reads.add('file', form);
      expect(reads.list(), form).to.deep.equal([path.resolve(form)]);
      expect(reads.has(path.resolve(form)), form).to.equal(true);
    }
  });

  it('adds every folder from the root down to each file, once, for files that share folders and those that do not', () => {
    const reads = new ReadSet();
    reads.addBelow('/w', 'out', '/w/build/a/x.json');
    reads.addBelow('/w', 'out', '/w/build/a/y.json');
    reads.addBelow('/w', 'dep', 'build/b/./z.csv');
    reads.addBelow('/w', 'code', '/elsewhere/lib.ts');
    expect(reads.list()).to.deep.equal(['/elsewhere/lib.ts', '/w/build', '/w/build/a', '/w/build/a/x.json', '/w/build/a/y.json', '/w/build/b', '/w/build/b/z.csv']);
    expect(reads.inputs().out).to.deep.equal(['/w/build/a/x.json', '/w/build/a/y.json']);
    expect(reads.inputs().dep).to.deep.equal(['/w/build/b/z.csv']);
  });

  it('walks a folder added as a file before (not through addBelow) up to the root', () => {
    const reads = new ReadSet();
    reads.add('out', '/w/build/a');
    reads.addBelow('/w', 'out', '/w/build/a/x.json');
    expect(reads.list()).to.deep.equal(['/w/build', '/w/build/a', '/w/build/a/x.json']);
  });
});
