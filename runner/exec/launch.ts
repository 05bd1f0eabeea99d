// The one way the runner starts a process, through execa: a stage's process, a stage host started ahead of need,
// and the helper commands it runs to completion (`flock`, and Slurm's `sbatch`, `squeue`, `scancel`, `sinfo`).
//
// A process started for a stage is the leader of its own process group and session (detached: setsid) and gets a
// parent-death signal (util-linux `setpriv --pdeathsig KILL`, where available), so its whole tree is signalled as
// one and it dies with its runner even on SIGKILL. Stopping it is execa's: SIGTERM, then SIGKILL 3 s later.
//
// execa is imported statically: it is evaluated with the command that starts processes (run, pull, gc), before
// the command's first line runs, so a run's first stage host starts as soon as the run knows it wants one instead
// of waiting for a later turn of the event loop (measured on a loaded machine, medians of 20 runs: the first host
// started after 14 ms more of the runner's CPU than with node's spawn, 37 ms with an import() on first use).
// Loading it costs the runner some 10 to 30 ms of CPU (its own code and the Node modules it loads), once per
// command, before its first process starts: the price of one way to start every process.
import { execa, execaSync } from 'execa';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** What a process is started with besides its argv. */
export interface LaunchOptions {
  cwd: string;
  /** Its whole environment (nothing of the runner's is added: environment.ts builds it). */
  env: Record<string, string>;
  /** Stdin: nothing (/dev/null) or a pipe the caller writes (a host's job). */
  stdin: 'ignore' | 'pipe';
  /** Its own process group and session, the leader with a parent-death signal where the system has one. */
  group?: boolean;
}

/** How a process ended, in execa's words. */
export interface ProcessEnd {
  exitCode?: number;
  signal?: string;
  /** Stopped through `stop()` while it ran. */
  isCanceled: boolean;
  /** The system's error code when it could not be started (ENOENT, E2BIG, …). */
  code?: string;
  shortMessage?: string;
}

/** A started process: its pipes, how to stop it (SIGTERM, then SIGKILL after 3 s) and how it ended. */
export interface Launched {
  pid: number | undefined;
  /** The argv it was started with (behind the parent-death wrapper, when there is one). */
  argv: string[];
  /** The wrapper in front of the argv (`setpriv`), which speaks for a command it could not start. */
  wrapper?: 'setpriv';
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Stop it now: SIGTERM to the process (the caller signals its group), SIGKILL after 3 s. */
  stop(): void;
  readonly stopped: boolean;
  /** Settles once the process exited and its output streams closed. */
  ended: Promise<ProcessEnd>;
  /** Whether the process and its pipes keep the runner alive (by default they do). */
  holdRunner(hold: boolean): void;
  /** Whether it already exited. */
  exited(): boolean;
}

/** The delay after which a process that ignores SIGTERM is killed. */
export const FORCE_KILL_AFTER_MS = 3000;

/** Start a process now. */
export function launch(argv: string[], options: LaunchOptions): Launched {
  const wrapped = options.group ? withParentDeathSignal(argv) : argv;
  const [file, ...args] = wrapped;
  const stop = new AbortController();
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    detached: Boolean(options.group),
    stdin: options.stdin,
    reject: false,
    buffer: false,
    cancelSignal: stop.signal,
    forceKillAfterDelay: FORCE_KILL_AFTER_MS,
    windowsHide: true,
  });
  // A process that died before its stdin was written: the write fails, and its own exit is the result.
  child.stdin?.on('error', () => undefined);
  const ended = Promise.resolve(child).then(
    (r): ProcessEnd => ({
      exitCode: r.exitCode,
      signal: r.signal,
      isCanceled: r.isCanceled,
      code: (r as { code?: string }).code,
      shortMessage: r.exitCode === undefined ? r.shortMessage : undefined,
    }),
  );
  return {
    pid: child.pid,
    argv: wrapped,
    wrapper: wrapped !== argv ? 'setpriv' : undefined,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    stop: () => {
      if (!stop.signal.aborted && child.exitCode === null && child.signalCode === null) stop.abort();
    },
    get stopped() {
      return stop.signal.aborted;
    },
    ended,
    holdRunner: (hold) => {
      const handles = [child, child.stdin, child.stdout, child.stderr] as unknown as (Socket | null)[];
      for (const h of handles) {
        if (hold) h?.ref?.();
        else h?.unref?.();
      }
    },
    exited: () => child.exitCode !== null || child.signalCode !== null,
  };
}

/** What a helper command said and how it ended. */
export interface HelperResult {
  /** Undefined when it could not be started or was killed. */
  code?: number;
  stdout: string;
  stderr: string;
  /** Why it could not be started or finish: the system's error code (ENOENT, E2BIG, …), or execa's words (a timeout, a signal). */
  error?: string;
}

export interface HelperOptions {
  /** Over the runner's environment, or, with `exactEnv`, its whole environment. */
  env?: Record<string, string>;
  exactEnv?: boolean;
  /** Killed after this long (default: 2 minutes). */
  timeoutMs?: number;
  /** Open files handed to it as fd 3, 4, … */
  fds?: number[];
}

/** Run a helper command to completion, its output captured (stdin from /dev/null). */
export async function runHelper(file: string, args: string[], options: HelperOptions = {}): Promise<HelperResult> {
  const r = await execa(file, args, {
    env: options.env,
    extendEnv: !options.exactEnv,
    reject: false,
    timeout: options.timeoutMs ?? 120_000,
    // An open file as fd 3, … (execa hands any descriptor number to the child; its types list only 3 to 9).
    stdio: ['ignore', 'pipe', 'pipe', ...((options.fds ?? []) as 3[])],
    windowsHide: true,
  });
  return helperResult(r);
}

/** What a helper's execa result holds (its output as text: no `encoding`, `lines` or transforms are used). */
type HelperOutput = { exitCode?: number; stdout?: string; stderr?: string; shortMessage?: string };

/** Run a helper command to completion synchronously (the runner is about to exit). */
export function runHelperSync(file: string, args: string[], options: HelperOptions = {}): HelperResult {
  const r = execaSync(file, args, { env: options.env, extendEnv: true, reject: false, timeout: options.timeoutMs ?? 10_000, stdin: 'ignore', windowsHide: true });
  return helperResult(r);
}

function helperResult(r: HelperOutput): HelperResult {
  const error = (r as { code?: string }).code ?? (r.exitCode === undefined ? r.shortMessage : undefined);
  return { code: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), ...(error !== undefined ? { error } : {}) };
}

let setpriv: string | false | undefined;

/**
 * util-linux's setpriv on PATH when it knows `--pdeathsig` (2.33 and later): found by reading the program for the
 * option's name rather than by starting it, which would cost a process start on every run.
 */
function findSetpriv(): string | false {
  if (process.platform !== 'linux') return false;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, 'setpriv');
    try {
      if (readFileSync(file).includes('pdeathsig')) return file;
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * The argv that starts a command with a parent-death signal: `setpriv --pdeathsig KILL -- argv` where setpriv
 * supports it, else the argv as it is.
 */
export function withParentDeathSignal(argv: string[]): string[] {
  setpriv ??= findSetpriv();
  return setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', ...argv] : argv;
}
