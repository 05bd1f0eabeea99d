// The script a waiting shell step runs for a command stage (slurm-step-shells.ts), run here by the real /bin/sh
// exactly as the step runs it (WAITING_SHELL, the script on stdin): the command gets the stage's argv and environment
// byte for byte whatever the values hold, what "Slurm" set or changed for the step is kept, the rest of what the
// shell was started with is removed, and stdin is /dev/null.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { WAITING_SHELL, shQuote, shellCanApply, stepScript } from '../../runner/exec/slurm-step-shells.js';

/** Every ASCII byte but NUL, quotes of both kinds, `$()`, backticks, `'\''`, newlines, spaces, non-ASCII. */
const NASTY = [
  Array.from({ length: 127 }, (_, i) => String.fromCharCode(i + 1)).join(''),
  `it's "quoted" $(touch pwned) \`touch pwned2\` $HOME \${PATH} '\\'' \\ end`,
  'line one\nline two\n\n',
  "'",
  "''",
  '',
  ' lead and trail ',
  'ünïcødé ✓ 日本',
  '-n',
];

/** Runs the waiting shell with `started` as its environment (plus what `slurm` adds), handing it the script. */
function runWaiting(argv: string[], env: Record<string, string>, started: Record<string, string>, slurm: Record<string, string> = {}) {
  const script = stepScript(argv, env, started);
  return spawnSync(WAITING_SHELL[0], WAITING_SHELL.slice(1), { env: { ...started, ...slurm }, input: script, encoding: 'utf8', cwd: '/tmp' });
}

const DUMP = ['/usr/bin/env', 'node', '-e', 'process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), env: process.env, stdin: require("fs").readFileSync(0, "utf8") }))'];

describe('slurm steps mode: the script a waiting shell runs for a command stage', () => {
  it('quotes any value for sh: the command gets its argv and environment byte for byte, stdin empty', () => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    NASTY.forEach((v, i) => (env[`V${i}`] = v));
    env.PIPELINE_PARAMS = JSON.stringify({ s: NASTY[1], n: NASTY[2] });
    const started = { PATH: env.PATH, PWD: '/tmp' };
    const r = runWaiting([...DUMP, ...NASTY], env, started);
    expect(r.status, r.stderr).to.equal(0);
    const got = JSON.parse(r.stdout) as { argv: string[]; env: Record<string, string>; stdin: string };
    expect(got.argv).to.deep.equal(NASTY);
    expect(got.env).to.deep.equal(env);
    expect(got.stdin).to.equal('');
    expect(existsSync('/tmp/pwned') || existsSync('/tmp/pwned2')).to.equal(false);
    expect(shQuote("a'b")).to.equal(`'a'\\''b'`);
  });

  it('keeps what Slurm set or changed for the step, removes what the stage has not, applies the stage\'s own values', () => {
    const started = { PATH: process.env.PATH ?? '/usr/bin:/bin', KEEP: 'same', GONE: 'base only', CHANGED: 'job value', SLURM_CPUS_PER_TASK: '2', PWD: '/tmp' };
    const env = { PATH: started.PATH, KEEP: 'same', CHANGED: "stage's value", SLURM_CPUS_PER_TASK: '2', NEW: 'x y', TMPDIR: 'stage tmp' };
    const slurm = { SLURM_CPUS_PER_TASK: '1', SLURM_STEP_ID: '7', TMPDIR: '/slurm/tmp' };
    const r = runWaiting(DUMP, env, started, slurm);
    expect(r.status, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout) as { env: unknown }).env).to.deep.equal({
      PATH: started.PATH,
      KEEP: 'same',
      CHANGED: "stage's value",
      SLURM_CPUS_PER_TASK: '1',
      NEW: 'x y',
      TMPDIR: '/slurm/tmp',
      SLURM_STEP_ID: '7',
    });
  });

  it('the command\'s exit status and signal are the step\'s; a missing command is sh\'s 127; an empty stdin runs nothing', () => {
    const started = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    expect(runWaiting(['/bin/sh', '-c', 'echo why >&2; exit 5'], started, started).status).to.equal(5);
    const killed = runWaiting(['/bin/sh', '-c', 'kill -TERM $$'], started, started);
    expect(killed.signal).to.equal('SIGTERM');
    const missing = runWaiting(['no-such-command-here'], started, started);
    expect(missing.status).to.equal(127);
    expect(missing.stderr).to.include('no-such-command-here');
    const empty = spawnSync(WAITING_SHELL[0], WAITING_SHELL.slice(1), { env: started, input: '', encoding: 'utf8' });
    expect([empty.status, empty.stdout, empty.stderr]).to.deep.equal([0, '', '']);
  });

  it('a stage whose environment sh cannot pass on as given gets a step started for it', () => {
    const ok = { PATH: '/bin' };
    expect(shellCanApply(ok, ok)).to.equal(true);
    for (const name of ['A.B', 'with-dash', '1ST', 'IFS', 'PPID', 'OPTIND', '_pipeline_step_script'])
      expect(shellCanApply({ ...ok, [name]: 'v' }, ok), name).to.equal(false);
    expect(shellCanApply(ok, { ...ok, 'BAD.NAME': 'v' })).to.equal(false);
    expect(shellCanApply({ ...ok, BIG: 'x'.repeat(200 * 1024) }, ok)).to.equal(false);
  });
});
