// What an unsigned (or wrongly signed) remote can do to a workspace, against a folder remote and the real servers:
// a well-formed forged record naming other bytes for an out is refused and named where pipeline.lock records the
// fingerprint (run --pull restores pipeline.lock's outs, pull keeps none of the record), is never written to the
// local run cache unsigned, and — without pipeline.lock — is used by the run that asked for it only. Turning signing
// on for an existing remote: push replaces unsigned records with signed copies; pull with a wrong key restores
// pipeline.lock's outs and says so.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { allText, cloneOf, freshRemote, producer, ran, type Kind, type TestRemote } from './helpers.js';
import { sha256, type Workspace } from '../helpers/workspace.js';

const KEY = { PIPELINE_REMOTE_SIGNING_KEY: 'team-signing-key-0123' };
const EVIL = Buffer.from('forged content\n');

/**
 * Rewrite `stage`'s record on the remote so that `out` names `EVIL` (uploaded under its own, valid hash): a
 * well-formed record, unsigned. Returns the forged hash.
 */
async function forge(remote: TestRemote, ws: Workspace, stage: string, out: string): Promise<string> {
  const fp: string = ws.lock().stages[stage].fingerprint;
  const hash = sha256(EVIL);
  await remote.backend.putBytes('cas', hash, EVIL);
  const record = JSON.parse((await remote.backend.getBytes('ac', fp))!.toString('utf8'));
  record.outs = record.outs.map((o: { path: string }) => (o.path === out ? { ...o, hash, size: EVIL.length } : o));
  delete record.signature;
  await remote.backend.putBytes('ac', fp, Buffer.from(JSON.stringify(record)));
  return hash;
}

function runRecordFile(ws: Workspace, fp: string): string {
  return path.join(ws.cacheDir, 'runs', fp.slice(0, 2), `${fp.slice(2)}.json`);
}

for (const kind of ['folder', 'http', 's3'] as Kind[]) {
  describe(`remote trust: ${kind}`, () => {
    it('run --pull: a forged record that disagrees with pipeline.lock is refused and named; pipeline.lock’s outs are restored; nothing runs', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      expect((await ws.run(['run', '--push', '-q'], { env: remote.env })).exitCode).to.equal(0);
      const fp: string = ws.lock().stages.make.fingerprint;
      const evil = await forge(remote, ws, 'make', 'out/data.txt');
      const clone = cloneOf(ws);
      const lockBefore = clone.read('pipeline.lock');
      const r = await clone.run(['run', '--pull', '--json'], { env: remote.env });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(ran(r.json)).to.deep.equal([]);
      expect(r.stderr).to.include(
        `warning: remote: \`make\`: refused run record ${fp.slice(0, 12)} from ${remote.backend.describe()}: its outs disagree with pipeline.lock ` +
          `(\`out/data.txt\`: ${ws.lock().stages.make.outs[0].hash.slice(0, 12)} in pipeline.lock, ${evil.slice(0, 12)} in the record); ` +
          'the outs recorded in pipeline.lock were pulled instead',
      );
      expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
      expect(clone.read('pipeline.lock')).to.equal(lockBefore);
      expect(allText(path.join(clone.cacheDir, 'runs'))).to.not.include(evil);
      expect(existsSync(clone.objectPath(evil)), 'the forged object is never downloaded').to.equal(false);
      ws.cleanup();
      clone.cleanup();
    });

    it('pull: the forged record is refused and named, pipeline.lock’s outs restored, and no forged record enters the local run cache', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      expect((await ws.run(['run', '--push', '-q'], { env: remote.env })).exitCode).to.equal(0);
      const evil = await forge(remote, ws, 'make', 'out/data.txt');
      const clone = cloneOf(ws);
      const pull = await clone.run(['pull'], { env: remote.env });
      expect(pull.exitCode).to.equal(1);
      expect(pull.stderr).to.match(/error: `make`: refused run record [0-9a-f]{12} from .*: its outs disagree with pipeline\.lock \(`out\/data\.txt`: .*; the outs pipeline\.lock records were restored all the same/);
      expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
      expect(allText(path.join(clone.cacheDir, 'runs'))).to.not.include(evil);
      // The run cache restores what pipeline.lock said, never the forged bytes.
      clone.remove('out/data.txt');
      const run = await clone.run(['run', '--json']);
      expect(ran(run.json)).to.deep.equal([]);
      expect(clone.read('out/data.txt')).to.equal(ws.read('out/data.txt'));
      ws.cleanup();
      clone.cleanup();
    });
  });
}

