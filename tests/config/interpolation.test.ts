// `${param}` in commands: each value quoted for the context it stands in and run by the real /bin/sh (and bash), which
// must print it byte for byte and run nothing else; the contexts no quoting makes safe and the code arguments of
// known interpreters refused; `$${` a literal `${`.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { argvCodeWords, quoteFor, shellLine } from '../../runner/config/interpolation.js';
import { refsOf, substitute } from '../../runner/config/refs.js';
import { splitCommand } from '../../runner/config/command-line.js';

/** Values that would run `touch PWNED` (or break out) if any reached the shell as code. */
const HOSTILE = [
  '$(touch PWNED)',
  '`touch PWNED`',
  "'; touch PWNED; '",
  '"; touch PWNED; "',
  "a'b\"c`d$e\\f",
  '\\',
  "'",
  '"',
  '$',
  '${HOME}',
  '$((1+1))',
  'line1\ntouch PWNED\nline3',
  '-rf',
  '--eval=x',
  ' spaced  out ',
  '*',
  '~',
  '#not a comment',
  'a\\\nb',
  "\\'",
  '\\"',
  "it's $(touch PWNED) `touch PWNED` \"x\" \\ ' end",
  'ünïcødé ✓',
  '',
];

/** Commands with `${x}` in each context a value can be quoted in, and how the printed value looks. */
const CONTEXTS: { cmd: string; printed: (v: string) => string }[] = [
  { cmd: "printf '%s' ${x}", printed: (v) => v },
  { cmd: "printf '%s' \"${x}\"", printed: (v) => v },
  { cmd: "printf '%s' '${x}'", printed: (v) => v },
  { cmd: "printf '%s' pre${x}post", printed: (v) => `pre${v}post` },
  { cmd: "printf '%s' \"pre ${x} post\"", printed: (v) => `pre ${v} post` },
  { cmd: "printf '%s' 'pre ${x} post'", printed: (v) => `pre ${v} post` },
  { cmd: "printf '%s' \"a\"'${x}'\"b\"", printed: (v) => `a${v}b` },
  { cmd: "X=${x}; printf '%s' \"$X\"", printed: (v) => v },
  { cmd: "printf '%s' \"${x}\" > out2 && cat out2", printed: (v) => v },
  { cmd: "printf '%s' ${x}${x}", printed: (v) => v + v },
  { cmd: "if true; then printf '%s' \"${x}\"; fi", printed: (v) => v },
  { cmd: "for i in 1; do printf '%s' '${x}'; done", printed: (v) => v },
  { cmd: "printf '%s' \"$(printf '%s' ok)${x}\"", printed: (v) => `ok${v}` },
  { cmd: "printf '%s' ${x} # trailing comment", printed: (v) => v },
  { cmd: "printf '%s' \"${x}\" | cat", printed: (v) => v },
  { cmd: "case a in a) printf '%s' \"${x}\";; esac", printed: (v) => v },
];

const SHELLS = ['/bin/sh', ...(existsSync('/bin/bash') ? ['/bin/bash'] : [])];

describe('config: ${param} quoted for its shell context', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'interp-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const shell of SHELLS) {
    for (const { cmd, printed } of CONTEXTS) {
      it(`${shell}: ${cmd}`, () => {
        for (const value of HOSTILE) {
          const line = shellLine(cmd, () => value);
          expect(line.problems, `${cmd} with ${JSON.stringify(value)}`).to.deep.equal([]);
          const out = execFileSync(shell, ['-c', line.text!], { cwd: dir, encoding: 'buffer' });
          expect(out.toString('utf8'), `${cmd} with ${JSON.stringify(value)} ran ${JSON.stringify(line.text)}`).to.equal(printed(value));
          expect(existsSync(path.join(dir, 'PWNED')), `${cmd} with ${JSON.stringify(value)} ran code`).to.equal(false);
        }
      });
    }
  }

  it('quotes each context the POSIX way', () => {
    expect(quoteFor('unquoted', "a'b")).to.equal(`'a'\\''b'`);
    expect(quoteFor('single', "a'b")).to.equal(`a'\\''b`);
    expect(quoteFor('double', 'a$b`c"d\\e')).to.equal('a\\$b\\`c\\"d\\\\e');
  });
});

