// Stage hosts started ahead of need. A `module:` stage runs in a host process (host.ts); starting Node costs about
// as much as a short stage's own work, and a chain of module stages would pay it once per stage, one after another.
// So while a run has module stages likely to execute, a few hosts wait idle: each is started exactly as a stage's
// host is (launch.ts: the same argv, parent-death signal included, its own process group and session, in the
// workspace, with PIPELINE_WORKSPACE set so a later run knows its processes) but with the base set of the
// environment only (environment.ts: no stage, so no `passEnv` nor `env`, is known yet), blocked reading its one job from stdin. A host takes
// exactly ONE stage execution and exits: one process per stage execution, as with a fresh start.
//
// The job carries the working folder and the whole environment a fresh host of that stage would get (its `passEnv`
// values reach the host through its stdin, never through its /proc/PID/environ); the host
// applies both (removing every variable not in it) before it imports the stage's code. What Node itself reads
// when it starts (NODE_OPTIONS and every NODE_*/UV_* variable, locale and time zone, the C library's and OpenSSL's
// variables) cannot be applied afterwards: a stage whose environment differs from a waiting host's in any of them,
// or that needs another command line or folder, gets a host started for it instead (process.ts).
//
// An idle host never outlives its runner: it has SIGKILL as parent-death signal (where setpriv allows, as every
// stage host), its stdin closes when the runner ends (it then exits without running anything), and `close()` kills
// the idle ones when the run ends; the runner's own exit kills them too, and an idle host never keeps the runner
// alive. Idle hosts are not in `.pipeline/running/`: nothing of a stage runs in them. A host is recorded there when
// it takes its job (process.ts), before the job is written; what a killed run left of it is stopped through
// `hostLeftovers`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import path from 'node:path';
import { CONFIG_NAMES } from '../config/find.js';
import { hostCommand, type ExecRequest, type ExecResult } from './executor.js';
import { launch, type Launched } from './launch.js';
import type { LeftoverOwner } from './leftovers.js';
import { baseEnvironment } from './environment.js';
import { executeStage, processArgv, type TakenHost } from './process.js';
import { signalGroup, stopGroupLeftover } from './process-group.js';
import type { RunningEntry } from './running.js';

type Env = Record<string, string>;

export interface Host {
  process: Launched;
  /** The values of its start-up variables (startupKey). */
  key: string;
}

/**
 * Variables read when a process starts — by Node (NODE_OPTIONS, NODE_PATH, NODE_EXTRA_CA_CERTS, …), libuv, OpenSSL,
 * ICU (the locale), the time zone, the dynamic loader and the C library's allocator: a waiting host was started
 * with the runner's values, and setting them later would not have the same effect.
 */
const STARTUP_VARIABLE = /^(NODE_|UV_|OPENSSL_|SSL_CERT_|LD_|MALLOC_|GLIBC_TUNABLES$|LC_|LANG$|LANGUAGE$|TZ$|TZDIR$)/;

/** The values of the start-up variables of an environment, as one comparable string. */
export function startupKey(env: Env): string {
  const pairs = Object.keys(env)
    .filter((name) => STARTUP_VARIABLE.test(name) && env[name] !== undefined)
    .sort()
    .map((name) => `${name}=${env[name]}`);
  return pairs.join('\0');
}

/** Linux's limit for one environment string (MAX_ARG_STRLEN), and a bound below its limit for all of them. */
const ONE_VARIABLE_MAX = 128 * 1024;
const ALL_VARIABLES_MAX = 1024 * 1024;

/** Whether a fresh process could be started with this environment at all: one that fails with E2BIG must still. */
export function startable(env: Env): boolean {
  let total = 0;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const size = Buffer.byteLength(name) + Buffer.byteLength(value) + 2;
    if (size >= ONE_VARIABLE_MAX) return false;
    total += size;
  }
  return total < ALL_VARIABLES_MAX;
}

export class HostPool {
  protected readonly idle: Host[] = [];
  protected closed = false;
  private argvCache: string[] | undefined;
  private readonly onExit = () => this.close();
  /** The run this pool was started for (`hostsForRun`), noted as the last one by `remember` once it goes ahead. */
  runKey: { file: string; key: string } | undefined;
  /** How many hosts were started ahead, and how many of them took a stage (shown with PIPELINE_DEBUG). */
  started = 0;
  taken = 0;

  /**
   * @param root the workspace: hosts start there, with PIPELINE_WORKSPACE=root
   * @param wanted how many hosts to keep waiting now (0 when no module stage is left to execute)
   */
  constructor(
    readonly root: string,
    private wanted: () => number = () => 0,
  ) {}

  /** The hosts' command line, found when the first is started (a run that starts none looks for nothing). */
  protected get argv(): string[] {
    return (this.argvCache ??= hostCommand());
  }

  /** Set how many hosts are wanted from now on (the scheduler knows; before it runs, the run command may start one). */
  want(wanted: () => number): void {
    this.wanted = wanted;
  }

  /** Start hosts until as many wait as are wanted. */
  warm(): void {
    while (!this.closed && this.idle.length < this.wanted()) this.startOne();
  }

  /** Start one host now unless one waits already (the run command, when a stage is likely to run). */
  prestart(): void {
    if (!this.closed && this.idle.length === 0) this.startOne();
  }

