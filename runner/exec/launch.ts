// The one way the runner starts a process: a stage's process and a stage host started ahead of need through execa,
// the helper commands it runs to completion (`flock`, and Slurm's `sbatch`, `squeue`, `scancel`, `sinfo`) through
// Node's child_process.
//
// A process started for a stage is the leader of its own process group and session (detached: setsid) and gets a
// parent-death signal (util-linux `setpriv --pdeathsig KILL`, where available), so its whole tree is signalled as
// one and it dies with its runner even on SIGKILL. Stopping it is execa's: SIGTERM, then SIGKILL 3 s later.
//
// execa is required (synchronously) when the first such process starts, not when the command loads: a run that
// starts no process (a no-op, whose one helper is the run lock's `flock`) never evaluates it, and the first stage
// host still starts in the same turn of the event loop as it is wanted (an import() on first use would wait a turn).
// A helper needs none of execa's process-tree handling: it is a short command whose output is read to its end, with
// a time bound, which Node's spawn does by itself without loading execa's modules.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
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
  const child = execaModule().execa(file, args, {
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

/** execa, required when the first stage process starts (see above). */
let execa: typeof import('execa') | undefined;
function execaModule(): typeof import('execa') {
  execa ??= createRequire(import.meta.url)('execa') as typeof import('execa');
  return execa;
}

/** A helper's environment: `env` over the runner's, or with `exactEnv` `env` alone. */
function helperEnv(options: HelperOptions): NodeJS.ProcessEnv {
  if (options.exactEnv) return options.env ?? {};
  return options.env ? { ...process.env, ...options.env } : process.env;
}

/** Output as a helper's result holds it: text, without the one final newline a command ends its output with. */
const text = (data: string): string => data.replace(/\r?\n$/, '');

/** Why a helper did not finish by itself: killed at its time bound, or by a signal. */
function endedBy(signal: NodeJS.Signals | null, timedOut: boolean, timeoutMs: number): string | undefined {
  if (timedOut) return `timed out after ${timeoutMs} milliseconds`;
  return signal ? `killed with ${signal}` : undefined;
}

/** Run a helper command to completion, its output captured (stdin from /dev/null). */
export function runHelper(file: string, args: string[], options: HelperOptions = {}): Promise<HelperResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let failed: string | undefined;
    let timedOut = false;
    // An open file as fd 3, … : the child's descriptor at that index.
    const child = spawn(file, args, { env: helperEnv(options), stdio: ['ignore', 'pipe', 'pipe', ...(options.fds ?? [])], windowsHide: true });
    // Past the bound it is killed, and its pipes closed: a process it left behind holding them cannot keep it waiting.
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
            child.stdout?.destroy();
            child.stderr?.destroy();
          }, timeoutMs)
        : undefined;
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e: NodeJS.ErrnoException) => (failed ??= e.code ?? e.message));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const error = failed ?? endedBy(signal, timedOut, timeoutMs);
      const result: HelperResult = { code: error === undefined ? (code ?? undefined) : undefined, stdout: text(Buffer.concat(out).toString()), stderr: text(Buffer.concat(err).toString()) };
      resolve(error === undefined ? result : { ...result, error });
    });
  });
}

/** Run a helper command to completion synchronously (the runner is about to exit). */
export function runHelperSync(file: string, args: string[], options: HelperOptions = {}): HelperResult {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const r = spawnSync(file, args, { env: helperEnv(options), stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', windowsHide: true });
  const failed: NodeJS.ErrnoException | undefined = r.error;
  const timedOut = failed?.code === 'ETIMEDOUT';
  const error = (timedOut ? undefined : (failed?.code ?? failed?.message)) ?? endedBy(r.signal, timedOut, timeoutMs);
  const result: HelperResult = { code: error === undefined ? (r.status ?? undefined) : undefined, stdout: text(r.stdout ?? ''), stderr: text(r.stderr ?? '') };
  return error === undefined ? result : { ...result, error };
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
