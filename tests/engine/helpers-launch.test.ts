// Helper commands run to completion (exec/launch.ts: the run lock's `flock`, Slurm's commands) through Node's spawn:
// what each caller reads of them — exit code, output, why it did not finish — for every way a helper can end.
import { expect } from 'chai';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runHelper, runHelperSync } from '../../runner/exec/launch.js';

describe('helpers run to completion', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'helpers-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a command not on PATH: no code, the system error ENOENT (async and sync)', async () => {
    expect(await runHelper('pipeline-no-such-helper', [])).to.deep.equal({ code: undefined, stdout: '', stderr: '', error: 'ENOENT' });
    expect(runHelperSync('pipeline-no-such-helper', [])).to.deep.equal({ code: undefined, stdout: '', stderr: '', error: 'ENOENT' });
  });

  it('its exit code and both outputs, without the one final newline (inner newlines kept)', async () => {
    const script = 'printf "a\\nb\\n"; printf "e\\n\\n" >&2; exit 3';
    expect(await runHelper('sh', ['-c', script])).to.deep.equal({ code: 3, stdout: 'a\nb', stderr: 'e\n' });
    expect(runHelperSync('sh', ['-c', script])).to.deep.equal({ code: 3, stdout: 'a\nb', stderr: 'e\n' });
  });

  it('stdin is /dev/null: a helper reading it ends at once', async () => {
    expect(await runHelper('cat', [])).to.deep.equal({ code: 0, stdout: '', stderr: '' });
    expect(runHelperSync('cat', [])).to.deep.equal({ code: 0, stdout: '', stderr: '' });
  });

  it('killed by a signal: no code, the signal named', async () => {
    expect(await runHelper('sh', ['-c', 'kill -TERM $$'])).to.deep.equal({ code: undefined, stdout: '', stderr: '', error: 'killed with SIGTERM' });
    expect(runHelperSync('sh', ['-c', 'kill -KILL $$'])).to.deep.equal({ code: undefined, stdout: '', stderr: '', error: 'killed with SIGKILL' });
  });

  it('past its time bound: killed, no code, the bound named', async () => {
    const late = await runHelper('sh', ['-c', 'echo started; exec sleep 60'], { timeoutMs: 300 });
    expect(late).to.deep.equal({ code: undefined, stdout: 'started', stderr: '', error: 'timed out after 300 milliseconds' });
    expect(runHelperSync('sleep', ['60'], { timeoutMs: 300 })).to.deep.equal({ code: undefined, stdout: '', stderr: '', error: 'timed out after 300 milliseconds' });
  });

  it("the environment: added over the runner's, or exactly the one given", async () => {
    process.env.PIPELINE_HELPER_TEST = 'runner';
    try {
      const show = ['-c', 'printf "%s|%s" "$PIPELINE_HELPER_TEST" "$ADDED"'];
      expect((await runHelper('/bin/sh', show, { env: { ADDED: 'x' } })).stdout).to.equal('runner|x');
      expect((await runHelper('/bin/sh', show, { env: { ADDED: 'y' }, exactEnv: true })).stdout).to.equal('|y');
      expect(runHelperSync('/bin/sh', show, { env: { ADDED: 'z' } }).stdout).to.equal('runner|z');
    } finally {
      delete process.env.PIPELINE_HELPER_TEST;
    }
  });

  it('an open file handed to it as fd 3 (as the run lock hands its folder to flock)', async () => {
    const file = path.join(dir, 'fd3.txt');
    const fd = openSync(file, 'w');
    try {
      expect(await runHelper('sh', ['-c', 'echo through-fd-3 >&3'], { fds: [fd] })).to.deep.equal({ code: 0, stdout: '', stderr: '' });
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file, 'utf8')).to.equal('through-fd-3\n');
  });
});