  private startOne(): void {
    if (this.started === 0) process.once('exit', this.onExit);
    this.started++;
    // The base set alone (environment.ts): no stage is known yet, and its job brings the rest. Never an outer
    // run's PIPELINE_CONTEXT, which would make the host run that instead of waiting.
    const env = { ...baseEnvironment(), PIPELINE_WORKSPACE: this.root };
    const host = this.spawn(env);
    // Waiting, it never keeps the runner alive (the runner's exit kills it); taken, it does, as any stage's process.
    host.holdRunner(false);
    this.idle.push({ process: host, key: startupKey(env) });
  }

  /** Start one waiting host's process (a step of a Slurm allocation in steps mode: slurm-step-hosts.ts). */
  protected spawn(env: Env): Launched {
    return launch(this.argv, { cwd: this.root, env, stdin: 'pipe', group: true });
  }

  /**
   * The job a taken host is sent (host.ts HostJob): the folder and the exact environment of a fresh process (as
   * JSON, then end of input; the stage then reads an empty stdin, as from /dev/null).
   */
  protected job(_host: Host, cwd: string, env: Env): object {
    return { cwd, env };
  }

  /** The job as the host reads it from its stdin (JSON for a Node.js host; a shell's script: slurm-step-shells.ts). */
  protected jobText(host: Host, _argv: string[], cwd: string, env: Env): string {
    return JSON.stringify(this.job(host, cwd, env));
  }

  /**
   * A waiting host that gives a stage with this command line, folder and (whole) environment
   * exactly what a fresh process would, or undefined: then the stage's host is started for it. The host leaves the
   * pool; it gets its job when the caller calls `sendJob`.
   */
  take(argv: string[], cwd: string, env: Record<string, string>): TakenHost | undefined {
    const host = this.fitting(argv, cwd, env);
    if (host) {
      this.idle.splice(this.idle.indexOf(host), 1);
      this.taken++;
      host.process.holdRunner(true);
    }
    // A module stage starts executing: keep hosts waiting for those that may follow.
    this.warm();
    return host && { process: host.process, sendJob: () => host.process.stdin?.end(this.jobText(host, argv, cwd, env)) };
  }

  protected fitting(argv: string[], cwd: string, env: Record<string, string>): Host | undefined {
    if (this.closed || cwd !== this.root || argv.length !== this.argv.length || argv.some((a, i) => a !== this.argv[i])) return undefined;
    if (!startable(env)) return undefined;
    const key = startupKey(env);
    return this.idle.find((h) => h.key === key && h.process.pid !== undefined && !h.process.exited());
  }

  /**
   * Notes the run this pool was started for as the last one here, once that run goes ahead (`hostsForRun`): a
   * refused config or command line leaves the workspace untouched.
   */
  remember(): void {
    if (!this.runKey) return;
    try {
      writeFileAtomic(this.runKey.file, this.runKey.key);
    } catch {
      // a read-only workspace: the run itself says what is wrong
    }
  }

  /** The run is over: idle hosts are killed (they hold no stage) and no more are started. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    for (const host of this.idle.splice(0)) kill(host.process);
  }

  /**
   * Run a stage's command: a module stage in a waiting host when one gives it exactly what a fresh process would,
   * any other in a process started for it.
   */
  execute(req: ExecRequest): Promise<ExecResult> {
    if (req.stage.kind !== 'module') return executeStage(req);
    const { argv, env } = processArgv(req);
    return executeStage(req, this.take(argv, req.root, env));
  }
}

function kill(host: Launched): void {
  for (const stream of [host.stdin, host.stdout, host.stderr]) stream?.destroy();
  if (host.pid !== undefined) signalGroup(host.pid, 'SIGKILL');
}

/** Stage hosts an earlier, killed run left while they ran a stage: what is left of their process groups is killed. */
export const hostLeftovers: LeftoverOwner = {
  executor: 'host',
  async stop(entry: RunningEntry, root: string) {
    if (entry.kind !== 'group') return undefined;
    const processes = await stopGroupLeftover(entry, root);
    return processes > 0 ? { processes } : undefined;
  },
};

/**
 * The hosts of a `pipeline run` in `dir`, with one started at once when a stage is likely to execute — before the
 * config is even loaded, so Node starts while the run loads and plans: when the folder's pipeline.yaml (or .yml)
 * or the command line (`args`) differs from the last run's here, or nothing ran here yet. Undefined when the folder
 * has no config file (it is in a parent: the plan starts hosts). Remembered in `.pipeline/state/run-key`, rewritten
 * only when it changed: a run that repeats the last one reads two small files, writes nothing and starts nothing.
 */
export function hostsForRun(dir: string, args: string): HostPool | undefined {
  let text: string | undefined;
  for (const name of CONFIG_NAMES) {
    try {
      text = readFileSync(path.join(dir, name), 'utf8');
      break;
    } catch {
      // not this one
    }
  }
  if (text === undefined) return undefined;
  const hosts = new HostPool(dir);
  const file = path.join(dir, '.pipeline', 'state', 'run-key');
  const key = createHash('sha256').update(text).update('\0').update(args).digest('hex');
  let last: string | undefined;
  try {
    last = readFileSync(file, 'utf8');
  } catch {
    // never run here, or unreadable: as changed
  }
  if (last === key) return hosts;
  hosts.prestart();
  hosts.runKey = { file, key };
  return hosts;
}
