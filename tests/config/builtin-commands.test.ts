// The built-in command names live in one list (runner/config/schema.ts): the config refuses them as workspace
// command names and the CLI dispatches every other first word to the workspace. The list must be exactly the
// commands the CLI registers, or a new built-in would be shadowed (or a workspace command refused for nothing).
import { expect } from 'chai';
import { execa } from 'execa';
import { BUILTIN_COMMANDS } from '../../runner/config/schema.js';
import { cliPath } from '../helpers/workspace.js';

describe('built-in commands: one list', function () {
  it('is exactly the commands `pipeline --help` lists', async function () {
    const r = await execa(process.execPath, [cliPath, '--help'], { reject: false, env: { NO_COLOR: '1' } });
    expect(r.exitCode, r.stderr).to.equal(0);
    const section = r.stdout.slice(r.stdout.indexOf('Commands:\n') + 'Commands:\n'.length).split('\n\n')[0];
    const listed = [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]);
    expect(listed.length).to.be.greaterThan(5);
    expect([...listed].sort()).to.deep.equal([...BUILTIN_COMMANDS].sort());
  });
});
