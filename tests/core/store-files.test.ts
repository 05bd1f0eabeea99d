// Storing a stage's outputs: a few files flushed by concurrent fsyncs, many by one syncfs; either way every object
// lands under its hash with its bytes, and no temp file is left beside it.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flushFiles } from '../../runner/core/atomic.js';
import { Cache } from '../../runner/store/cache.js';
import { hashBytes } from '../../runner/store/hash.js';

/** Every file under a folder, relative, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('store: storing files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'store-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const count of [1, 3, 8, 9, 12]) {
    it(`${count} file(s): each object under its hash with its bytes, nothing else in the store`, async () => {
      const cache = new Cache(path.join(dir, 'cache'));
      const files = Array.from({ length: count }, (_, i) => {
        const source = path.join(dir, `out-${i}.bin`);
        const bytes = Buffer.alloc(1000 + i * 4096, i + 1);
        writeFileSync(source, bytes);
        return { source, hash: hashBytes(bytes), bytes };
      });
      await cache.storeFiles(files.map(({ source, hash }) => ({ source, hash })));
      for (const f of files) expect(readFileSync(cache.objectPath(f.hash)).equals(f.bytes)).to.equal(true);
      const expected = files.map((f) => path.relative(path.join(dir, 'cache', 'objects'), cache.objectPath(f.hash))).sort();
      expect(filesUnder(path.join(dir, 'cache', 'objects'))).to.deep.equal(expected);
    });
  }

  it('a flush that fails rejects naming its file, after every flush asked for has ended', async () => {
    const present = path.join(dir, 'present');
    writeFileSync(present, 'x');
    const missing = path.join(dir, 'missing');
    const err = await flushFiles([present, missing, present]).then(
      () => undefined,
      (e: NodeJS.ErrnoException & { flushing?: string }) => e,
    );
    expect(err?.code).to.equal('ENOENT');
    expect(err?.flushing).to.equal(missing);
    await flushFiles([present]);
  });
});
