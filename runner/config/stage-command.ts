// What a stage runs: `cmd` (split into argv without a shell, or one shell line with `shell: true`) or `module` (a
// TypeScript file inside the workspace), never both.
import { CommandSyntaxError, splitCommand } from './command-line.js';
import type { StageInput } from './check-context.js';
import { fieldHint } from './shapes.js';
import type { StageConfig } from './types.js';
import { checkFile, normalizePath } from './workspace-paths.js';

export type StageCommand = Pick<StageConfig, 'kind' | 'cmd' | 'shell' | 'module'>;

/** `cmd`, `module` and `shell`: exactly one of the first two, `shell` with `cmd` only. */
export function stageCommand(s: StageInput): StageCommand {
  const { raw } = s;
  if (raw.cmd !== undefined && raw.module !== undefined)
    s.fail('cmd-and-module', s.keyAt('module'), 'has both `cmd` and `module`', 'keep one: `cmd` runs a command, `module` runs a TypeScript stage');
  if (raw.cmd === undefined && raw.module === undefined)
    s.fail(
      'no-cmd-or-module',
      s.ctx.src.keyRange(['stages', s.name]),
      'has neither `cmd` nor `module`',
      'add `cmd: <command line>` to run a command, or `module: <path>.ts` to run a TypeScript stage',
    );
  const shell = raw.shell ?? false;
  const kind = raw.module !== undefined && raw.cmd === undefined ? 'module' : 'cmd';
  if (raw.cmd !== undefined) {
    const cmd = shell ? shellLine(s, raw.cmd) : typeof raw.cmd === 'string' ? splitLine(s, raw.cmd) : argvList(s, raw.cmd);
    return { kind, cmd, shell };
  }
  if (raw.module === undefined) return { kind, shell };
  if (raw.shell !== undefined) s.fail('shell-misuse', s.keyAt('shell'), '`shell` applies to `cmd` stages only', 'remove `shell`');
  const what = s.subject('module');
  const module = normalizePath(s.ctx, raw.module, what, () => s.at('module'), { glob: false });
  if (module !== undefined) checkFile(s.ctx, module, what, () => s.at('module'));
  return { kind, shell, ...(module !== undefined ? { module } : {}) };
}

/** `shell: true`: the command line is one string, run by the shell (argv[0] holds it whole). */
function shellLine(s: StageInput, cmd: string | string[]): string[] {
  if (typeof cmd !== 'string')
    s.fail('shell-misuse', s.at('cmd'), 'with `shell: true`, `cmd` must be one string (the shell command line)', 'write `cmd: "a | b"`');
  return [typeof cmd === 'string' ? cmd : cmd.join(' ')];
}

/** A `cmd` string, split into argv as a POSIX shell splits words, without running one. */
function splitLine(s: StageInput, cmd: string): string[] {
  try {
    const argv = splitCommand(cmd);
    if (argv.length === 0) s.fail('cmd-empty', s.at('cmd'), '`cmd` is empty', fieldHint('cmd'));
    return argv;
  } catch (err) {
    if (!(err instanceof CommandSyntaxError)) throw err;
    s.fail('cmd-syntax', s.ctx.src.charRange(['stages', s.name, 'cmd'], err.index), `cmd: ${err.message}`, err.hint);
    return [cmd];
  }
}

/** A `cmd` list: the argv as written. */
function argvList(s: StageInput, cmd: string[]): string[] {
  if (cmd[0] === '') s.fail('cmd-empty', s.at('cmd', 0), '`cmd` starts with an empty program name', fieldHint('cmd'));
  return [...cmd];
}
