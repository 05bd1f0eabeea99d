// Programs that run an argument as code: a value passed to them there is code again, however well it is quoted
// (`sh -c "… ${x} …"`, `python3 -c`, `node -e`, `eval`, an awk or sed program, ssh's remote command). Given the words
// of a command (an argv list, a `cmd` string split into words, or a simple command of a `shell: true` line), this
// says which words holding a reference are such code, and why. The program is found anywhere in the words, so
// wrappers are seen through (`env sh -c`, `timeout 5 bash -lc`, `find … -exec sh -c`, `docker run img sh -c`);
// shell builtins only where a command name stands. A word that merely looks like a program (`echo sh -c ${x}`) is
// refused too: refusing is the safe side, and the fix (pass the value through `env:`) always works.

/**
 * A word: its text (undefined when a shell expansion makes it unknown; a reference not resolved yet stands as `\0`),
 * whether it holds a reference, and whether it starts with one.
 */
export interface ArgWord {
  text?: string;
  refs: boolean;
  valueFirst?: boolean;
}

export interface CodeRefusal {
  index: number;
  why: string;
}

type Rule =
  /** A shell: a flag cluster with `c` makes its first operand the script. */
  | { kind: 'shell' }
  /** Options until the first operand (the script file); `letters` in a short cluster, or a `long` option, take code next (or attached). */
  | { kind: 'flag'; letters: string; long?: string[]; takesArg?: string[]; stop?: string[]; sub?: string[]; rest?: boolean }
  /** awk, sed: the first operand is the program unless a code or file option gave it. */
  | { kind: 'program'; code: string[]; file: string[]; takesArg: string[] }
  /** Every operand is code (eval, ssh, watch). */
  | { kind: 'all' }
  /** The first operand is code (trap). */
  | { kind: 'first' };

interface Program {
  name: RegExp;
  rule: Rule;
  /** A shell builtin: only where a command name stands. */
  builtin?: boolean;
  /** Why a reference in its code is refused (after `label`). */
  what: string;
}

