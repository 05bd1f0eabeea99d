// A large out (200 MiB of random bytes in a folder out) through S3 and HTTP: streamed both ways, byte-identical
// after pull, and the clone's run executes nothing.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { expect } from 'chai';
import { cloneOf, freshRemote, producer, ran, type Kind } from './helpers.js';
import { TOKEN_VARIABLE } from '../helpers/workspace.js';

const BIG_MB = 200;

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

// make.js reads BIG_MB, which a stage gets only as part of its base set (it declares no `passEnv`).
const BIG_ENV = { BIG_MB: String(BIG_MB), PIPELINE_BASE_ENV: `${TOKEN_VARIABLE} BIG_MB` };

for (const kind of ['s3', 'http'] as Kind[]) {
  describe(`remote cache: a ${BIG_MB} MiB out through ${kind}`, () => {
    it('pushes, pulls into a fresh clone byte-identical, and the clone runs nothing', async () => {
      const remote = await freshRemote(kind);
      const ws = producer();
      const made = await ws.run(['run', '-q'], { env: BIG_ENV, timeoutMs: 300_000 });
      expect(made.exitCode, made.stderr).to.equal(0);
      const push = await ws.run(['push'], { env: remote.env, timeoutMs: 300_000 });
      expect(push.exitCode, push.stderr).to.equal(0);
      expect(Number(/\(([0-9.]+) MiB\)/.exec(push.stdout)![1])).to.be.at.least(BIG_MB);
      const clone = cloneOf(ws);
      const pull = await clone.run(['pull'], { env: remote.env, timeoutMs: 300_000 });
      expect(pull.exitCode, pull.stderr).to.equal(0);
      expect(await sha256(clone.path('out/parts/big.bin'))).to.equal(await sha256(ws.path('out/parts/big.bin')));
      const run = await clone.run(['run', '--json'], { env: BIG_ENV, timeoutMs: 300_000 });
      expect(ran(run.json)).to.deep.equal([]);
      process.stdout.write(`      push: ${push.stdout.trim()}\n      pull: ${pull.stdout.split('\n')[0]}\n`);
      ws.cleanup();
      clone.cleanup();
    });
  });
}
