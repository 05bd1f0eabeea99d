// Running one stage as a child process (execa): a `cmd:` stage directly, a `module:` stage through the host.
// stdout and stderr are captured, interleaved, to the stage's log; the last line of stderr is kept as the
// reason a failure or a gate shows.
import { createWriteStream, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { StageConfig } from '../config/types.js';
import { signalGroup, trackGroup, withParentDeathSignal } from './leftovers.js';
import type { FailureCause } from './outcome.js';
import { hostCommand, sendJob, type HostPool, type StartedProcess } from './pool.js';

export interface ExecRequest {
  stage: StageConfig;
  root: string;
  /** Absolute paths: upstream outs by stage and out, deps, own outs. */
  inputs: Record<string, Record<string, string>>;
  deps: Record<string, string>;
  outs: Record<string, string>;
  /** The module bundle for `module:` stages. */
  bundle?: string;
  logFile: string;
  verdictFile: string;
  signal: AbortSignal;
  /** Called with each chunk of output as it arrives (live output). */
  onOutput?: (chunk: string) => void;
}

/** How the process ended, when it did not succeed. */
export type ProcessFailure = Extract<FailureCause, { kind: 'exit' | 'gate' | 'signal' | 'timeout' | 'interrupted' | 'spawn' | 'job-ended' }>;

export type ExecResult = ({ ok: true } | { ok: false; cause: ProcessFailure }) & {
  durationMs: number;
  log: string;
  /** The cluster job that ran it (executors that submit jobs). */
  jobId?: string;
};

/** What runs for a stage, wherever it runs: its argv (a module stage through the host) and its environment. */
export function stageCommand(req: ExecRequest): { argv: string[]; env: Record<string, string> } {
  const { stage } = req;
  const env: Record<string, string> = {
    ...stage.env,
    PIPELINE_STAGE: stage.name,
    PIPELINE_PARAMS: JSON.stringify(stage.params),
    PIPELINE_WORKSPACE: req.root,
    PIPELINE_VERDICT_FILE: req.verdictFile,
  };
  if (stage.kind !== 'module') return { argv: [...stage.cmd!], env };
  env.PIPELINE_CONTEXT = JSON.stringify({
    bundle: req.bundle,
    stage: stage.name,
    workspace: req.root,
    params: stage.params,
    inputs: req.inputs,
    deps: req.deps,
    outs: req.outs,
  });
  return { argv: hostCommand(), env };
}

/**
 * Run one stage's command. With `hosts`, a module stage takes a host started ahead (pool.ts) when one gives it
 * exactly what a fresh process would; otherwise, and for every `cmd:` stage, its process is started now.
 */
export async function executeStage(req: ExecRequest, hosts?: HostPool): Promise<ExecResult> {
  const { stage } = req;
  mkdirSync(path.dirname(req.logFile), { recursive: true });
  // The stage may write its verdict there: the folder must exist.
  mkdirSync(path.dirname(req.verdictFile), { recursive: true });
  rmSync(req.verdictFile, { force: true });
  // A new file: whatever is at the log's name (an old log, a symlink planted there) is replaced, never written through.
  rmSync(req.logFile, { force: true });
  const log = createWriteStream('', { fd: openSync(req.logFile, 'wx') });
  const chunks: string[] = [];
  let stderrTail = '';
  const { env, argv } = stageCommand(req);
  // Its own process group and session (detached: setsid), the leader with a parent-death signal: the whole tree is
  // signalled as one, dies with its runner, and is recorded so a later run stops what outlived a killed runner.
  const shellArgv = stage.kind === 'cmd' && stage.shell ? ['/bin/sh', '-c', argv.join(' ')] : argv;
  const startArgv = withParentDeathSignal(shellArgv);
  const [file] = startArgv;
  const pooled = stage.kind === 'module' ? hosts?.take(startArgv, req.root, env) : undefined;
  const { execa } = pooled ? { execa: undefined } : await import('execa');
  const started = performance.now();
  const child = pooled ?? startProcess(execa!, startArgv, req.root, env);
  const { stop } = child;
  // Timeout and interruption stop the whole process tree: a shell stage's own children would otherwise live on,
  // keep its output pipes open (the stage "runs" until they end) and write into the workspace after the run.
  let timedOut = false;
  const stopTree = () => {
    if (stop.signal.aborted || child.pid === undefined) return;
    const pid = child.pid;
    const tree = descendants(pid);
    stop.abort();
    signalGroup(pid, 'SIGTERM');
    signalAll(tree, 'SIGTERM');
    setTimeout(() => {
      signalGroup(pid, 'SIGKILL');
      signalAll(tree, 'SIGKILL');
    }, 3000).unref();
  };
  const onAbort = () => stopTree();
  // Recorded before a waiting host gets its job: no code of the stage runs unrecorded.
  const group = child.pid === undefined ? undefined : trackGroup(req.root, stage.name, child.pid);
  if (pooled) sendJob(pooled, req.root, env);
  const take = (isErr: boolean) => (data: Buffer) => {
    const text = data.toString();
    chunks.push(text);
    log.write(data);
    req.onOutput?.(text);
    if (isErr) stderrTail = (stderrTail + text).slice(-4096);
  };
  child.stdout?.on('data', take(false));
  child.stderr?.on('data', take(true));
  if (req.signal.aborted) stopTree();
  else req.signal.addEventListener('abort', onAbort, { once: true });
  const timer =
    stage.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stopTree();
        }, stage.timeoutMs);
  const result = await child.ended;
  // What the command left in its group (background children) ends with it, before its outs are read.
  await group?.end();
  if (timer) clearTimeout(timer);
  req.signal.removeEventListener('abort', onAbort);
  await new Promise<void>((resolve) => log.end(resolve));
  const durationMs = performance.now() - started;
  const verdict = existsSync(req.verdictFile) ? readFileSync(req.verdictFile, 'utf8').trim() : '';
  rmSync(req.verdictFile, { force: true });
  const lastLine = stderrTail.trimEnd().split('\n').at(-1)?.trim();
  const said = verdict || lastLine || undefined;
  const common = { durationMs, log: chunks.join('') };
  let cause: ProcessFailure;
  if (timedOut) cause = { kind: 'timeout', timeoutMs: stage.timeoutMs ?? 0 };
  else if (result.isCanceled) cause = { kind: 'interrupted' };
  else if (result.exitCode === 0) return { ok: true, ...common };
  else if (result.signal) cause = { kind: 'signal', signal: result.signal, message: said };
  else if ((result as { code?: string }).code === 'E2BIG') cause = { kind: 'spawn', message: tooBig(env) };
  else if (result.exitCode === undefined) cause = { kind: 'spawn', message: result.shortMessage ?? 'the stage could not be started' };
  else if (path.basename(file) === 'setpriv' && notStarted(lastLine)) cause = { kind: 'spawn', message: notStarted(lastLine)! };
  else cause = { kind: stage.gate ? 'gate' : 'exit', exitCode: result.exitCode, message: said };
  return { ok: false, cause, ...common };
}

