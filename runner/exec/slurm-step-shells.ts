// Command stages' steps started ahead of need in steps mode (slurm-steps.ts): as module stages take Node.js hosts
// waiting as steps (slurm-step-hosts.ts), a `cmd:` stage takes a `/bin/sh` waiting as an `--overlap` step of the
// allocation, started while the stage before it runs, so srun's start (35 ms on a quiet node, 150–220 ms on a busy
// one) is off the critical path. The shell blocks reading its one script from stdin (srun forwards it), until
// end of input; the runner writes it when the stage starts: the stage's environment, then `exec` of its command line
// with stdin from /dev/null. Nothing of it is ever in a file or on a command line (a `passEnv` value stays out of
// /proc/PID/cmdline); it exists in the shell's memory only until the `exec`. A shell whose stdin closes empty (the
// run ended) exits running nothing, and its step with it.
//
// The environment a fresh step would have: every value quoted for sh in single quotes (`'` as `'\''`; any other
// byte, newline included, stands for itself), applied as host.ts applies a job's: what Slurm set or changed for the
// step (SLURM_*, TMPDIR, …: any variable whose value differs from the one srun was started with) is kept over the
// stage's, every other variable is the stage's, and those the stage has not are removed. What sh cannot pass on as
// it was given (a name that is not a shell identifier, IFS, which dash resets, and the variables dash owns) makes
// the stage get a step started for it, as one with `resources:` does.
//
// Differences from a step started for the stage: the step is named `pipeline-shell` (`squeue -s`, SLURM_JOB_NAME),
// and a command that cannot be found fails with sh's exit 127 (`exec: NAME: not found`) where slurmstepd's execve
// gives 2. A waiting shell holds no CPU the runner counts (slurm-steps.ts CpuLedger): the stage it runs is counted
// when it starts, as any stage.
import type { Host } from './pool.js';
import { startable } from './pool.js';
import { StepHostPool } from './slurm-step-hosts.js';

type Env = Record<string, string>;

/** The shell's variable the script is read into (never one of the stage's: `fitting`). */
const SCRIPT_VARIABLE = '_pipeline_step_script';

/** The waiting shell: reads all of stdin, then runs it (nothing when it closed empty). */
export const WAITING_SHELL = ['/bin/sh', '-c', `${SCRIPT_VARIABLE}=$(cat) || exit 0; [ -z "$${SCRIPT_VARIABLE}" ] || eval "$${SCRIPT_VARIABLE}"`];

/** A name sh can set and pass on as given. */
const SH_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables dash sets, resets or reads itself (their values would not reach the command as given). */
const SHELL_OWNED = new Set(['IFS', 'PPID', 'OPTIND', 'LINENO', 'PS1', 'PS2', 'PS4', 'ENV', 'HISTSIZE', 'MAIL', 'MAILPATH', 'MAILCHECK', SCRIPT_VARIABLE]);

/** A word for sh in single quotes: the same bytes whatever they are. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Whether sh can give a command exactly this environment, started from `startedWith`. */
export function shellCanApply(env: Env, startedWith: Env): boolean {
  const names = [...Object.keys(env), ...Object.keys(startedWith)];
  return names.every((n) => SH_NAME.test(n) && !SHELL_OWNED.has(n)) && startable(env);
}

/**
 * The script a waiting shell runs for a stage: its environment (what Slurm set or changed for the step kept over
 * it), then its command line exec'd with stdin from /dev/null. PWD, which sh sets itself, is the stage's.
 */
export function stepScript(argv: string[], env: Env, startedWith: Env): string {
  const lines = [`unset ${SCRIPT_VARIABLE}`];
  // Kept when set and no longer what srun was started with: Slurm set it for the step.
  const slurms = (n: string) => `[ "\${${n}+set}" = set ] && [ "$${n}" != ${shQuote(startedWith[n])} ]`;
  for (const [name, value] of Object.entries(env)) {
    if (name === 'PWD') lines.push(`export PWD=${shQuote(value)}`);
    else if (!Object.hasOwn(startedWith, name)) lines.push(`[ "\${${name}+set}" = set ] || export ${name}=${shQuote(value)}`);
    else if (startedWith[name] !== value) lines.push(`${slurms(name)} || export ${name}=${shQuote(value)}`);
  }
  for (const name of Object.keys(startedWith))
    if (!Object.hasOwn(env, name)) lines.push(name === 'PWD' ? 'unset PWD' : `${slurms(name)} || unset ${name}`);
  if (!Object.hasOwn(env, 'PWD') && !Object.hasOwn(startedWith, 'PWD')) lines.push('unset PWD');
  lines.push(`exec ${argv.map(shQuote).join(' ')} </dev/null`, '');
  return lines.join('\n');
}

export class ShellStepPool extends StepHostPool {
  protected override readonly stepName = 'pipeline-shell';

  protected override get argv(): string[] {
    return WAITING_SHELL;
  }

  /** Any command line fits a waiting shell; the folder must be the workspace, the environment one sh can give. */
  protected override fitting(_argv: string[], cwd: string, env: Env): Host | undefined {
    if (this.closed || cwd !== this.root) return undefined;
    return this.idle.find((h) => {
      const startedWith = this.steps.get(h.process)?.env;
      return startedWith !== undefined && h.process.pid !== undefined && !h.process.exited() && shellCanApply(env, startedWith);
    });
  }

  protected override jobText(host: Host, argv: string[], _cwd: string, env: Env): string {
    return stepScript(argv, env, this.steps.get(host.process)?.env ?? {});
  }
}
