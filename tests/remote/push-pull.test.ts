// push then pull into a fresh clone, for every kind of remote, against the real servers: the clone's run executes
// nothing and its outs (folders included) are byte-identical to the pushed ones. Tampered objects and records
// are refused and named, and the stage runs instead; signing on and off; concurrent pushes of the same results.
import { expect } from 'chai';
import { makeWorkspace } from '../helpers/workspace.js';
import { KINDS, cloneOf, freshRemote, producer, ran } from './helpers.js';

for (const kind of KINDS) {
  describe(`remote cache: ${kind}`, () => {
    it('push, then pull into a fresh clone: the clone runs nothing and has byte-identical outs', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
      const push = await ws.run(['push'], { env: remote.env });
      expect(push.exitCode, push.stderr).to.equal(0);
      expect(push.stdout).to.match(/^pushed [1-9][0-9]* objects \(.* MiB\) and 2 run records to .* in [0-9.]+ s; /m);
      const again = await ws.run(['push'], { env: remote.env });
      expect(again.stdout).to.match(/^pushed 0 objects \(0\.0 MiB\) and 0 run records/m);

      const clone = cloneOf(ws);
      const pull = await clone.run(['pull'], { env: remote.env });
      expect(pull.exitCode, pull.stderr).to.equal(0);
      expect(pull.stdout).to.match(/^pulled [1-9][0-9]* objects .* and 2 run records from /m);
      expect(pull.stdout).to.include('restored 3 out(s)');
      expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
      const run = await clone.run(['run', '--json']);
      expect(run.exitCode).to.equal(0);
      expect(ran(run.json)).to.deep.equal([]);
      expect(clone.lines()).to.deep.equal([]);
      expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
      ws.cleanup();
      clone.cleanup();
    });

    it('an empty out, a 1 MiB one and one a byte larger (bytes vs a stream): pushed and pulled whole, nothing waits on the server', async () => {
      const remote = await freshRemote(kind);
      const ws = makeWorkspace({
        yaml: 'version: 1\nstages:\n  sizes:\n    cmd: node sizes.js\n    deps: [sizes.js]\n    outs: [o/empty.bin, o/mib.bin, o/mib1.bin]\n',
        files: { 'sizes.js': "const fs = require('fs'); fs.mkdirSync('o', { recursive: true }); fs.writeFileSync('o/empty.bin', ''); fs.writeFileSync('o/mib.bin', Buffer.alloc(1048576, 1)); fs.writeFileSync('o/mib1.bin', Buffer.alloc(1048577, 2));\n" },
        prefix: 'pipeline-remote-ws-',
      });
      try {
        expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
        const push = await ws.run(['push'], { env: { ...remote.env, PIPELINE_REMOTE_TIMEOUT: '5' } });
        expect(push.exitCode, push.stderr).to.equal(0);
        const clone = makeWorkspace({ yaml: ws.read('pipeline.yaml'), files: { 'sizes.js': ws.read('sizes.js'), 'pipeline.lock': ws.read('pipeline.lock') }, prefix: 'pipeline-remote-clone-' });
        try {
          const pull = await clone.run(['pull'], { env: { ...remote.env, PIPELINE_REMOTE_TIMEOUT: '5' } });
          expect(pull.exitCode, pull.stderr).to.equal(0);
          expect(clone.snapshot('o')).to.deep.equal(ws.snapshot('o'));
        } finally {
          clone.cleanup();
        }
      } finally {
        ws.cleanup();
      }
    });

    it('pull of named stages restores only those', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      await ws.run(['run', '-q']);
      expect((await ws.run(['push', 'make'], { env: remote.env })).exitCode).to.equal(0);
      const clone = cloneOf(ws);
      const pull = await clone.run(['pull', 'make'], { env: remote.env });
      expect(pull.exitCode, pull.stderr).to.equal(0);
      expect(clone.snapshot('out/parts')).to.deep.equal(ws.snapshot('out/parts'));
      expect(clone.exists('out/summary.txt')).to.equal(false);
      const missing = await clone.run(['pull', 'use'], { env: remote.env });
      expect(missing.exitCode).to.equal(1);
      expect(missing.stderr).to.match(/`use`: object [0-9a-f]{12} is not on the remote/);
      const run = await clone.run(['run', '--json']);
      expect(ran(run.json)).to.deep.equal(['use']);
      ws.cleanup();
      clone.cleanup();
    });

    it('a tampered object is refused and named; the stage runs instead and never gets the tampered bytes', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      await ws.run(['run', '-q']);
      expect((await ws.run(['push'], { env: remote.env })).exitCode).to.equal(0);
      const dataHash: string = ws.lock().stages.make.outs.find((o: { path: string }) => o.path === 'out/data.txt').hash;
      await remote.backend.putBytes('cas', dataHash, Buffer.from('tampered\n'));

      const clone = cloneOf(ws);
      const pull = await clone.run(['pull'], { env: remote.env });
      expect(pull.exitCode).to.equal(1);
      expect(pull.stderr).to.include(`refused object ${dataHash}`);
      expect(pull.stderr).to.include('`make`');
      expect(clone.exists('out/data.txt')).to.equal(false);
      const run = await clone.run(['run', '--json']);
      expect(run.exitCode).to.equal(0);
      expect(ran(run.json)).to.deep.equal(['make', 'use']);
      expect(clone.read('out/data.txt')).to.not.equal('tampered\n');
      expect(clone.read('out/data.txt')).to.match(/^data [0-9a-f]{16}\n$/);
      ws.cleanup();
      clone.cleanup();
    });

    it('signed records: pulled with the key; a mis-signed, tampered or unsigned record is refused and named', async () => {
      const remote = await freshRemote(kind);
      const key = { PIPELINE_REMOTE_SIGNING_KEY: 'team-signing-key-0123' };
      const ws = producer();
      await ws.run(['run', '-q']);
      expect((await ws.run(['push'], { env: { ...remote.env, ...key } })).exitCode).to.equal(0);
      const fp: string = ws.lock().stages.make.fingerprint;
      const stored = JSON.parse((await remote.backend.getBytes('ac', fp))!.toString('utf8'));
      expect(stored.signature).to.match(/^hmac-sha256:[0-9a-f]{64}$/);

      const good = cloneOf(ws);
      const ok = await good.run(['pull'], { env: { ...remote.env, ...key } });
      expect(ok.exitCode, ok.stderr).to.equal(0);
      expect(ran((await good.run(['run', '--json'])).json)).to.deep.equal([]);

      const wrongKey = cloneOf(ws);
      const bad = await wrongKey.run(['pull'], { env: { ...remote.env, PIPELINE_REMOTE_SIGNING_KEY: 'another-key' } });
      expect(bad.exitCode).to.equal(1);
      expect(bad.stderr).to.match(new RegExp(`refused run record ${fp.slice(0, 12)} .*signature does not match`));
      expect(bad.stderr).to.not.include('another-key');

      // The record is changed on the remote (its log hash pointed elsewhere): the signature no longer matches.
      await remote.backend.putBytes('ac', fp, Buffer.from(JSON.stringify({ ...stored, durationMs: 1 })));
      const tampered = cloneOf(ws);
      const t = await tampered.run(['pull'], { env: { ...remote.env, ...key } });
      expect(t.exitCode).to.equal(1);
      expect(t.stderr).to.match(/refused run record .*signature does not match/);

      // Unsigned records are refused while a key is set, and accepted without one.
      const { signature: _drop, ...unsigned } = stored;
      await remote.backend.putBytes('ac', fp, Buffer.from(JSON.stringify(unsigned)));
      const u = await cloneOf(ws).run(['pull', 'make'], { env: { ...remote.env, ...key } });
      expect(u.exitCode).to.equal(1);
      expect(u.stderr).to.match(/refused run record .*unsigned/);
      const off = cloneOf(ws);
      const o = await off.run(['pull'], { env: remote.env });
      expect(o.exitCode, o.stderr).to.equal(0);
      expect(off.snapshot('out')).to.deep.equal(ws.snapshot('out'));
      for (const w of [ws, good, wrongKey, tampered, off]) w.cleanup();
    });

    it('a malformed record is refused and named', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      await ws.run(['run', '-q']);
      await ws.run(['push'], { env: remote.env });
      const fp: string = ws.lock().stages.use.fingerprint;
      await remote.backend.putBytes('ac', fp, Buffer.from('{"version": 1, "fingerprint": "somewhere else"'));
      const clone = cloneOf(ws);
      const pull = await clone.run(['pull'], { env: remote.env });
      expect(pull.exitCode).to.equal(1);
      expect(pull.stderr).to.include(`refused run record ${fp.slice(0, 12)}`);
      expect(pull.stderr).to.include('not valid JSON');
      clone.cleanup();
      ws.cleanup();
    });

    it('concurrent pushes of the same results all succeed and leave a remote that restores', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      await ws.run(['run', '-q']);
      const results = await Promise.all([1, 2, 3].map(() => ws.spawn(['push'], { env: remote.env })));
      for (const r of results) expect(r.exitCode, String(r.stderr)).to.equal(0);
      const clone = cloneOf(ws);
      const pull = await clone.run(['pull'], { env: remote.env });
      expect(pull.exitCode, pull.stderr).to.equal(0);
      expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
      expect(ran((await clone.run(['run', '--json'])).json)).to.deep.equal([]);
      ws.cleanup();
      clone.cleanup();
    });
  });
}
