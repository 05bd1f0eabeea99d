// Hostile `${param}` values, from the file and from `--set`, through real runs: a `shell: true` line with the value in
// every quotable context, an argv command, an env value, a dep. Each value must arrive byte for byte (the stage writes
// what it got to a file) and nothing else may run (a marker file is never created); a value no command can carry
// (NUL) is refused with exit 2 before anything runs.
import { expect } from 'chai';
import { cleanupAll, makeWorkspace } from '../helpers/workspace.js';

after(cleanupAll);

const VALUES = [
  '$(touch PWNED)',
  '`touch PWNED`',
  "'; touch PWNED; echo '",
  '"; touch PWNED; echo "',
  "it's \"$(touch PWNED)\" `touch PWNED` \\ ' $HOME ${HOME} $((1+1))",
  'line1\ntouch PWNED\n',
  '\\',
  '-rf',
  '#',
  '*',
  '',
];

/** A --set value for `text`: a YAML double-quoted string (parsed back to exactly `text`). */
const asSet = (text: string) => JSON.stringify(text);

const yaml = (cmdShell: string) =>
  [
    'version: 1',
    'params: {x: plain}',
    'stages:',
    '  shell:',
    '    shell: true',
    `    cmd: ${JSON.stringify(cmdShell)}`,
    '    outs: [shell.out]',
    '  argv:',
    '    cmd: [node, -e, "require(\'fs\').writeFileSync(\'argv.out\', process.argv.slice(1).join(\'|\'))", "--", "${x}", "pre${x}post"]',
    '    outs: [argv.out]',
    '  env:',
    "    cmd: [node, -e, \"require('fs').writeFileSync('env.out', process.env.X)\"]",
    '    env: {X: "${x}"}',
    '    outs: [env.out]',
    '',
  ].join('\n');

const SHELL_CMD = `printf '%s|%s|%s|%s' \${x} "\${x}" '\${x}' "a"'\${x}'"b" > shell.out`;

describe('torture: hostile ${param} values never run as code', function () {
  this.timeout(600_000);
  for (const value of VALUES) {
    it(`--set x=${JSON.stringify(value)}`, async () => {
      const ws = makeWorkspace({ yaml: yaml(SHELL_CMD), prefix: 'hostile-interp-' });
      const r = await ws.run(['run', '--set', `x=${asSet(value)}`]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(ws.read('shell.out')).to.equal([value, value, value, `a${value}b`].join('|'));
      expect(ws.read('argv.out')).to.equal(`${value}|pre${value}post`);
      expect(ws.read('env.out')).to.equal(value);
      expect(ws.exists('PWNED'), 'a value ran as code').to.equal(false);
    });
  }

  it('the same values from the file itself', async () => {
    for (const value of VALUES.slice(0, 6)) {
      const ws = makeWorkspace({ yaml: yaml(SHELL_CMD).replace('params: {x: plain}', `params: {x: ${JSON.stringify(value)}}`), prefix: 'hostile-interp-' });
      const r = await ws.run(['run']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(ws.read('shell.out')).to.equal([value, value, value, `a${value}b`].join('|'));
      expect(ws.exists('PWNED')).to.equal(false);
    }
  });

  it('a NUL in a value for a command or an env value is refused before anything runs (exit 2)', async () => {
    const ws = makeWorkspace({ yaml: yaml(SHELL_CMD), prefix: 'hostile-interp-' });
    const r = await ws.run(['run', '--set', 'x="a\\0b"']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.contain('holds a NUL character');
    expect(r.stderr).to.contain('--set x="a\\0b"');
    expect(ws.exists('shell.out')).to.equal(false);
  });

  it('a --set cannot turn a known interpreter\'s option into code: python3/node with a value that is a flag', async () => {
    const ws = makeWorkspace({
      yaml: ['version: 1', 'params: {x: a.js}', 'stages:', '  a:', '    cmd: [node, "${x}"]', ''].join('\n'),
      prefix: 'hostile-interp-',
    });
    const r = await ws.run(['run', '--set', `x=${asSet("--eval=require('fs').writeFileSync('PWNED','')")}`]);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/stage `a`: `\$\{x\}` \(argument 1 of the command\) cannot take a value: .*`node`/);
    expect(ws.exists('PWNED')).to.equal(false);
  });

  it('a --set dep with hostile characters is a path, never a command', async () => {
    const ws = makeWorkspace({
      yaml: ['version: 1', 'params: {src: in.txt}', 'stages:', '  a:', '    cmd: [cp, "${src}", out.txt]', '    deps: ["${src}"]', '    outs: [out.txt]', ''].join('\n'),
      files: { '$(touch PWNED); x.txt': 'data\n' },
      prefix: 'hostile-interp-',
    });
    const r = await ws.run(['run', '--set', `src=${asSet('$(touch PWNED); x.txt')}`]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.read('out.txt')).to.equal('data\n');
    expect(ws.exists('PWNED')).to.equal(false);
  });
});
