// `run --pull` / `run --push` against the real servers: a fresh clone pulls and executes nothing (byte-identical
// outs, folder outs included), with or without pipeline.lock; a dead remote is a warning and the run succeeds;
// tampered content is refused and the stage runs; concurrent pushes of the same results; `status --remote`.
import { expect } from 'chai';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUCKET, KINDS, cloneOf, freshRemote, producer, ran, s3Env } from './helpers.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const CLOSED_PORT = 18998;

/** A copy of a workspace with its local state (.pipeline, outs) and its own cache folder: the same results. */
function twin(ws: Workspace): Workspace {
  const copy = makeWorkspace({ yaml: ws.read('pipeline.yaml'), prefix: 'pipeline-remote-twin-' });
  cpSync(ws.path('.'), copy.path('.'), { recursive: true, force: true });
  rmSync(copy.cacheDir, { recursive: true, force: true });
  cpSync(ws.cacheDir, copy.cacheDir, { recursive: true });
  return copy;
}

for (const kind of KINDS) {
  describe(`run --pull/--push: ${kind}`, () => {
    it('run --push, then a fresh clone runs --pull: nothing executes, outs byte-identical; again without pipeline.lock', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      const push = await ws.run(['run', '--push', '--json'], { env: remote.env });
      expect(push.exitCode, push.stderr).to.equal(0);
      expect(ran(push.json)).to.deep.equal(['make', 'use']);
      expect(push.stderr).to.match(/remote: pushed 2 result\(s\)/);

      for (const withLock of [true, false]) {
        const clone = cloneOf(ws);
        if (!withLock) clone.remove('pipeline.lock');
        const pull = await clone.run(['run', '--pull', '--json'], { env: remote.env });
        expect(pull.exitCode, pull.stderr).to.equal(0);
        expect(ran(pull.json), `with lock: ${withLock}`).to.deep.equal([]);
        expect(clone.lines()).to.deep.equal([]);
        expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
        const make = (pull.json as { stages: { name: string; reasons: { code: string }[] }[] }).stages.find((s) => s.name === 'make')!;
        expect(make.reasons.map((r) => r.code)).to.include('restorable-from-remote');
        const noop = await clone.run(['run', '--json']);
        expect(ran(noop.json)).to.deep.equal([]);
        clone.cleanup();
      }
      ws.cleanup();
    });

    it('tampered content during run --pull is refused and named; the stage runs and never gets the tampered bytes', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      expect((await ws.run(['run', '--push', '-q'], { env: remote.env })).exitCode).to.equal(0);
      const dataHash: string = ws.lock().stages.make.outs.find((o: { path: string }) => o.path === 'out/data.txt').hash;
      await remote.backend.putBytes('cas', dataHash, Buffer.from('tampered\n'));
      const clone = cloneOf(ws);
      const run = await clone.run(['run', '--pull', '--json'], { env: remote.env });
      expect(run.exitCode, run.stderr).to.equal(0);
      expect(ran(run.json)).to.deep.equal(['make', 'use']);
      expect(run.stderr).to.include(`refused object ${dataHash}`);
      expect(clone.read('out/data.txt')).to.match(/^data [0-9a-f]{16}\n$/);
      ws.cleanup();
      clone.cleanup();
    });

    it('concurrent run --push of the same results: both succeed and a clone pulls them whole', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
      const other = twin(ws);
      const [a, b] = await Promise.all([ws.run(['run', '--push', '-q'], { env: remote.env }), other.run(['run', '--push', '-q'], { env: remote.env })]);
      expect(a.exitCode, a.stderr).to.equal(0);
      expect(b.exitCode, b.stderr).to.equal(0);
      expect(a.stderr + b.stderr).to.not.include('warning');
      const clone = cloneOf(ws);
      const pull = await clone.run(['run', '--pull', '--json'], { env: remote.env });
      expect(ran(pull.json)).to.deep.equal([]);
      expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
      ws.cleanup();
      other.cleanup();
      clone.cleanup();
    });

    it('status --remote says which missing outs the remote can restore; plain status does not ask', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      expect((await ws.run(['run', '--push', '-q'], { env: remote.env })).exitCode).to.equal(0);
      const clone = cloneOf(ws);
      const plain = await clone.run(['status'], { env: remote.env });
      expect(plain.stdout).to.not.include('restorable from the remote');
      const asked = await clone.run(['status', '--remote', '--json'], { env: remote.env });
      expect(asked.exitCode, asked.stderr).to.equal(0);
      const codes = (asked.json as { stages: { name: string; reasons: { code: string }[] }[] }).stages.map((s) => [s.name, s.reasons.map((r) => r.code)]);
      for (const [, c] of codes) expect(c).to.include('restorable-from-remote');
      // The last line suggests pulling what the remote can restore, not running it; after the pull nothing is stale.
      const text = await clone.run(['status', '--remote'], { env: remote.env });
      expect(text.exitCode, text.stderr).to.equal(0);
      expect(text.stdout.trimEnd().split('\n').at(-1)).to.equal('2 of 2 stages stale; `pipeline pull` restores them from the remote');
      expect(plain.stdout.trimEnd().split('\n').at(-1)).to.equal('2 of 2 stages stale; `pipeline run` brings them up to date');
      // Without pipeline.lock, `pull` has nothing to fetch: the results are the remote's run records, which `run --pull` uses.
      const unlocked = cloneOf(ws);
      unlocked.remove('pipeline.lock');
      const noLock = await unlocked.run(['status', '--remote'], { env: remote.env });
      expect(noLock.stdout.trimEnd().split('\n').at(-1)).to.equal('2 of 2 stages stale; `pipeline run --pull` brings them up to date, restoring them from the remote');
      expect((await clone.run(['pull'], { env: remote.env })).exitCode).to.equal(0);
      const after = await clone.run(['status', '--remote'], { env: remote.env });
      expect(after.stdout.trimEnd().split('\n').at(-1)).to.equal('everything is up to date');
      ws.cleanup();
      clone.cleanup();
      unlocked.cleanup();
    });
  });
}

describe('run --pull --push: a dead remote is a warning, and the run succeeds', () => {
  const dead: Record<string, () => Record<string, string>> = {
    http: () => ({ PIPELINE_REMOTE: `http://user:s3cretpass@127.0.0.1:${CLOSED_PORT}/team` }),
    s3: () => ({ ...s3Env(), AWS_ENDPOINT_URL: `http://127.0.0.1:${CLOSED_PORT}`, PIPELINE_REMOTE: `s3://${BUCKET}/dead` }),
    folder: () => ({ PIPELINE_REMOTE: path.join(mkdtempSync(path.join(os.tmpdir(), 'pipeline-dead-')), 'gone') }),
  };
  for (const [kind, envOf] of Object.entries(dead)) {
    it(kind, async () => {
      const ws = producer();
      const env: Record<string, string> = { ...envOf(), PIPELINE_REMOTE_RETRIES: '1' };
      const r = await ws.run(['run', '--pull', '--push', '--json'], { env });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(ran(r.json)).to.deep.equal(['make', 'use']);
      expect(r.stderr).to.match(/warning: remote: remote .*; the run went on without the remote/);
      expect(r.stderr).to.include('not pushed: make, use');
      expect(r.stderr).to.not.include('internal error');
      expect(r.stderr + r.stdout).to.not.include('s3cretpass');
      if (kind === 's3') expect(r.stderr + r.stdout).to.not.include(env.AWS_SECRET_ACCESS_KEY);
      ws.cleanup();
    });
  }
});