describe('remote trust: what an unsigned remote decides without pipeline.lock (folder)', () => {
  it('run --pull uses its record for that run only: nothing is written to the run cache, a later run does not restore from it', async () => {
    const remote = await freshRemote('folder');
    const ws = producer();
    expect((await ws.run(['run', '--push', '-q'], { env: remote.env })).exitCode).to.equal(0);
    const fp: string = ws.lock().stages.make.fingerprint;
    const evil = await forge(remote, ws, 'make', 'out/data.txt');
    const clone = cloneOf(ws);
    clone.remove('pipeline.lock');
    const r = await clone.run(['run', '--pull', '--json'], { env: remote.env });
    expect(r.exitCode, r.stderr).to.equal(0);
    // The documented limit: without pipeline.lock, --pull takes the remote's word for this run.
    expect(clone.read('out/data.txt')).to.equal(EVIL.toString());
    expect(existsSync(runRecordFile(clone, fp)), 'an unsigned record is lent, not stored').to.equal(false);
    expect(allText(path.join(clone.cacheDir, 'runs'))).to.not.include(evil);
    // Without --pull (and without the lock the pull wrote), nothing trusted names the forged bytes: the stage runs.
    clone.remove('pipeline.lock');
    clone.remove('out/data.txt');
    const again = await clone.run(['run', '--json']);
    expect(ran(again.json)).to.include('make');
    expect(clone.read('out/data.txt')).to.match(/^data [0-9a-f]{16}\n$/);
    ws.cleanup();
    clone.cleanup();
  });

  it('a folder manifest that is not one (valid hash, lying content) is refused and named; the stage runs, no internal error', async () => {
    const remote = await freshRemote('folder');
    const ws = producer();
    expect((await ws.run(['run', '--push', '-q'], { env: remote.env })).exitCode).to.equal(0);
    const fp: string = ws.lock().stages.make.fingerprint;
    const bogus = Buffer.from(JSON.stringify({ type: 'dir', entries: 5 }));
    const hash = sha256(bogus);
    await remote.backend.putBytes('cas', hash, bogus);
    const record = JSON.parse((await remote.backend.getBytes('ac', fp))!.toString('utf8'));
    record.outs = record.outs.map((o: { path: string }) => (o.path === 'out/parts' ? { ...o, hash } : o));
    await remote.backend.putBytes('ac', fp, Buffer.from(JSON.stringify(record)));
    const clone = cloneOf(ws);
    clone.remove('pipeline.lock');
    const r = await clone.run(['run', '--pull', '--json'], { env: remote.env });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.not.include('internal error');
    expect(r.stderr).to.match(/warning: remote: `make`: refused the manifest of out\/parts \([0-9a-f]{12}\) from .*: the manifest is not a folder manifest; the stage ran instead/);
    expect(ran(r.json)).to.include('make');
    ws.cleanup();
    clone.cleanup();
  });

  it('a record signed with the key is kept in the run cache like a result made here', async () => {
    const remote = await freshRemote('folder');
    const ws = producer();
    expect((await ws.run(['run', '--push', '-q'], { env: { ...remote.env, ...KEY } })).exitCode).to.equal(0);
    const fp: string = ws.lock().stages.make.fingerprint;
    const clone = cloneOf(ws);
    clone.remove('pipeline.lock');
    const r = await clone.run(['run', '--pull', '--json'], { env: { ...remote.env, ...KEY } });
    expect(ran(r.json)).to.deep.equal([]);
    expect(existsSync(runRecordFile(clone, fp))).to.equal(true);
    ws.cleanup();
    clone.cleanup();
  });
});