describe('config: ${param} refused where no quoting is safe', () => {
  const refused: [string, RegExp][] = [
    ["echo $(echo ${x})", /command substitution/],
    ["echo \"$( echo '${x}' )\"", /command substitution/],
    ['echo `echo ${x}`', /backquotes/],
    ['echo "`echo ${x}`"', /backquotes/],
    ['echo $((1 + ${x}))', /arithmetic expansion/],
    ['((n = ${x}))', /arithmetic command/],
    ['echo $${y:-${x}}', /shell `\$\{…\}` expansion/],
    ['cat <<EOF\n${x}\nEOF', /here-document/],
    ["cat <<'EOF'\n${x}\nEOF", /here-document/],
    ['cat <<-EOF\n\t${x}\n\tEOF', /here-document/],
    ['cat <<${x}\nhi\n${x}', /here-document/],
    ['echo hi # ${x}', /comment/],
    ["echo $'${x}'", /\$'…'/],
    ['echo $"${x}"', /\$"…"/],
    ['echo \\${x}', /backslash/],
    ['echo "\\${x}"', /backslash/],
    ['[[ ${x} -eq 1 ]]', /\[\[/],
    ['diff <(echo ${x}) b', /process substitution/],
    ['echo "$(case a in a) echo;; esac)" ${x}', /cannot read with certainty/],
    ["echo 'unterminated ${x}", /cannot read with certainty/],
    ['echo "$(echo # )" ${x}\n)"', /cannot read with certainty/],
    ['bash -lc "echo ${x}"', /`bash` runs its `-c` script/],
    ["sh -c 'echo ${x}'", /`sh` runs its `-c` script/],
    ['/usr/bin/env sh -e -c "${x}"', /`sh` runs its `-c` script/],
    ['timeout 5 zsh -o errexit -c "${x}"', /`zsh` runs its `-c` script/],
    ["find . -exec dash -c 'echo ${x}' \\;", /`dash` runs its `-c` script/],
    ['python3 -c "print(${x})"', /`python3` runs its `-c` argument/],
    ['python3 -Ic "print(${x})"', /`python3` runs its `-c` argument/],
    ['node -e "${x}"', /`node` runs its `-e`\/`-p` argument/],
    ['node --eval=${x}', /`node`/],
    ['node -pe "${x}"', /`node`/],
    ["perl -lne 'print ${x}'", /`perl`/],
    ['ruby -e "${x}"', /`ruby`/],
    ['eval "${x}"', /`eval`/],
    ["trap '${x}' EXIT", /`trap`/],
    ['ssh host ls ${x}', /`ssh`/],
    ["awk '{print ${x}}' f", /`awk`/],
    ['sed "s/a/${x}/" f', /`sed`/],
    ['sed -e "s/a/${x}/" f', /`sed`/],
    ['$PY -c "${x}"', /shell expansion/],
    ['declare -i n=${x}', /`declare`/],
    ['printf -v ${x} %s a', /`printf`/],
  ];
  for (const [cmd, why] of refused) {
    it(JSON.stringify(cmd), () => {
      const { problems } = shellLine(cmd);
      expect(problems.length, JSON.stringify(problems)).to.be.greaterThan(0);
      expect(problems.map((p) => p.why).join(' | ')).to.match(why);
      for (const p of problems) expect(cmd.slice(p.start, p.end)).to.equal('${x}');
    });
  }

  const allowed = [
    "sh -c 'echo \"$1\"' sh \"${x}\"",
    "python3 script.py -c ${x}",
    'node script.js --eval ${x}',
    "awk -v n=\"${x}\" '{print n}' ${x}",
    'sed -f script.sed ${x}',
    'echo sh',
    'A=${x} B="${x}" make',
    'cmd > "${x}" 2>> ${x}',
    'echo $HOME "${x}"',
    'echo "$(date)" ${x}',
    'echo `date` ${x}',
    'echo $((1+2)) ${x}',
    'cat <<EOF\nhi\nEOF\necho ${x}',
    'echo $${HOME:-/tmp} ${x}',
    'echo hi # comment\necho ${x}',
  ];
  for (const cmd of allowed) it(`allows ${JSON.stringify(cmd)}`, () => expect(shellLine(cmd).problems).to.deep.equal([]));
});

describe('config: ${param} in the code of a known interpreter (argv form)', () => {
  const cases: [string[], number[]][] = [
    [['sh', '-c', 'echo ${x}'], [2]],
    [['/bin/sh', '-c', 'echo ${x}'], [2]],
    [['bash', '-lc', 'echo ${x}'], [2]],
    [['bash', '-e', '-o', 'pipefail', '-c', '${x}'], [5]],
    [['env', 'A=1', 'sh', '-c', '${x}'], [4]],
    [['zsh', '-c', '${x}'], [2]],
    [['dash', '-c', '${x}'], [2]],
    [['ksh', '-c', '${x}'], [2]],
    [['node', '-e', 'console.log(${x})'], [2]],
    [['node', '--eval', '${x}'], [2]],
    [['node', '-p', '${x}'], [2]],
    [['python', '-c', '${x}'], [2]],
    [['python3', '-c', '${x}'], [2]],
    [['python3.11', '-u', '-c', '${x}'], [3]],
    [['perl', '-e', '${x}'], [2]],
    [['ruby', '-e', '${x}'], [2]],
    [['sh', '-c', 'echo "$1"', 'sh', '${x}'], []],
    [['python3', 'train.py', '-c', '${x}'], []],
    [['node', 'app.js', '-e', '${x}'], []],
    [['echo', '${x}'], []],
  ];
  for (const [argv, refused] of cases) {
    it(JSON.stringify(argv), () => expect(argvCodeWords(argv).map((r) => r.index)).to.deep.equal(refused));
  }

  it('checks a program named by a value, and a value that is an option, once the values are known', () => {
    expect(argvCodeWords(['${p}', '-c', '${x}'], (r) => (r.name === 'p' ? '/usr/bin/bash' : 'v')).map((r) => r.index)).to.deep.equal([2]);
    expect(argvCodeWords(['${p}', '-c', '${x}'], (r) => (r.name === 'p' ? 'cat' : 'v'))).to.deep.equal([]);
    expect(argvCodeWords(['python3', '${x}'], () => '-cimport os').map((r) => r.index)).to.deep.equal([1]);
    expect(argvCodeWords(['python3', '${x}'], () => 'script.py')).to.deep.equal([]);
  });

  it('splits a cmd string the same way: the value stays one word', () => {
    expect(splitCommand('sh -c "echo ${x}"')).to.deep.equal(['sh', '-c', 'echo ${x}']);
    expect(splitCommand("node x.js '${x}' \"$${HOME:-/tmp}\"")).to.deep.equal(['node', 'x.js', '${x}', '$${HOME:-/tmp}']);
  });
});

describe('config: the $${ escape', () => {
  it('is a literal ${ in every key, read from the left', () => {
    expect(substitute('a $${HOME:-/tmp} ${x} `${y}`', (r) => r.name.toUpperCase())).to.equal('a ${HOME:-/tmp} X `Y`');
    expect(substitute('$${x}', () => 'V')).to.equal('${x}');
    expect(refsOf('$${a} ${b} $$${c}').map((r) => r.name)).to.deep.equal(['b']);
  });
  it('reaches the shell as a shell expansion', () => {
    const line = shellLine("printf '%s' \"$${UNSET_VAR:-fallback}\" '${x}'", () => 'v');
    expect(line.text).to.equal("printf '%s' \"${UNSET_VAR:-fallback}\" 'v'");
    expect(execFileSync('/bin/sh', ['-c', line.text!], { encoding: 'utf8', env: { PATH: process.env.PATH } })).to.equal('fallbackv');
  });
});

describe('config: a value in a here-string or a redirection target', () => {
  it('stays one word', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'interp-'));
    try {
      const line = shellLine('printf %s hi > "${x}"', () => 'a b$(touch PWNED)');
      execFileSync('/bin/sh', ['-c', line.text!], { cwd: dir });
      expect(readFileSync(path.join(dir, 'a b$(touch PWNED)'), 'utf8')).to.equal('hi');
      expect(existsSync(path.join(dir, 'PWNED'))).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
