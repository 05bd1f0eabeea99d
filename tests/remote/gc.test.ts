// `gc --remote` against pushes running at the same time and against records it cannot verify. The interleavings
// are forced with a backend that stops gc (or the push) at a chosen step until the test lets it go on — a handshake,
// not a race — and the end state is checked whole: no record on the remote names an object that is not there.
// Folder remote for the logic, S3 (real server) for the age refresh and two of the interleavings.
import { readdirSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { freshRemote, producer, type Kind, type TestRemote } from './helpers.js';
import type { Workspace } from '../helpers/workspace.js';
import { Cache, type RunRecord } from '../../runner/store/cache.js';
import type { Backend, ListedBlob, Namespace, ProgressFn } from '../../runner/store/remote/backend.js';
import type { Landed } from '../../runner/store/remote/ingest.js';
import { collectRemoteGarbage } from '../../runner/store/remote/gc.js';
import { Remote } from '../../runner/store/remote/remote.js';
import { RemoteSync, emptyStats } from '../../runner/store/remote/transfer.js';
import type { DirManifest } from '../../runner/store/hash.js';

const KEY = { PIPELINE_REMOTE_SIGNING_KEY: 'team-signing-key-0123' };
const HOUR = 3_600_000;

/** A gate the test opens: `wait()` blocks until `open()`; `reached` resolves when someone waits. */
class Gate {
  private release!: () => void;
  private arrived!: () => void;
  readonly opened = new Promise<void>((r) => (this.release = r));
  readonly reached = new Promise<void>((r) => (this.arrived = r));
  async wait(): Promise<void> {
    this.arrived();
    await this.opened;
  }
  open(): void {
    this.release();
  }
}

/** A backend that can stop at chosen steps: after listing `cas` (before yielding), before removing a `cas` blob, before writing a record. */
class Stoppable implements Backend {
  afterListingObjects?: Gate;
  beforeRemovingObject?: Gate;
  beforeWritingRecord?: Gate;
  constructor(private readonly inner: Backend) {}
  describe(): string {
    return this.inner.describe();
  }
  has(ns: Namespace, key: string): Promise<boolean> {
    return this.inner.has(ns, key);
  }
  download(ns: Namespace, key: string, file: string, p?: ProgressFn): Promise<Landed | undefined> {
    return this.inner.download(ns, key, file, p);
  }
  upload(ns: Namespace, key: string, file: string, size: number, p?: ProgressFn): Promise<void> {
    return this.inner.upload(ns, key, file, size, p);
  }
  getBytes(ns: Namespace, key: string): Promise<Buffer | undefined> {
    return this.inner.getBytes(ns, key);
  }
  async putBytes(ns: Namespace, key: string, data: Buffer): Promise<void> {
    const gate = ns === 'ac' ? this.beforeWritingRecord : undefined;
    if (gate) this.beforeWritingRecord = undefined;
    await gate?.wait();
    await this.inner.putBytes(ns, key, data);
  }
  async *list(ns: Namespace): AsyncIterable<ListedBlob> {
    const items: ListedBlob[] = [];
    for await (const b of this.inner.list!(ns)) items.push(b);
    const gate = ns === 'cas' ? this.afterListingObjects : undefined;
    if (gate) this.afterListingObjects = undefined;
    await gate?.wait();
    yield* items;
  }
  async remove(ns: Namespace, key: string): Promise<void> {
    const gate = ns === 'cas' ? this.beforeRemovingObject : undefined;
    if (gate) this.beforeRemovingObject = undefined;
    await gate?.wait();
    await this.inner.remove!(ns, key);
  }
  modified(ns: Namespace, key: string): Promise<Date | undefined> {
    return this.inner.modified!(ns, key);
  }
  touch(ns: Namespace, key: string): Promise<boolean> {
    return this.inner.touch!(ns, key);
  }
}

/** Every record on the remote with every object it names (outs, folder manifests and their files, log): the problems. */
async function dangling(backend: Backend): Promise<string[]> {
  const problems: string[] = [];
  for await (const blob of backend.list!('ac')) {
    const record = JSON.parse((await backend.getBytes('ac', blob.key))!.toString('utf8')) as RunRecord;
    const names = [...record.outs.map((o) => o.hash), ...(record.log ? [record.log] : [])];
    for (const o of record.outs.filter((x) => x.type === 'dir')) {
      const m = await backend.getBytes('cas', o.hash);
      if (m) names.push(...(JSON.parse(m.toString('utf8')) as DirManifest).entries.map((e) => e.hash));
    }
    for (const h of names) if (!(await backend.has('cas', h))) problems.push(`record ${blob.key.slice(0, 12)} names missing object ${h.slice(0, 12)}`);
  }
  return problems;
}

/** Make every blob of a folder remote (or only its objects) as old as the epoch. */
function age(remote: TestRemote, only?: Namespace): void {
  for (const e of readdirSync(path.join(remote.url, only ?? ''), { recursive: true, withFileTypes: true })) {
    if (e.isFile()) utimesSync(path.join(e.parentPath, e.name), new Date(0), new Date(0));
  }
}

/** A producer that ran and pushed; its records, as the push sends them. */
async function pushed(remote: TestRemote, env: Record<string, string | undefined> = {}): Promise<{ ws: Workspace; records: RunRecord[] }> {
  const ws = producer();
  const r = await ws.run(['run', '--push', '-q'], { env: { ...remote.env, ...env } });
  expect(r.exitCode, r.stderr).to.equal(0);
  const cache = new Cache(ws.cacheDir);
  const records = ['make', 'use'].map((s) => cache.readRun(ws.lock().stages[s].fingerprint)!);
  return { ws, records };
}

async function removeRecords(backend: Backend, records: RunRecord[]): Promise<void> {
  for (const r of records) await backend.remove!('ac', r.fingerprint);
}

describe('gc --remote and concurrent pushes (folder)', () => {
  it('a push that finds an old object makes it new again, so gc keeps it', async () => {
    const remote = await freshRemote('folder');
    const { ws, records } = await pushed(remote);
    await removeRecords(remote.backend, records);
    age(remote);
    const push = await ws.run(['push'], { env: remote.env });
    expect(push.exitCode, push.stderr).to.equal(0);
    expect(push.stdout).to.match(/^pushed 0 objects \(0\.0 MiB\) and 2 run records /m);
    for await (const b of remote.backend.list!('cas')) expect(b.modified.getTime(), b.key).to.be.greaterThan(0);
    const gc = await ws.run(['gc', '--remote', '--older-than', '1d'], { env: remote.env });
    expect(gc.stdout).to.match(/^removed 0 objects .* and 0 run records/);
    expect(await dangling(remote.backend)).to.deep.equal([]);
    ws.cleanup();
  });

  it('gc listed an object as old, then a push relied on it: gc reads its age again and keeps it', async () => {
    const remote = await freshRemote('folder');
    const { ws, records } = await pushed(remote);
    await removeRecords(remote.backend, records);
    age(remote);
    const gcSide = new Stoppable(remote.backend);
    gcSide.afterListingObjects = new Gate();
    const gate = gcSide.afterListingObjects;
    const gc = collectRemoteGarbage(new Remote(gcSide), { olderThanMs: 24 * HOUR, keep: new Set(), dryRun: false });
    await gate.reached;
    const sync = new RemoteSync(new Remote(remote.backend), new Cache(ws.cacheDir));
    for (const r of records) expect(await sync.pushResult(r, emptyStats())).to.equal(true);
    gate.open();
    const result = await gc;
    expect(result.removedObjects).to.equal(0);
    expect(await dangling(remote.backend)).to.deep.equal([]);
    ws.cleanup();
  });

  it('an object gc is removing while a push writes a record naming it: gc removes that record too', async () => {
    const remote = await freshRemote('folder');
    const { ws, records } = await pushed(remote);
    await removeRecords(remote.backend, records);
    age(remote);
    const gcSide = new Stoppable(remote.backend);
    gcSide.beforeRemovingObject = new Gate();
    const gate = gcSide.beforeRemovingObject;
    const gc = collectRemoteGarbage(new Remote(gcSide), { olderThanMs: 24 * HOUR, keep: new Set(), dryRun: false });
    await gate.reached;
    const sync = new RemoteSync(new Remote(remote.backend), new Cache(ws.cacheDir));
    for (const r of records) await sync.pushResult(r, emptyStats());
    gate.open();
    const result = await gc;
    expect(result.removedObjects, 'the object gc had decided on').to.equal(1);
    // The object may be named by both records (the two stages' empty logs are one object).
    expect(result.undone).to.have.length.at.least(1);
    for (const u of result.undone) expect(u).to.match(/^run record [0-9a-f]{12} \(stage `(make|use)`\), written during this gc, named object [0-9a-f]{12} that it removed: removed too/);
    expect(await dangling(remote.backend)).to.deep.equal([]);
    ws.cleanup();
  });
});

for (const kind of ['folder', 's3'] as Kind[]) {
  describe(`gc --remote with a cut-off shorter than a push (${kind})`, () => {
    it('gc runs whole between a push finding its objects present and writing its record: the push uploads again what gc removed', async () => {
      const remote = await freshRemote(kind);
      const { ws, records } = await pushed(remote);
      await removeRecords(remote.backend, records);
      const pushSide = new Stoppable(remote.backend);
      pushSide.beforeWritingRecord = new Gate();
      const gate = pushSide.beforeWritingRecord;
      const sync = new RemoteSync(new Remote(pushSide), new Cache(ws.cacheDir));
      const stats = emptyStats();
      const push = sync.pushResult(records[0], stats);
      await gate.reached;
      // Everything is older than the cut-off for this gc (its clock is two hours ahead, its cut-off one hour).
      const result = await collectRemoteGarbage(new Remote(remote.backend), { olderThanMs: HOUR, keep: new Set(), dryRun: false, now: new Date(Date.now() + 2 * HOUR) });
      expect(result.removedObjects).to.be.greaterThan(0);
      gate.open();
      expect(await push).to.equal(true);
      expect(await remote.backend.has('ac', records[0].fingerprint), 'the record was written').to.equal(true);
      expect(stats.objects, 'objects uploaded again after the record').to.be.greaterThan(0);
      expect(await dangling(remote.backend)).to.deep.equal([]);
      ws.cleanup();
    });
  });
}

describe('gc --remote run with another signing key (folder)', () => {
  it('never removes young records it cannot verify, nor their objects; names them', async () => {
    const remote = await freshRemote('folder');
    const { ws } = await pushed(remote, KEY);
    age(remote, 'cas');
    ws.remove('pipeline.lock');
    for (const key of [{ PIPELINE_REMOTE_SIGNING_KEY: 'another-key' }, { PIPELINE_REMOTE_SIGNING_KEY: undefined }]) {
      const gc = await ws.run(['gc', '--remote', '--older-than', '1d'], { env: { ...remote.env, ...key } });
      expect(gc.exitCode, gc.stderr).to.equal(0);
      expect(gc.stdout).to.match(/^removed 0 objects \(0\.0 MiB\) and 0 run records .*; kept [1-9][0-9]* objects and 2 run records/);
      if (key.PIPELINE_REMOTE_SIGNING_KEY) {
        expect(gc.stderr.match(/warning: refused run record [0-9a-f]{12} from .*: its signature does not match PIPELINE_REMOTE_SIGNING_KEY \(kept, with its objects\)/g)).to.have.length(2);
      }
    }
    expect(await dangling(remote.backend)).to.deep.equal([]);
    ws.cleanup();
  });
});

describe('gc --remote: S3 refreshes an object a push relies on (real server)', () => {
  it('touch makes an object new again, keeping its bytes', async () => {
    const remote = await freshRemote('s3');
    const { ws, records } = await pushed(remote);
    const hash = records[0].outs[0].hash;
    const before = (await remote.backend.modified!('cas', hash))!.getTime();
    const bytes = await remote.backend.getBytes('cas', hash);
    // S3 times have a resolution of a second: touched again until the time moves (each touch is one request).
    let after = before;
    while (after <= before) {
      expect(await remote.backend.touch!('cas', hash)).to.equal(true);
      after = (await remote.backend.modified!('cas', hash))!.getTime();
    }
    expect(await remote.backend.getBytes('cas', hash)).to.deep.equal(bytes);
    expect(await remote.backend.touch!('cas', 'f'.repeat(64))).to.equal(false);
    const gc = await ws.run(['gc', '--remote', '--older-than', '1d'], { env: remote.env });
    expect(gc.stdout).to.match(/^removed 0 objects .* and 0 run records/);
    ws.cleanup();
  });
});