for (const kind of ['folder', 's3'] as Kind[]) {
  describe(`remote trust: turning signing on for an existing remote (${kind})`, () => {
    it('push with the key replaces unsigned records by signed copies; a pull with the key then accepts them', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
      expect((await ws.run(['push'], { env: remote.env })).exitCode).to.equal(0);
      const fp: string = ws.lock().stages.make.fingerprint;
      expect(JSON.parse((await remote.backend.getBytes('ac', fp))!.toString()).signature).to.equal(undefined);

      const signed = await ws.run(['push'], { env: { ...remote.env, ...KEY } });
      expect(signed.exitCode, signed.stderr).to.equal(0);
      expect(signed.stdout).to.match(/^pushed 0 objects \(0\.0 MiB\) and 2 run records to /m);
      expect(JSON.parse((await remote.backend.getBytes('ac', fp))!.toString()).signature).to.match(/^hmac-sha256:[0-9a-f]{64}$/);
      const again = await ws.run(['push'], { env: { ...remote.env, ...KEY } });
      expect(again.stdout).to.match(/^pushed 0 objects \(0\.0 MiB\) and 0 run records /m);

      const clone = cloneOf(ws);
      const pull = await clone.run(['pull'], { env: { ...remote.env, ...KEY } });
      expect(pull.exitCode, pull.stderr).to.equal(0);
      expect(pull.stdout).to.match(/and 2 run records from/);
      ws.cleanup();
      clone.cleanup();
    });

    it('run --push with the key re-signs what the remote holds unsigned', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      expect((await ws.run(['run', '--push', '-q'], { env: remote.env })).exitCode).to.equal(0);
      const r = await ws.run(['run', '--push'], { env: { ...remote.env, ...KEY } });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/remote: pushed 2 result\(s\) \(0 objects, 0\.0 MiB\)/);
      for (const stage of ['make', 'use']) {
        const fp: string = ws.lock().stages[stage].fingerprint;
        expect(JSON.parse((await remote.backend.getBytes('ac', fp))!.toString()).signature).to.match(/^hmac-sha256:/);
      }
      ws.cleanup();
    });

    it('pull with a wrong key does what its message says: the records are refused, pipeline.lock’s outs restored all the same', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      expect((await ws.run(['run', '--push', '-q'], { env: { ...remote.env, ...KEY } })).exitCode).to.equal(0);
      const clone = cloneOf(ws);
      const pull = await clone.run(['pull'], { env: { ...remote.env, PIPELINE_REMOTE_SIGNING_KEY: 'another-key' } });
      expect(pull.exitCode).to.equal(1);
      const errors = pull.stderr.split('\n').filter((l) => l.startsWith('error: `'));
      expect(errors).to.have.length(2);
      for (const e of errors) {
        expect(e).to.match(/its signature does not match PIPELINE_REMOTE_SIGNING_KEY; the outs pipeline\.lock records were restored all the same \(without the record's log\)$/);
      }
      expect(pull.stdout).to.include('restored 3 out(s)');
      expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
      expect(ran((await clone.run(['run', '--json'])).json)).to.deep.equal([]);
      // Without pipeline.lock, nothing vouches for the outs: the stage runs, and the warning says so.
      const bare = cloneOf(ws);
      bare.remove('pipeline.lock');
      const run = await bare.run(['run', '--pull', '--json'], { env: { ...remote.env, PIPELINE_REMOTE_SIGNING_KEY: 'another-key' } });
      expect(ran(run.json)).to.deep.equal(['make', 'use']);
      expect(run.stderr).to.match(/warning: remote: `make`: refused run record .*its signature does not match PIPELINE_REMOTE_SIGNING_KEY; the stage ran instead/);
      ws.cleanup();
      clone.cleanup();
      bare.cleanup();
    });
  });
}
