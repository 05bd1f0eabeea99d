// The reference pages against the code they describe: every command and every long option the CLI's help lists is
// in docs/cli.md; every key pipeline.yaml accepts (top level, stage, resources) is in docs/pipeline-yaml.md's key
// table; every diagnostic code is in its code table, and every code the table names is one the code emits.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DIAGNOSTIC_CODES } from '../../runner/core/diagnostic.js';
import { RESOURCE_KEYS, STAGE_KEYS, TOP_KEYS } from '../../runner/config/keys.js';
import { cliPath, repoRoot } from '../helpers/workspace.js';

const page = (name: string) => readFileSync(path.join(repoRoot, 'docs', name), 'utf8');

/** `pipeline help [COMMAND]`'s text. */
function help(...command: string[]): string {
  return execFileSync(process.execPath, [cliPath, 'help', ...command], { encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
}

/** The commands (and `cache`'s, `ci`'s subcommands) the help lists. */
function commands(text: string): string[] {
  const section = text.slice(text.indexOf('\nCommands:\n'));
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
}

/** The long options of a help text (`--set`, `--no-wait`, …), but --help and --version. */
function longOptions(text: string): string[] {
  const section = text.slice(text.indexOf('\nOptions:\n'), text.indexOf('\nCommands:\n') > 0 ? text.indexOf('\nCommands:\n') : undefined);
  return [...section.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]).filter((o) => o !== '--help' && o !== '--version');
}

/** The names in backticks in the first column of a page's tables. */
function firstColumn(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const cell = /^\| ([^|]+) \|/.exec(line)?.[1];
    for (const m of cell ? cell.matchAll(/`([^`]+)`/g) : []) names.add(m[1]);
  }
  return names;
}

describe('docs: the reference pages against the code', function () {
  this.timeout(60_000);

  it('docs/cli.md names every command, subcommand and long option the help lists', () => {
    const cli = page('cli.md');
    const missing: string[] = [];
    const top = help();
    for (const option of longOptions(top)) if (!cli.includes(option)) missing.push(`pipeline ${option}`);
    for (const command of commands(top)) {
      if (!cli.includes(`pipeline ${command}`)) missing.push(`pipeline ${command}`);
      const text = help(command);
      for (const option of longOptions(text)) if (!cli.includes(option)) missing.push(`pipeline ${command} ${option}`);
      for (const sub of commands(text)) if (!cli.includes(`pipeline ${command} ${sub}`) && !cli.includes(`${sub} |`) && !new RegExp(`pipeline ${command} [^\\n]*\\b${sub}\\b`).test(cli)) missing.push(`pipeline ${command} ${sub}`);
    }
    expect(missing, 'document these in docs/cli.md').to.deep.equal([]);
  });

  it('docs/pipeline-yaml.md has a row for every key pipeline.yaml accepts', () => {
    const documented = firstColumn(page('pipeline-yaml.md'));
    const text = page('pipeline-yaml.md');
    const missing = [...TOP_KEYS, ...STAGE_KEYS].filter((k) => !documented.has(k));
    const resources = RESOURCE_KEYS.filter((k) => !text.includes(`\`${k}\``));
    expect([...missing, ...resources], 'add them to the key table of docs/pipeline-yaml.md').to.deep.equal([]);
  });

  it("docs/pipeline-yaml.md's code table lists every diagnostic code, and only those", () => {
    const text = page('pipeline-yaml.md');
    const table = text.slice(text.indexOf('| code |'));
    const rows = firstColumn(table.slice(0, table.indexOf('\n\n')));
    expect(DIAGNOSTIC_CODES.filter((c) => !rows.has(c)), 'codes missing from the table').to.deep.equal([]);
    expect([...rows].filter((c) => !(DIAGNOSTIC_CODES as readonly string[]).includes(c)), 'rows naming no code').to.deep.equal([]);
  });
});
