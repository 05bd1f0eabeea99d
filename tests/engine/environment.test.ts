// What of the runner's environment reaches a stage (runner/exec/environment.ts), through the real CLI: the base
// set, the stage's `env` and `passEnv` and the engine's PIPELINE_* variables, never the runner's credentials — in a
// process started for the stage and in a host started ahead of need (its /proc/PID/environ included);
// `inheritEnv: true` (per stage, or at the top level) gives back the whole environment; `validate --env` (and
// `--json`) lists, per stage, what it no longer gets, by name only.
import { readFileSync, realpathSync } from 'node:fs';
import { expect } from 'chai';
import { makeWorkspace, processesOf, TOKEN_VARIABLE, waitFor, type Workspace } from '../helpers/workspace.js';

/** Runner variables no stage may see unless it asks for them. */
const SECRETS = {
  AWS_SECRET_ACCESS_KEY: 'aws-secret-value-0123456789',
  PIPELINE_REMOTE_SIGNING_KEY: 'signing-key-value-0123456789',
  FOO_TOKEN: 'foo-token-value-0123456789',
};
/** The runner's environment in these tests: the secrets, base-set variables, one passed value. */
const RUNNER_ENV = { ...SECRETS, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', SLURM_X: 'slurm-x', PASSED: 'passed-value' };

/** Names a stage may get: the base set, what the stage declares, what the engine sets. */
const ALLOWED = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_.*|TMPDIR|TZ|TERM|XDG_.*|SLURM_.*|SSL_CERT_FILE|SSL_CERT_DIR|NODE_EXTRA_CA_CERTS|PIPELINE_(STAGE|PARAMS|WORKSPACE|VERDICT_FILE|ATTEMPT|CONTEXT)|PWD|SHLVL|_)$/;

/** A cmd stage that writes its whole environment as JSON. */
const DUMP = `[node, -e, "require('fs').writeFileSync(process.env.PIPELINE_STAGE + '.env.json', JSON.stringify(process.env))"]`;

