// The kept output of `exp show` (store/experiments-output.ts): its key changes with every record file's identity
// (added, removed, rewritten behind its back with the same size and its mtime put back), with the inputs (workspace
// row, flags); none is made while a record changed within the racy window (passed with a later clock, not by
// waiting); a kept output is returned only under its own key, and a damaged one is ignored.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { keepOutput, outputKey, readOutput } from '../../runner/store/experiments-output.js';

describe('exp show: the kept output', () => {
  let root: string;
  let dir: string;
  const later = () => Date.now() + 10_000;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'exp-output-'));
    dir = path.join(root, '.pipeline', 'experiments');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'a.json'), '{"v":1}');
    writeFileSync(path.join(dir, 'b.json'), '{"v":2}');
  });
  afterEach(() => {
    chmodSync(dir, 0o755);
    rmSync(root, { recursive: true, force: true });
  });

  it('has no key while a record changed within the racy window, and none without records', () => {
    expect(outputKey(root, ['x'])).to.equal(undefined);
    expect(outputKey(path.join(root, 'nowhere'), ['x'], later())).to.equal(undefined);
  });

  it('keys on every record file and on the inputs', () => {
    const key = outputKey(root, ['ws', false], later())!;
    expect(key).to.match(/^[0-9a-f]{64}$/);
    expect(outputKey(root, ['ws', false], later())).to.equal(key);
    expect(outputKey(root, ['ws', true], later()), 'another flag').not.to.equal(key);
    expect(outputKey(root, ['ws2', false], later()), 'another workspace row').not.to.equal(key);
    writeFileSync(path.join(dir, 'notes.txt'), 'not a record');
    expect(outputKey(root, ['ws', false], later()), 'a file that is not a record').to.equal(key);
    writeFileSync(path.join(dir, 'c.json'), '{"v":3}');
    const added = outputKey(root, ['ws', false], later());
    expect(added, 'a record added').not.to.equal(key);
    rmSync(path.join(dir, 'c.json'));
    expect(outputKey(root, ['ws', false], later()), 'and removed again').to.equal(key);
    const file = path.join(dir, 'a.json');
    const { atime, mtime } = statSync(file);
    writeFileSync(file, '{"v":9}'); // same size, other bytes
    utimesSync(file, atime, mtime); // mtime put back: the ctime still moved
    expect(outputKey(root, ['ws', false], later()), 'a record rewritten behind its back').not.to.equal(key);
  });

  it('returns a kept output only under its key; a damaged one is ignored; a read-only folder keeps none', () => {
    const key = outputKey(root, [1], later())!;
    expect(readOutput(root, key)).to.equal(undefined);
    keepOutput(root, key, { stdout: 'table\n', stderr: 'skipped x\n' });
    expect(readOutput(root, key)).to.deep.equal({ stdout: 'table\n', stderr: 'skipped x\n' });
    expect(readOutput(root, 'f'.repeat(64))).to.equal(undefined);
    const file = path.join(dir, '.show-output');
    for (const bad of ['', '{', 'null', '[]', JSON.stringify({ key, stdout: 1, stderr: '' }), JSON.stringify({ key })]) {
      writeFileSync(file, bad);
      expect(readOutput(root, key), bad).to.equal(undefined);
    }
    rmSync(file);
    chmodSync(dir, 0o555);
    if (process.getuid?.() !== 0) {
      keepOutput(root, key, { stdout: 'x', stderr: '' });
      expect(readOutput(root, key)).to.equal(undefined);
    }
    expect(readFileSync(path.join(dir, 'a.json'), 'utf8')).to.equal('{"v":1}');
  });
});
