// `cmd:` strings become argv without a shell: POSIX word splitting and quoting, shell syntax refused.
import { expect } from 'chai';
import { CommandSyntaxError, splitCommand } from '../../runner/config/command-line.js';

function syntaxError(line: string): CommandSyntaxError {
  try {
    splitCommand(line);
  } catch (err) {
    if (err instanceof CommandSyntaxError) return err;
    throw err;
  }
  throw new Error(`no error for ${line}`);
}

describe('config: splitting cmd strings into argv', () => {
  const cases: [string, string[]][] = [
    ['node scripts/prepare.js', ['node', 'scripts/prepare.js']],
    ['  node   a\tb  ', ['node', 'a', 'b']],
    ['echo "a b" \'c d\'', ['echo', 'a b', 'c d']],
    ['echo a\\ b', ['echo', 'a b']],
    ['echo "x"y\'z\'', ['echo', 'xyz']],
    ['echo "" \'\'', ['echo', '', '']],
    ['echo "say \\"hi\\"" "back\\\\slash" "\\n stays"', ['echo', 'say "hi"', 'back\\slash', '\\n stays']],
    ["echo 'no $expansion here' '\\literal'", ['echo', 'no $expansion here', '\\literal']],
    ['echo "price: 5$" a=$', ['echo', 'price: 5$', 'a=$']],
    ['node -e "console.log(1 + 2)"', ['node', '-e', 'console.log(1 + 2)']],
    ['echo \\| \\> "a|b" \'c;d\'', ['echo', '|', '>', 'a|b', 'c;d']],
    ['echo line\\\ncontinued', ['echo', 'linecontinued']],
    ['python3 -m pkg --flag=1 *.csv ~/x', ['python3', '-m', 'pkg', '--flag=1', '*.csv', '~/x']],
    ['', []],
    ['   ', []],
  ];
  for (const [line, argv] of cases) {
    it(JSON.stringify(line), () => expect(splitCommand(line)).to.deep.equal(argv));
  }

  const errors: [string, number, string][] = [
    ["echo 'unclosed", 5, 'unbalanced single quote'],
    ['echo "unclosed \\"', 5, 'unbalanced double quote'],
    ['echo ok\\', 7, 'trailing backslash'],
    ['cat a | sort', 6, '`|` is shell syntax'],
    ['echo a > out.txt', 7, '`>` is shell syntax'],
    ['a && b', 2, '`&` is shell syntax'],
    ['a; b', 1, '`;` is shell syntax'],
    ['echo $HOME', 5, '`$` expansion needs a shell'],
    ['echo "$(date)"', 6, '`$` expansion needs a shell'],
    ['echo `date`', 5, 'backquote substitution needs a shell'],
    ['echo (a)', 5, '`(` is shell syntax'],
  ];
  for (const [line, index, message] of errors) {
    it(`refuses ${JSON.stringify(line)} at index ${index}`, () => {
      const err = syntaxError(line);
      expect(err.message).to.equal(message);
      expect(err.index).to.equal(index);
      expect(err.hint).to.be.a('string');
    });
  }
});