describe('engine: a stage gets the base set, its env and passEnv, not the runner environment', function () {
  const spaces: Workspace[] = [];
  after(() => spaces.forEach((w) => w.cleanup()));
  const workspace = (yaml: string, files: Record<string, string> = {}) => {
    const ws = makeWorkspace({ yaml, files });
    spaces.push(ws);
    return ws;
  };
  const seen = (ws: Workspace, stage: string) => JSON.parse(ws.read(`${stage}.env.json`)) as Record<string, string>;

  it('a cmd stage: PATH, HOME, LANG, LC_ALL, SLURM_X, its env and passEnv; none of the credentials; `env` logs none of them', async () => {
    const ws = workspace(
      `version: 1\nstages:\n  dump:\n    cmd: ${DUMP}\n    env: {MINE: declared}\n    passEnv: [PASSED, ABSENT]\n    cache: false\n` +
        `  shell:\n    cmd: env\n    cache: false\n`,
    );
    const r = await ws.run(['run', '--verbose'], { env: RUNNER_ENV });
    expect(r.exitCode, r.stderr).to.equal(0);
    const env = seen(ws, 'dump');
    expect(env.PATH).to.equal(process.env.PATH);
    expect(env.HOME).to.equal(process.env.HOME);
    expect([env.LANG, env.LC_ALL, env.SLURM_X, env.MINE]).to.deep.equal(['C.UTF-8', 'C.UTF-8', 'slurm-x', 'declared']);
    expect(env.PASSED).to.equal('passed-value');
    expect(env.PIPELINE_STAGE).to.equal('dump');
    expect(env.PIPELINE_WORKSPACE).to.equal(realpathSync(ws.dir));
    expect(env).to.not.have.property('ABSENT');
    for (const name of [...Object.keys(SECRETS), 'CI', 'NO_COLOR', 'PIPELINE_CACHE_DIR', 'PIPELINE_BASE_ENV']) expect(env, name).to.not.have.property(name);
    // Every variable it got is one of the base set, one it declared, or the engine's (the rig's token, listed in
    // PIPELINE_BASE_ENV, aside).
    const unexpected = Object.keys(env).filter((n) => !ALLOWED.test(n) && !['MINE', 'PASSED', TOKEN_VARIABLE].includes(n));
    expect(unexpected).to.deep.equal([]);
    // `env` printed its environment into the log and the terminal: no credential in either.
    expect(ws.read('.pipeline/logs/shell.log')).to.include('SLURM_X=slurm-x');
    for (const value of Object.values(SECRETS)) {
      expect(ws.read('.pipeline/logs/shell.log')).to.not.include(value);
      expect(r.stdout + r.stderr).to.not.include(value);
    }
  });

  it('inheritEnv: true per stage gives the whole environment back; at the top level, for every stage but one that says false', async () => {
    const ws = workspace(
      `version: 1\nstages:\n  plain:\n    cmd: ${DUMP}\n    cache: false\n  inherits:\n    cmd: ${DUMP}\n    inheritEnv: true\n    cache: false\n`,
    );
    const r = await ws.run(['run'], { env: RUNNER_ENV });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(seen(ws, 'plain')).to.not.have.property('FOO_TOKEN');
    const inherited = seen(ws, 'inherits');
    for (const [name, value] of Object.entries(SECRETS)) expect(inherited[name], name).to.equal(value);
    expect(inherited.CI).to.equal('true');

    ws.write('pipeline.yaml', `version: 1\ninheritEnv: true\nstages:\n  plain:\n    cmd: ${DUMP}\n    cache: false\n  own:\n    cmd: ${DUMP}\n    inheritEnv: false\n    cache: false\n`);
    const again = await ws.run(['run'], { env: RUNNER_ENV });
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(seen(ws, 'plain').FOO_TOKEN).to.equal(SECRETS.FOO_TOKEN);
    expect(seen(ws, 'own')).to.not.have.property('FOO_TOKEN');
  });

  it('a module stage in a host started ahead of need: neither the stage nor any host /proc/PID/environ holds the credentials', async function () {
    if (process.platform !== 'linux') this.skip();
    const probe = `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
export default async function (ctx: any): Promise<void> {
  const initial = readFileSync('/proc/self/environ', 'utf8').split('\\0').filter(Boolean);
  writeFileSync(ctx.workspace + '/' + ctx.stage + '.env.json', JSON.stringify(process.env));
  writeFileSync(ctx.workspace + '/' + ctx.stage + '.ahead', String(initial.every((v) => !v.startsWith('PIPELINE_STAGE='))));
  writeFileSync(ctx.workspace + '/' + ctx.stage + '.started', String(process.pid));
  while (!existsSync(ctx.workspace + '/release-' + ctx.stage)) await new Promise((r) => setTimeout(r, 20));
  for (const file of Object.values(ctx.outs) as string[]) writeFileSync(file, 'done');
}
`;
    const stage = (name: string, needs: string) => `  ${name}:\n    module: mod/probe.ts\n${needs}    env: {MINE: declared}\n    passEnv: [PASSED]\n    outs: [build/${name}.txt]\n`;
    const ws = workspace(`version: 1\nstages:\n${stage('first', '')}${stage('second', '    needs: [first]\n')}`, { 'mod/probe.ts': probe });
    const child = ws.spawn(['run', '--jobs', '1'], { env: RUNNER_ENV });
    for (const name of ['first', 'second']) {
      await waitFor(() => ws.exists(`${name}.started`), 60_000, `stage ${name} to start`, child);
      // The stage's host and the one waiting for the next stage: each one's initial environment, read from outside.
      const hosts = processesOf(ws.dir);
      expect(hosts.length, 'hosts of the workspace').to.be.at.least(1);
      for (const host of hosts) {
        const environ = readFileSync(`/proc/${host.pid}/environ`, 'utf8');
        for (const [secret, value] of Object.entries({ ...SECRETS, PASSED: 'passed-value' })) expect(environ, `${secret} in host ${host.pid}`).to.not.include(value);
        expect(environ).to.include('SLURM_X=slurm-x');
      }
      ws.write(`release-${name}`, '');
    }
    const r = await child.result;
    expect(r.exitCode, r.stderr).to.equal(0);
    for (const name of ['first', 'second']) {
      expect(ws.read(`${name}.ahead`), `${name} ran in a host started ahead`).to.equal('true');
      const env = seen(ws, name);
      expect([env.PASSED, env.MINE, env.LC_ALL, env.SLURM_X, env.PIPELINE_STAGE]).to.deep.equal(['passed-value', 'declared', 'C.UTF-8', 'slurm-x', name]);
      for (const secret of Object.keys(SECRETS)) expect(env, `${name}: ${secret}`).to.not.have.property(secret);
      const unexpected = Object.keys(env).filter((n) => !ALLOWED.test(n) && !['MINE', 'PASSED', TOKEN_VARIABLE].includes(n));
      expect(unexpected).to.deep.equal([]);
    }
  });

  it('validate lists, per stage, the variables of the current environment it no longer gets: names only, never values', async () => {
    const ws = workspace(
      `version: 1\nstages:\n  plain: {cmd: [node, -e, '0']}\n  passes: {cmd: [node, -e, '0'], passEnv: [FOO_TOKEN]}\n  inherits: {cmd: [node, -e, '0'], inheritEnv: true}\n`,
    );
    // Plain `validate` checks the file and says nothing of the shell; `--env` lists.
    const plain = await ws.run(['validate'], { env: RUNNER_ENV });
    expect([plain.exitCode, plain.stderr]).to.deep.equal([0, '']);
    const text = await ws.run(['validate', '--env'], { env: RUNNER_ENV });
    expect(text.exitCode, text.stderr).to.equal(0);
    const lines = text.stderr.split('\n');
    const listed = (stage: string) => lines.find((l) => l.startsWith(`  ${stage}: `))?.slice(stage.length + 4).split(', ');
    expect(lines[0]).to.match(/^note: stages get the base set of the environment \(PATH, HOME, .*\), their `env` and their `passEnv`; these variables of this environment no longer reach them/);
    expect(listed('plain')).to.include.members(['AWS_SECRET_ACCESS_KEY', 'PIPELINE_REMOTE_SIGNING_KEY', 'FOO_TOKEN', 'PASSED', 'CI']);
    expect(listed('passes')).to.include.members(['AWS_SECRET_ACCESS_KEY', 'PASSED']).and.not.include('FOO_TOKEN');
    expect(listed('inherits')).to.equal(undefined);
    for (const stage of ['plain', 'passes']) expect(listed(stage)).to.not.include.members(['PATH', 'HOME', 'LANG', 'LC_ALL', 'SLURM_X']);
    const json = await ws.run(['validate', '--json'], { env: RUNNER_ENV });
    expect(json.json.ok).to.equal(true);
    expect(Object.keys(json.json.withheldEnv)).to.deep.equal(['plain', 'passes']);
    expect(json.json.withheldEnv.plain).to.deep.equal(listed('plain'));
    for (const value of Object.values(RUNNER_ENV).filter((v) => v.length > 8)) expect(text.stdout + text.stderr + json.stdout).to.not.include(value);
  });
});