/** A stage's process started now: in its own process group and session (detached: setsid), stdin from /dev/null. */
function startProcess(execa: typeof import('execa').execa, argv: string[], cwd: string, env: Record<string, string>): StartedProcess {
  const [file, ...args] = argv;
  const stop = new AbortController();
  const child = execa(file, args, {
    cwd,
    env,
    extendEnv: true,
    detached: true,
    stdin: 'ignore',
    reject: false,
    buffer: false,
    cancelSignal: stop.signal,
    forceKillAfterDelay: 3000,
    windowsHide: true,
  });
  return { pid: child.pid, stdout: child.stdout, stderr: child.stderr, stop, ended: child };
}

/** setpriv's own words when it could not start the command (exit 126 or 127), as the runner would say them. */
function notStarted(line: string | undefined): string | undefined {
  const m = /^setpriv: failed to execute (.+): (.+)$/.exec(line ?? '');
  return m ? `cannot start \`${m[1]}\`: ${m[2].toLowerCase()} (is it installed and on PATH?)` : undefined;
}

/** Why a stage could not start when its environment is over the system's limit (one variable over 128 KiB on Linux). */
export function tooBig(env: Record<string, string>): string {
  const [name, value] = Object.entries(env).reduce((a, b) => (b[1].length > a[1].length ? b : a));
  const kib = Math.ceil(Buffer.byteLength(value) / 1024);
  return (
    `cannot start: its environment is too large for the system (E2BIG; the largest variable, ${name}, is ${kib} KiB). ` +
    'Params and env travel in environment variables, each limited to 128 KiB: pass large data through a file listed in `deps`'
  );
}

/** Every descendant of a process, found through /proc (Linux); elsewhere none, and only the child is stopped. */
function descendants(pid: number): number[] {
  if (process.platform !== 'linux') return [];
  const children = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of names) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid);
      if (list) list.push(Number(name));
      else children.set(ppid, [Number(name)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const found: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      found.push(c);
      stack.push(c);
    }
  }
  return found;
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
