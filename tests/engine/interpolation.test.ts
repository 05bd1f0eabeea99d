// `${param}` through the real CLI: refusals with the reference's own position (validate, --json), the `$${` escape,
// a dep a `--set` points at another stage's out (refused up front by validate, status and run, naming the `--set`),
// and a dep on an upstream's out on a clean checkout (checked once the upstream ran; a dry run says "produced by").
import { expect } from 'chai';
import { cleanupAll, makeWorkspace } from '../helpers/workspace.js';

after(cleanupAll);

describe('engine: ${param} refused where it would become code, at its place', () => {
  it('validate --json lists each refused reference at its line:col with its code', async () => {
    const yaml = [
      'version: 1',
      'params: {x: hello}',
      'stages:',
      '  a:',
      '    shell: true',
      '    cmd: |',
      '      echo "$(echo ${x})" `echo ${x}`',
      '      bash -lc "echo ${x}"',
      '  b:',
      '    cmd: [sh, -c, "echo ${x}"]',
      '  c:',
      "    cmd: node -e 'console.log(`${HOME:-x}`)'",
      '',
    ].join('\n');
    const ws = makeWorkspace({ yaml });
    const r = await ws.run(['validate', '--json']);
    expect(r.exitCode).to.equal(2);
    const got = (r.json.diagnostics as { code: string; line: number; col: number; message: string; hint: string }[]).map((d) => [d.code, d.line, d.col]);
    expect(got).to.have.deep.members([
      ['unsafe-interpolation', 7, 20],
      ['unsafe-interpolation', 7, 33],
      ['unsafe-interpolation', 8, 22],
      ['unsafe-interpolation', 10, 25],
      ['unknown-interpolation', 12, 32],
    ]);
    const unknown = r.json.diagnostics.find((d: { code: string }) => d.code === 'unknown-interpolation');
    expect(unknown.hint).to.contain('$${');
  });

  it('runs a shell line whose $${ reaches the shell and whose value is quoted', async () => {
    const yaml = [
      'version: 1',
      'params: {x: plain}',
      'stages:',
      '  a:',
      '    shell: true',
      `    cmd: printf '%s|%s|%s' "$\${UNSET_FOR_TEST:-dflt}" "\${x}" '\${x}' > out.txt`,
      '    outs: [out.txt]',
      '',
    ].join('\n');
    const ws = makeWorkspace({ yaml });
    const value = `it's "$(touch PWNED)" \`touch PWNED\` \\ $HOME`;
    const r = await ws.run(['run', '--set', `x=${JSON.stringify(value)}`]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.read('out.txt')).to.equal(`dflt|${value}|${value}`);
    expect(ws.exists('PWNED')).to.equal(false);
  });
});

describe('engine: a dep a ${param} produced is checked like a literal one', () => {
  const yaml = [
    'version: 1',
    'stages:',
    '  make:',
    "    cmd: [sh, -c, 'echo made > build.txt']",
    '    outs: [build.txt]',
    '  use:',
    '    cmd: [cat, "${src}"]',
    '    params: {src: input.txt}',
    '    deps: ["${src}"]',
    '',
  ].join('\n');

  for (const command of [['validate'], ['status'], ['run'], ['run', '--dry-run']]) {
    it(`${command.join(' ')} --set use.src=<an out of make> is refused up front (exit 2)`, async () => {
      const ws = makeWorkspace({ yaml, files: { 'input.txt': 'in\n' } });
      const r = await ws.run([...command, '--set', 'use.src=build.txt']);
      expect(r.exitCode, r.stdout).to.equal(2);
      expect(r.stderr).to.contain('error: pipeline.yaml:9:12: stage `use`: dep `${src}` is `build.txt`, which stage `make` writes, and `use` does not need `make`');
      expect(r.stderr).to.contain('related: pipeline.yaml:5:12: stage `make` writes `build.txt` here');
      expect(r.stderr).to.contain('related: --set use.src=build.txt:1:15: `src` is set here');
      expect(ws.exists('build.txt')).to.equal(false);
    });
  }

  it('a value that names no out passes', async () => {
    const ws = makeWorkspace({ yaml, files: { 'input.txt': 'in\n', 'other.txt': 'o\n' } });
    expect((await ws.run(['validate', '--set', 'use.src=other.txt'])).exitCode).to.equal(0);
  });
});

describe('engine: a dep on an upstream out, on a clean checkout', () => {
  const yaml = [
    'version: 1',
    'stages:',
    '  fit:',
    "    cmd: [sh, -c, 'mkdir -p build && echo 0.9 > build/metrics.json']",
    '    outs: [build/metrics.json]',
    '  report:',
    "    cmd: [sh, -c, 'cat build/metrics.json > report.txt']",
    '    deps: [build/metrics.json]',
    '    needs: [fit]',
    '    outs: [report.txt]',
    '',
  ].join('\n');

  it('validate passes, the dry run and status say "produced by", and run reads it after fit ran', async () => {
    const ws = makeWorkspace({ yaml });
    expect((await ws.run(['validate'])).exitCode).to.equal(0);
    const dry = await ws.run(['run', '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).to.equal(0);
    const report = (dry.json.stages as { name: string; reasons: { code: string }[] }[]).find((s) => s.name === 'report')!;
    expect(report.reasons).to.deep.include({ code: 'dep-produced', message: 'dep `build/metrics.json` is produced by `fit`', path: 'build/metrics.json', stage: 'fit' });
    const status = await ws.run(['status']);
    expect(status.stdout).to.contain('dep `build/metrics.json` is produced by `fit`');
    expect(status.stdout).to.not.contain('does not exist');
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.read('report.txt')).to.equal('0.9\n');
  });

  it('the dep is still checked once fit ran: a fit that writes it elsewhere fails report, not the run up front', async () => {
    const ws = makeWorkspace({ yaml: yaml.replace('outs: [build/metrics.json]', 'outs: [build]').replace('deps: [build/metrics.json]', 'deps: [build/metrics.json]').replace("echo 0.9 > build/metrics.json", 'echo 0.9 > build/other.json') });
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(r.stdout + r.stderr).to.contain('dep `build/metrics.json` does not exist');
  });
});
