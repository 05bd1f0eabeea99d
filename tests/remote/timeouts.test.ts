// A dead remote never stalls a run: against servers this test controls — one that accepts connections and never
// answers, one that answers the headers and then stalls the body (or never reads an upload), and a port that never
// accepts — for the HTTP backend and the S3 client alike. With the timeouts set small through the environment, the
// bound is checked by the servers' own counts (a timeout is retried once, then the remote is given up: at most two
// requests in all), never by a clock; `run --pull --push` goes on locally with one warning; `push`/`pull` exit 1
// naming the timeout; the first SIGINT/SIGTERM ends a command waiting on the network, whatever the timeout.
import { expect } from 'chai';
import { FakeServer, cloneOf, producer, ran, unacceptingPort } from './helpers.js';
import { toResult, type Workspace } from '../helpers/workspace.js';
import { HttpBackend } from '../../runner/store/remote/http.js';
import { S3Backend } from '../../runner/store/remote/s3.js';
import { RemoteError } from '../../runner/store/remote/backend.js';
import { Remote } from '../../runner/store/remote/remote.js';

const FAST = { PIPELINE_REMOTE_TIMEOUT: '0.3', PIPELINE_REMOTE_CONNECT_TIMEOUT: '0.3' };
const FAKE_KEYS = { AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKE', AWS_SECRET_ACCESS_KEY: 'fake-secret-key-for-a-fake-server', AWS_REGION: 'us-east-1' };

type Kind = 'http' | 's3';
const remoteEnv: Record<Kind, (server: FakeServer) => Record<string, string>> = {
  http: (s) => ({ PIPELINE_REMOTE: `${s.url}/team` }),
  s3: (s) => ({ ...FAKE_KEYS, AWS_ENDPOINT_URL: s.url, PIPELINE_REMOTE: 's3://bucket/team' }),
};

const STALL: Record<FakeServer['mode'], string> = {
  silent: 'accepts connections and never answers',
  'stall-body': 'answers the headers, then stalls the body',
};

function warningsOf(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('warning:'));
}

