// Two teammates pushing experiments at once lose neither. Each push is driven step by step through a backend whose
// index reads and writes wait on promises the test opens (no sleeps): read of A, read of B, write of A, write of B.
// On a folder remote (which lists) the index ends without A, as the race makes it, and `exp pull` with no names still
// brings both (the listing of experiment objects), then repairs the index. On a store that cannot list (as HTTP),
// A's push reads the index back after B's write and writes the union again.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { cleanupAll, makeWorkspace, tempDir } from '../helpers/workspace.js';
import { FolderBackend } from '../../runner/store/remote/folder.js';
import { Remote } from '../../runner/store/remote/remote.js';
import type { Backend, Namespace } from '../../runner/store/remote/backend.js';
import { EXPERIMENTS_INDEX_KEY, addToIndex, indexedNames, putExperiment, remoteExperimentNames } from '../../runner/store/remote/experiments.js';

const KEY = 'race-signing-key';

function deferred(): { p: Promise<void>; open: () => void } {
  let open!: () => void;
  const p = new Promise<void>((resolve) => (open = resolve));
  return { p, open };
}

/** Hooks around the n-th read and write of the index (counted from 0). */
interface Hooks {
  beforeGet?: (n: number) => Promise<void>;
  afterGet?: (n: number) => void;
  beforePut?: (n: number) => Promise<void>;
  afterPut?: (n: number) => void;
}

/** The folder backend, its index reads and writes hooked; without `list` when `canList` is false (as HTTP). */
function hooked(inner: FolderBackend, hooks: Hooks, canList: boolean): Backend {
  let gets = 0;
  let puts = 0;
  const backend: Backend = {
    describe: () => inner.describe(),
    has: (ns, key) => inner.has(ns, key),
    download: (ns, key, file) => inner.download(ns, key, file),
    upload: (ns, key, file, size) => inner.upload(ns, key, file, size),
    async getBytes(ns: Namespace, key: string) {
      if (key !== EXPERIMENTS_INDEX_KEY) return inner.getBytes(ns, key);
      const n = gets++;
      await hooks.beforeGet?.(n);
      const got = await inner.getBytes(ns, key);
      hooks.afterGet?.(n);
      return got;
    },
    async putBytes(ns: Namespace, key: string, data: Buffer) {
      if (key !== EXPERIMENTS_INDEX_KEY) return inner.putBytes(ns, key, data);
      const n = puts++;
      await hooks.beforePut?.(n);
      await inner.putBytes(ns, key, data);
      hooks.afterPut?.(n);
    },
  };
  if (canList) backend.list = (ns, prefix) => inner.list(ns, prefix);
  return backend;
}

const record = (name: string) => ({
  schemaVersion: 1,
  name,
  status: 'ok',
  exitCode: 0,
  commit: null,
  params: { 'make.level': name.length },
  changed: { 'make.level': name.length },
  metrics: { 'out/m.json': { level: name.length } },
  stages: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  durationMs: 1,
});

/** A push as `exp push` makes one: the experiment's object, then its name added to the index. */
async function push(remote: Remote, name: string): Promise<void> {
  await putExperiment(remote, record(name));
  await addToIndex(remote, [name]);
}

describe('cli: two exp pushes at once', function () {
  this.timeout(120_000);
  after(cleanupAll);

  it('folder remote: the index loses A to the race, and `exp pull` still gets both through the listing, then repairs the index', async () => {
    const folder = path.join(tempDir('exp-race'), 'remote');
    mkdirSync(folder);
    const readA = deferred();
    const readB = deferred();
    const wroteA = deferred();
    const doneA = deferred();
    // A: read; (B reads); write; reads back (before B writes: it sees its own name and is done).
    const a = new Remote(hooked(new FolderBackend(folder), { afterGet: (n) => n === 0 && readA.open(), beforePut: (n) => (n === 0 ? readB.p : Promise.resolve()), afterPut: (n) => n === 0 && wroteA.open() }, true), { signingKey: KEY });
    // B: read after A's read; write after A is done (so its index, without A, is the last written).
    const b = new Remote(hooked(new FolderBackend(folder), { beforeGet: (n) => (n === 0 ? readA.p : Promise.resolve()), afterGet: (n) => n === 0 && readB.open(), beforePut: (n) => (n === 0 ? doneA.p : Promise.resolve()) }, true), { signingKey: KEY });
    await Promise.all([push(a, 'alpha').then(doneA.open), push(b, 'bravo')]);
    await wroteA.p;
    const plain = new Remote(new FolderBackend(folder), { signingKey: KEY });
    expect(await indexedNames(plain)).to.deep.equal(['bravo']); // the race happened: A's name is not in the index

    const ws = makeWorkspace({ yaml: 'version: 1\nstages:\n  make:\n    cmd: node -e 0\n    params: {level: 1}\n' });
    const env = { PIPELINE_REMOTE: folder, PIPELINE_REMOTE_SIGNING_KEY: KEY };
    const pulled = await ws.run(['exp', 'pull'], { env });
    expect(pulled.exitCode, pulled.stderr).to.equal(0);
    expect(pulled.stdout).to.contain('pulled 2 experiment(s)');
    const shown = JSON.parse((await ws.run(['exp', 'show', '--json'])).stdout) as { experiments: { name: string; pulled?: { signed: boolean } }[] };
    expect(shown.experiments.map((e) => e.name)).to.deep.equal(['workspace', 'alpha', 'bravo']);
    expect(shown.experiments.slice(1).every((e) => e.pulled?.signed === true)).to.equal(true);
    expect(await indexedNames(plain)).to.deep.equal(['alpha', 'bravo']);
  });

  it('a store that cannot list: the push that lost the race reads the index back and writes the union', async () => {
    const folder = path.join(tempDir('exp-race-nolist'), 'remote');
    mkdirSync(folder);
    const readA = deferred();
    const readB = deferred();
    const wroteA = deferred();
    const wroteB = deferred();
    // read of A, read of B, write of A, write of B, then A's read-back (which finds B's index without A).
    const a = new Remote(hooked(new FolderBackend(folder), { afterGet: (n) => n === 0 && readA.open(), beforeGet: (n) => (n === 1 ? wroteB.p : Promise.resolve()), beforePut: (n) => (n === 0 ? readB.p : Promise.resolve()), afterPut: (n) => n === 0 && wroteA.open() }, false), { signingKey: KEY });
    const b = new Remote(hooked(new FolderBackend(folder), { beforeGet: (n) => (n === 0 ? readA.p : Promise.resolve()), afterGet: (n) => n === 0 && readB.open(), beforePut: (n) => (n === 0 ? wroteA.p : Promise.resolve()), afterPut: (n) => n === 0 && wroteB.open() }, false), { signingKey: KEY });
    await Promise.all([push(a, 'alpha'), push(b, 'bravo')]);
    const plain = new Remote(hooked(new FolderBackend(folder), {}, false), { signingKey: KEY });
    expect(await remoteExperimentNames(plain)).to.deep.equal({ names: ['alpha', 'bravo'], problems: [] });
  });
});
