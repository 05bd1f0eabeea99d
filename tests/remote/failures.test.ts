// A remote that is down or refuses the credentials: push and pull exit 1 naming the URL (credentials removed) and
// the cause, and no credential appears anywhere in their output.
import { expect } from 'chai';
import { cloneOf, ensureBucket, freshRemote, producer, s3Env, BUCKET } from './helpers.js';
import type { Workspace } from '../helpers/workspace.js';

const CLOSED_PORT = 18999;
const FAST = { PIPELINE_REMOTE_RETRIES: '1' };

function expectNoSecret(r: { stdout: string; stderr: string }, secrets: string[]): void {
  for (const s of secrets) {
    expect(r.stdout).to.not.include(s);
    expect(r.stderr).to.not.include(s);
  }
}

describe('remote cache: failures', () => {
  let ws: Workspace;
  before(async () => {
    ws = producer();
    expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
  });
  after(() => ws.cleanup());

  it('an HTTP remote that is down: exit 1 with the URL (no password) and the cause', async () => {
    const url = `http://builder:hunter2secret@127.0.0.1:${CLOSED_PORT}/team`;
    for (const cmd of ['push', 'pull']) {
      const target = cmd === 'push' ? ws : cloneOf(ws);
      const r = await target.run([cmd], { env: { PIPELINE_REMOTE: url, ...FAST } });
      expect(r.exitCode, cmd).to.equal(1);
      expect(r.stderr).to.include(`remote http://127.0.0.1:${CLOSED_PORT}/team:`);
      expect(r.stderr).to.include('ECONNREFUSED');
      expect(r.stderr).to.not.include('internal error');
      expectNoSecret(r, ['hunter2secret', 'builder:']);
    }
  });

  it('an S3 endpoint that is down: exit 1 with the bucket and the cause', async () => {
    const env: Record<string, string> = { ...s3Env(), AWS_ENDPOINT_URL: `http://127.0.0.1:${CLOSED_PORT}`, PIPELINE_REMOTE: `s3://${BUCKET}/down`, ...FAST };
    const r = await ws.run(['push'], { env });
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.include(`remote s3://${BUCKET}/down:`);
    expect(r.stderr).to.include('ECONNREFUSED');
    expectNoSecret(r, [env.AWS_SECRET_ACCESS_KEY]);
  });

  it('a folder remote that does not exist: exit 1 naming it', async () => {
    const r = await ws.run(['push'], { env: { PIPELINE_REMOTE: '/nonexistent/pipeline-remote' } });
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.include('remote /nonexistent/pipeline-remote: not reachable');
  });

  it('wrong HTTP credentials: exit 1 with 401 and a hint; right ones push and pull; no password in any output', async () => {
    const base = process.env.PIPELINE_TEST_HTTP_AUTH_URL!;
    const url = `${base}/auth-${Date.now().toString(36)}`;
    const user = process.env.PIPELINE_TEST_HTTP_USER!;
    const password = process.env.PIPELINE_TEST_HTTP_PASSWORD!;
    const wrong = await ws.run(['push'], { env: { PIPELINE_REMOTE: url, PIPELINE_REMOTE_USER: user, PIPELINE_REMOTE_PASSWORD: 'not-the-password' } });
    expect(wrong.exitCode).to.equal(1);
    expect(wrong.stderr).to.match(/answered 401/);
    expect(wrong.stderr).to.include('PIPELINE_REMOTE_USER');
    expectNoSecret(wrong, ['not-the-password']);
    const none = await ws.run(['push'], { env: { PIPELINE_REMOTE: url } });
    expect(none.exitCode).to.equal(1);
    expect(none.stderr).to.match(/answered 401/);

    const good = { PIPELINE_REMOTE: url, PIPELINE_REMOTE_USER: user, PIPELINE_REMOTE_PASSWORD: password };
    const push = await ws.run(['push'], { env: good });
    expect(push.exitCode, push.stderr).to.equal(0);
    expectNoSecret(push, [password]);
    // Credentials in the URL work too and are never shown.
    const inUrl = url.replace('://', `://${user}:${password}@`);
    const clone = cloneOf(ws);
    const pull = await clone.run(['pull'], { env: { PIPELINE_REMOTE: inUrl } });
    expect(pull.exitCode, pull.stderr).to.equal(0);
    expect(pull.stdout).to.include(`from ${url} `);
    expectNoSecret(pull, [password]);
    expect(clone.snapshot('out')).to.deep.equal(ws.snapshot('out'));
    clone.cleanup();
  });

  it('wrong S3 credentials: exit 1 with the cause and a hint; the secret never shown', async () => {
    await ensureBucket();
    const env = { ...s3Env(), AWS_SECRET_ACCESS_KEY: 'wrong-secret-key-0123456789', PIPELINE_REMOTE: `s3://${BUCKET}/creds` };
    const r = await ws.run(['push'], { env });
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/remote s3:\/\/pipeline-remote-tests\/creds: HEAD cas\/[0-9a-f]+ failed: .*HTTP 403/);
    expect(r.stderr).to.include('AWS_SECRET_ACCESS_KEY');
    expectNoSecret(r, ['wrong-secret-key-0123456789', s3Env().AWS_SECRET_ACCESS_KEY]);
  });

  it('an S3 bucket that does not exist: exit 1 saying so', async () => {
    const r = await ws.run(['push'], { env: { ...s3Env(), PIPELINE_REMOTE: 's3://no-such-bucket-pipeline/x' } });
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.include('bucket `no-such-bucket-pipeline` does not exist');
  });

  it('no remote set, or an unknown scheme: exit 2 with a hint', async () => {
    const none = await ws.run(['push'], { env: { PIPELINE_REMOTE: undefined } });
    expect(none.exitCode).to.equal(2);
    expect(none.stderr).to.include('no remote cache is set');
    const ftp = await ws.run(['pull'], { env: { PIPELINE_REMOTE: 'ftp://user:pw@host/x' } });
    expect(ftp.exitCode).to.equal(2);
    expect(ftp.stderr).to.include('unknown scheme `ftp`');
    expect(ftp.stderr).to.not.include('pw@');
  });

  it('an unknown stage name: exit 2 with a suggestion', async () => {
    const remote = await freshRemote('folder');
    const r = await ws.run(['push', 'mkae'], { env: remote.env });
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.include('unknown stage `mkae`');
  });
});