describe('remote cache: a server that never answers', () => {
  let ws: Workspace;
  before(async () => {
    ws = producer();
    expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
  });
  after(() => ws.cleanup());

  for (const kind of ['http', 's3'] as Kind[]) {
    for (const mode of ['silent', 'stall-body'] as FakeServer['mode'][]) {
      it(`${kind}, a server that ${STALL[mode]}: run --pull --push goes on locally, one warning, the server asked at most twice`, async () => {
        const server = await FakeServer.start(mode);
        const clone = cloneOf(ws);
        try {
          const r = await clone.run(['run', '--pull', '--push', '--json'], { env: { ...remoteEnv[kind](server), ...FAST } });
          expect(r.exitCode, r.stderr).to.equal(0);
          expect(ran(r.json)).to.deep.equal(['make', 'use']);
          const warnings = warningsOf(r.stderr);
          expect(warnings, r.stderr).to.have.length(1);
          expect(warnings[0], warnings[0]).to.match(/^warning: remote: remote .*: GET ac\/[0-9a-f]{64} timed out: the server sent nothing for 0\.3 s; the run went on without the remote \(not pulled: make, use; not pushed: make, use\)$/);
          // The first request timed out, was retried once, timed out again: nothing more was asked of it.
          expect(server.requests, server.requests.join('\n')).to.have.length(2);
          expect(server.requests.every((l) => l.startsWith('GET '))).to.equal(true);
          expect(r.stderr).to.not.include('internal error');
        } finally {
          clone.cleanup();
          await server.close();
        }
      });
    }

    it(`${kind}: pull and push exit 1 naming the timeout, after one retry`, async () => {
      for (const mode of ['silent', 'stall-body'] as FakeServer['mode'][]) {
        const server = await FakeServer.start(mode);
        const clone = cloneOf(ws);
        try {
          const env = { ...remoteEnv[kind](server), ...FAST, PIPELINE_REMOTE_JOBS: '1' };
          const pull = await clone.run(['pull'], { env });
          expect(pull.exitCode, pull.stderr).to.equal(1);
          expect(pull.stderr).to.match(/error: remote .*: GET ac\/[0-9a-f]{64} timed out: the server sent nothing for 0\.3 s/);
          expect(pull.stderr).to.include('PIPELINE_REMOTE_TIMEOUT');
          expect(server.requests).to.have.length(2);
          const push = await ws.run(['push'], { env });
          expect(push.exitCode, push.stderr).to.equal(1);
          expect(push.stderr).to.match(/error: remote .*: (HEAD|PUT) cas\/[0-9a-f]{64} timed out: the server sent nothing for 0\.3 s/);
          // A silent server times out the first HEAD twice; a stalling one answers the HEADs, then never reads the
          // upload: either way one request timed out, was sent once more, and nothing followed.
          const asked = server.requests.slice(2);
          const [first, retry] = asked.slice(-2);
          expect(retry, asked.join('\n')).to.equal(first);
          expect(asked.slice(0, -2).every((l) => l.startsWith('HEAD ')), asked.join('\n')).to.equal(true);
          expect(first.split(' ')[0]).to.equal(mode === 'silent' ? 'HEAD' : 'PUT');
        } finally {
          clone.cleanup();
          await server.close();
        }
      }
    });
  }

  it('a port that never accepts: the connect timeout, for HTTP and S3, retried once', async () => {
    const port = await unacceptingPort();
    const saved = Object.fromEntries(['AWS_ENDPOINT_URL', ...Object.keys(FAKE_KEYS)].map((k) => [k, process.env[k]]));
    try {
      const transport = { connectTimeoutMs: 300, idleTimeoutMs: 60_000 };
      Object.assign(process.env, FAKE_KEYS, { AWS_ENDPOINT_URL: `http://127.0.0.1:${port.port}` });
      for (const backend of [new HttpBackend(`http://127.0.0.1:${port.port}/x`, {}, transport), new S3Backend('s3://bucket/x', transport)]) {
        const remote = new Remote(backend, { retries: 4 });
        const err = await remote.getRecord('a'.repeat(64)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, String(err)).to.be.instanceOf(RemoteError);
        expect((err as RemoteError).kind).to.equal('timeout');
        expect((err as Error).message).to.match(/GET ac\/a{64} timed out: no connection within 0\.3 s$/);
        // Given up: the next request fails at once with the same error, without a connection attempt.
        expect(remote.unresponsive).to.equal(err);
        const again = await remote.hasObject('b'.repeat(64)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(again).to.equal(err);
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      port.close();
    }
  });

  it('a bad timeout setting is a usage error (exit 2) naming the variable', async () => {
    const r = await ws.run(['push'], { env: { PIPELINE_REMOTE: 'http://127.0.0.1:1/x', PIPELINE_REMOTE_TIMEOUT: 'soon' } });
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.include('PIPELINE_REMOTE_TIMEOUT="soon" is not a number of seconds');
  });

  const interrupts: [string, string[], NodeJS.Signals][] = [
    ['run --pull', ['run', '--pull'], 'SIGINT'],
    ['pull', ['pull'], 'SIGTERM'],
    ['push', ['push'], 'SIGINT'],
  ];
  for (const [name, args, signal] of interrupts) {
    for (const kind of ['http', 's3'] as Kind[]) {
      it(`${kind}: the first ${signal} ends \`${name}\` waiting on a server that never answers (exit 130)`, async () => {
        const server = await FakeServer.start('silent');
        const clone = cloneOf(ws);
        const target = name === 'push' ? ws : clone;
        try {
          // An hour of patience: only the signal can end the wait within the test's time.
          const child = target.spawn(args, { env: { ...remoteEnv[kind](server), PIPELINE_REMOTE_TIMEOUT: '3600' }, timeoutMs: 0 });
          await server.waitForRequest();
          child.kill(signal);
          const r = toResult(await child);
          expect(r.exitCode, r.stderr).to.equal(130);
          expect(r.stderr).to.not.include('internal error');
          if (name === 'run --pull') expect(clone.lines()).to.deep.equal([]);
          else expect(r.stderr).to.include('interrupted: every object and run record transferred so far is whole');
        } finally {
          clone.cleanup();
          await server.close();
        }
      });
    }
  }
});