const SHELL: Rule = { kind: 'shell' };
const PROGRAMS: Program[] = [
  { name: /^(sh|bash|dash|zsh|ksh|ksh93|mksh|lksh|pdksh|ash|yash|posh|fish|csh|tcsh|rbash)$/, rule: SHELL, what: 'runs its `-c` script as shell code' },
  { name: /^(node|nodejs|bun)$/, rule: { kind: 'flag', letters: 'ep', long: ['--eval', '--print'], takesArg: ['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--title'] }, what: 'runs its `-e`/`-p` argument as JavaScript' },
  { name: /^deno$/, rule: { kind: 'flag', letters: '', sub: ['eval'] }, what: 'runs its `eval` argument as code' },
  { name: /^(python|pypy)[0-9.]*$/, rule: { kind: 'flag', letters: 'c', takesArg: ['-W', '-X', '-Q'], stop: ['-m'] }, what: 'runs its `-c` argument as Python' },
  { name: /^perl[0-9.]*$/, rule: { kind: 'flag', letters: 'eE', takesArg: ['-I', '-M', '-m'] }, what: 'runs its `-e` argument as Perl' },
  { name: /^j?ruby[0-9.]*$/, rule: { kind: 'flag', letters: 'e', takesArg: ['-I', '-r', '-C', '-E'] }, what: 'runs its `-e` argument as Ruby' },
  { name: /^php[0-9.]*$/, rule: { kind: 'flag', letters: 'rBRE', takesArg: ['-c', '-d', '-z'] }, what: 'runs its `-r` argument as PHP' },
  { name: /^(Rscript|R)$/, rule: { kind: 'flag', letters: 'e' }, what: 'runs its `-e` argument as R' },
  { name: /^(lua|luajit)[0-9.]*$/, rule: { kind: 'flag', letters: 'e', takesArg: ['-l'] }, what: 'runs its `-e` argument as Lua' },
  { name: /^julia$/, rule: { kind: 'flag', letters: 'eE', long: ['--eval', '--print'] }, what: 'runs its `-e` argument as Julia' },
  { name: /^osascript$/, rule: { kind: 'flag', letters: 'e' }, what: 'runs its `-e` argument as a script' },
  { name: /^(pwsh|powershell)(\.exe)?$/, rule: { kind: 'all' }, what: 'runs its arguments as PowerShell' },
  { name: /^(su|runuser|script)$/, rule: { kind: 'flag', letters: 'c', long: ['--command', '--session-command'], takesArg: ['-s', '--shell', '-g', '--group', '-G', '--supp-group', '-u', '--user'] }, what: 'runs its `-c` argument through a shell' },
  { name: /^flock$/, rule: { kind: 'flag', letters: 'c', long: ['--command'], takesArg: ['-w', '--wait', '--timeout', '-E', '--conflict-exit-code'], rest: false }, what: 'runs its `-c` argument through a shell' },
  { name: /^sudo$/, rule: { kind: 'flag', letters: 'si', long: ['--shell', '--login'], takesArg: ['-u', '--user', '-g', '--group', '-C', '--close-from', '-D', '--chdir', '-h', '--host', '-p', '--prompt', '-r', '--role', '-t', '--type', '-U', '--other-user', '-T', '--command-timeout'], rest: true }, what: 'runs its command through a shell with `-s`/`-i`' },
  { name: /^env$/, rule: { kind: 'flag', letters: 'S', long: ['--split-string'], takesArg: ['-u', '--unset', '-C', '--chdir'] }, what: 'splits its `-S` argument into a command line' },
  { name: /^(ssh|watch|parallel)$/, rule: { kind: 'all' }, what: 'runs its arguments through a shell' },
  { name: /^(g|m|n)?awk$/, rule: { kind: 'program', code: ['-e', '--source'], file: ['-f', '--file'], takesArg: ['-F', '-v', '--field-separator', '--assign', '-i', '--include', '-l', '--load'] }, what: "runs its program (awk's `system()` runs commands)" },
  { name: /^g?sed$/, rule: { kind: 'program', code: ['-e', '--expression'], file: ['-f', '--file'], takesArg: ['-l', '--line-length'] }, what: "runs its script (GNU sed's `e` runs commands)" },
  { name: /^(eval|let)$/, rule: { kind: 'all' }, builtin: true, what: 'runs its arguments as shell code' },
  { name: /^trap$/, rule: { kind: 'first' }, builtin: true, what: 'runs its first argument as shell code' },
  { name: /^(declare|typeset|local|read|unset|mapfile|readarray|getopts)$/, rule: { kind: 'all' }, builtin: true, what: 'takes variable names and attributes, which bash evaluates as arithmetic' },
  { name: /^printf$/, rule: { kind: 'flag', letters: 'v' }, builtin: true, what: 'takes a variable name after `-v`, which bash evaluates as arithmetic' },
  { name: /^(test|\[)$/, rule: { kind: 'flag', letters: 'vR' }, builtin: true, what: 'takes a variable name after `-v`, which bash evaluates as arithmetic' },
];

/** Words before the command name that hand it on as a builtin. */
const BUILTIN_PREFIX = new Set(['command', 'builtin']);

function programOf(text: string | undefined, commandName: boolean): Program | undefined {
  if (text === undefined) return undefined;
  const base = text.slice(text.lastIndexOf('/') + 1);
  return PROGRAMS.find((p) => p.name.test(base) && (!p.builtin || (commandName && base === text)));
}

/** The words holding a reference that a program among `words` runs as code. */
export function codeRefusals(words: ArgWord[]): CodeRefusal[] {
  const out = new Map<number, string>();
  let commandName = true;
  words.forEach((w, j) => {
    if (j === 0 && w.text === undefined) {
      for (let m = 1; m < words.length; m++)
        if (words[m].refs) out.set(m, 'the program it is passed to is chosen by a shell expansion, so what it does with the value cannot be checked');
      return;
    }
    const program = programOf(w.text, commandName);
    commandName = commandName && w.text !== undefined && BUILTIN_PREFIX.has(w.text);
    if (!program) return;
    const label = `\`${w.text!.slice(w.text!.lastIndexOf('/') + 1)}\``;
    const refuse = (m: number, why = `${label} ${program.what}`) => {
      if (words[m]?.refs && !out.has(m)) out.set(m, why);
    };
    const asOption = (m: number) => refuse(m, `its value begins with \`-\` and ${label} would read it as an option (options of ${label} can carry code)`);
    walk(program.rule, words, j + 1, refuse, asOption);
  });
  return [...out].map(([index, why]) => ({ index, why })).sort((a, b) => a.index - b.index);
}

/** A known word that a value turned into an option (`-c…`): only a resolved value can say. */
function valueOption(w: ArgWord): boolean {
  return Boolean(w.valueFirst && w.text !== undefined && /^[-+][A-Za-z]/.test(w.text));
}

function walk(rule: Rule, words: ArgWord[], from: number, refuse: (m: number) => void, asOption: (m: number) => void): void {
  switch (rule.kind) {
    case 'all':
      for (let m = from; m < words.length; m++) refuse(m);
      return;
    case 'first':
      for (let m = from; m < words.length; m++) {
        if (words[m].text?.startsWith('-') && !words[m].refs) continue;
        return refuse(m);
      }
      return;
    case 'shell':
      return walkShell(words, from, refuse, asOption);
    case 'program':
      return walkProgram(rule, words, from, refuse);
    case 'flag':
      return walkFlags(rule, words, from, refuse, asOption);
  }
}

const SHELL_ARG_OPTIONS = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file']);

function walkShell(words: ArgWord[], from: number, refuse: (m: number) => void, asOption: (m: number) => void): void {
  let code = false;
  for (let m = from; m < words.length; m++) {
    const t = words[m].text;
    if (valueOption(words[m])) asOption(m);
    if (t === undefined) {
      if (code) refuse(m);
      continue;
    }
    if (t === '--' || t === '-') {
      if (code) refuse(m + 1);
      return;
    }
    if (/^[-+]/.test(t)) {
      if (SHELL_ARG_OPTIONS.has(t)) m++;
      else if (/^-[A-Za-z]*c[A-Za-z]*$/.test(t) || t === '--command') code = true;
      else if (t.startsWith('--command=')) refuse(m);
      continue;
    }
    if (code) refuse(m);
    return;
  }
}

function walkFlags(rule: Extract<Rule, { kind: 'flag' }>, words: ArgWord[], from: number, refuse: (m: number) => void, asOption: (m: number) => void): void {
  const codeAll = (m: number) => {
    for (let k = m; k < words.length; k++) refuse(k);
  };
  for (let m = from; m < words.length; m++) {
    const t = words[m].text;
    if (valueOption(words[m])) asOption(m);
    if (t === undefined) continue;
    if (t === '--') return;
    if (t.startsWith('--')) {
      const name = t.split('=')[0];
      if (rule.long?.includes(name)) {
        if (rule.rest) return codeAll(t.includes('=') ? m : m + 1);
        if (t.includes('=')) refuse(m);
        else refuse(++m);
      } else if (rule.takesArg?.includes(t)) m++;
      continue;
    }
    if (t.startsWith('-') && t.length > 1) {
      if (rule.long?.includes(t)) {
        refuse(++m);
        continue;
      }
      const cluster = t.slice(1);
      const at = [...cluster].findIndex((ch) => rule.letters.includes(ch));
      if (at >= 0) {
        if (rule.rest) return codeAll(m + 1);
        // The code is attached (`-cCODE`) or the next word (`-c CODE`, `-pe CODE`): both are refused.
        refuse(m);
        refuse(++m);
      } else if (rule.stop?.includes(t)) return;
      else if (rule.takesArg?.includes(t)) m++;
      continue;
    }
    if (rule.sub?.includes(t)) refuse(m + 1);
    return;
  }
}

function walkProgram(rule: Extract<Rule, { kind: 'program' }>, words: ArgWord[], from: number, refuse: (m: number) => void): void {
  let given = false;
  for (let m = from; m < words.length; m++) {
    const t = words[m].text;
    if (t === undefined) {
      if (!given) refuse(m);
      continue;
    }
    if (t === '--') {
      if (!given) refuse(m + 1);
      return;
    }
    if (t.startsWith('-') && t.length > 1) {
      if (rule.code.includes(t)) {
        refuse(++m);
        given = true;
      } else if (rule.code.some((c) => (c.startsWith('--') ? t.startsWith(`${c}=`) : t.startsWith(c)))) {
        refuse(m);
        given = true;
      } else if (rule.file.includes(t)) {
        m++;
        given = true;
      } else if (rule.file.some((f) => (f.startsWith('--') ? t.startsWith(`${f}=`) : t.startsWith(f)))) given = true;
      else if (rule.takesArg.includes(t)) m++;
      continue;
    }
    if (!given) refuse(m);
    return;
  }
}
