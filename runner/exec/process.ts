// Running one stage as a process on this machine: a `cmd:` stage's own command, or a `module:` stage's host (a
// process started now, or one started ahead and handed its job, pool.ts). stdout and stderr are captured,
// interleaved, to the stage's log, each masked as it arrives (mask.ts); the last line of stderr is kept as the
// reason a failure or a gate shows. The process is the leader of its own group (launch.ts), recorded while it runs
// (process-group.ts), and its whole tree is stopped on timeout or interruption.
import { createWriteStream, existsSync, mkdirSync, openSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { stageCommand, tooBig, type ExecRequest, type ExecResult, type ProcessFailure } from './executor.js';
import { passedValues } from './environment.js';
import { launch, type Launched, type ProcessEnd } from './launch.js';
import { MaskingStream } from './mask.js';
import type { LeftoverOwner } from './leftovers.js';
import { descendants, signalAll, signalGroup, stopGroupLeftover, trackGroup } from './process-group.js';
import type { RunningEntry } from './running.js';
import { monotonicMs } from '../core/clock.js';

/** What a stage's process gave back: how it ended, what it wrote, and whether its time ran out. */
interface Supervised {
  end: ProcessEnd;
  timedOut: boolean;
  log: string;
  stderrTail: string;
  durationMs: number;
}

/** How a stage's process is watched when it is not a plain local one (a Slurm step's srun, slurm-steps.ts). */
export interface Supervision {
  /** Stops it on timeout or interruption, instead of signalling its process tree. */
  stop?: (child: Launched) => void;
  /** What of a chunk of its stderr is the stage's (srun's own lines are not); called with nothing at the end. */
  stderr?: (data?: Buffer) => Buffer;
}

/** A waiting host that takes a module stage, with how to hand it its job once it is recorded. */
export interface TakenHost {
  process: Launched;
  sendJob(): void;
}

/** The command line a stage's process is started with (a shell stage through /bin/sh), without the group wrapper. */
export function processArgv(req: ExecRequest): { argv: string[]; env: Record<string, string> } {
  const { stage } = req;
  const { env, argv } = stageCommand(req);
  return { argv: stage.kind === 'cmd' && stage.shell ? ['/bin/sh', '-c', argv.join(' ')] : argv, env };
}

/**
 * Run one stage's process: `host` when a module stage takes a host started ahead (it then gets its job once
 * recorded), else a process started now.
 */
export async function executeStage(req: ExecRequest, host?: TakenHost, wrap?: { argv: (argv: string[]) => string[]; supervision: Supervision }): Promise<ExecResult> {
  const log = openLog(req);
  const { argv, env } = processArgv(req);
  const child = host?.process ?? launch(wrap ? wrap.argv(argv) : argv, { cwd: req.root, env, stdin: 'ignore', group: true });
  const ran = await supervise(req, child, log, host, wrap?.supervision);
  const verdict = existsSync(req.verdictFile) ? readFileSync(req.verdictFile, 'utf8').trim() : '';
  rmSync(req.verdictFile, { force: true });
  const common = { durationMs: ran.durationMs, log: ran.log };
  const cause = causeOf(req, child, env, ran, verdict);
  return cause ? { ok: false, cause, ...common } : { ok: true, ...common };
}

/** The stage's log, a new file (whatever is at its name, an old log or a planted symlink, is replaced), and a clean verdict file. */
function openLog(req: ExecRequest): WriteStream {
  mkdirSync(path.dirname(req.logFile), { recursive: true });
  // The stage may write its verdict there: the folder must exist.
  mkdirSync(path.dirname(req.verdictFile), { recursive: true });
  rmSync(req.verdictFile, { force: true });
  rmSync(req.logFile, { force: true });
  return createWriteStream('', { fd: openSync(req.logFile, 'wx') });
}

/** Until the process ended: its output to the log, its timeout, the run's interruption; what it left in its group killed after. */
async function supervise(req: ExecRequest, child: Launched, log: WriteStream, host?: TakenHost, how: Supervision = {}): Promise<Supervised> {
  const { stage } = req;
  const started = monotonicMs();
  let timedOut = false;
  // Timeout and interruption stop the whole process tree: a shell stage's own children would otherwise live on,
  // keep its output pipes open (the stage "runs" until they end) and write into the workspace after the run.
  const stopTree = () => {
    if (how.stop) return how.stop(child);
    if (child.stopped || child.pid === undefined) return;
    const pid = child.pid;
    const tree = descendants(pid);
    child.stop();
    signalGroup(pid, 'SIGTERM');
    signalAll(tree, 'SIGTERM');
    setTimeout(() => {
      signalGroup(pid, 'SIGKILL');
      signalAll(tree, 'SIGKILL');
    }, 3000).unref();
  };
  // Recorded before a waiting host gets its job: no code of the stage runs unrecorded.
  const group = child.pid === undefined ? undefined : trackGroup(req, stage.kind === 'module' ? 'host' : 'process', stage.name, child.pid);
  host?.sendJob();
  const chunks: string[] = [];
  let stderrTail = '';
  // Each stream masked before anything of it is written or kept (mask.ts): the log never holds a raw value.
  const values = passedValues(stage);
  const masks = { out: new MaskingStream(values), err: new MaskingStream(values) };
  const keep = (isErr: boolean, text: string) => {
    if (text === '') return;
    chunks.push(text);
    log.write(text);
    req.onOutput?.(text);
    if (isErr) stderrTail = (stderrTail + text).slice(-4096);
  };
  child.stdout?.on('data', (data: Buffer) => keep(false, masks.out.push(data)));
  const stderr = how.stderr ?? ((data?: Buffer) => data ?? Buffer.alloc(0));
  child.stderr?.on('data', (data: Buffer) => keep(true, masks.err.push(stderr(data))));
  if (req.signal.aborted) stopTree();
  else req.signal.addEventListener('abort', stopTree, { once: true });
  const timer = stage.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), stopTree()), stage.timeoutMs);
  const end = await child.ended;
  keep(false, masks.out.end());
  keep(true, masks.err.push(stderr()));
  keep(true, masks.err.end());
  // What the command left in its group (background children) ends with it, before its outs are read.
  await group?.end();
  if (timer) clearTimeout(timer);
  req.signal.removeEventListener('abort', stopTree);
  await new Promise<void>((resolve) => log.end(resolve));
  return { end, timedOut, log: chunks.join(''), stderrTail, durationMs: monotonicMs() - started };
}

/** Why the stage failed, from how its process ended; undefined when it succeeded. */
function causeOf(req: ExecRequest, child: Launched, env: Record<string, string>, ran: Supervised, verdict: string): ProcessFailure | undefined {
  const { stage } = req;
  const { end } = ran;
  const lastLine = ran.stderrTail.trimEnd().split('\n').at(-1)?.trim();
  const said = verdict || lastLine || undefined;
  if (ran.timedOut) return { kind: 'timeout', timeoutMs: stage.timeoutMs ?? 0 };
  if (end.isCanceled) return { kind: 'interrupted' };
  if (end.exitCode === 0) return undefined;
  if (end.signal) return { kind: 'signal', signal: end.signal, ...(lastLine ? { message: lastLine } : {}) };
  if (end.code === 'E2BIG') return { kind: 'spawn', message: tooBig(env) };
  if (end.exitCode === undefined) return { kind: 'spawn', message: end.shortMessage ?? 'the stage could not be started' };
  const notStartedBy = child.wrapper === 'setpriv' ? notStarted(lastLine) : undefined;
  if (notStartedBy) return { kind: 'spawn', message: notStartedBy };
  return { kind: stage.gate ? 'gate' : 'exit', exitCode: end.exitCode, message: said };
}

/** setpriv's own words when it could not start the command (exit 126 or 127), as the runner would say them. */
function notStarted(line: string | undefined): string | undefined {
  const m = /^setpriv: failed to execute (.+): (.+)$/.exec(line ?? '');
  return m ? `cannot start \`${m[1]}\`: ${m[2].toLowerCase()} (is it installed and on PATH?)` : undefined;
}

/** Stage processes an earlier, killed run left: what is left of their process groups is killed. */
export const processLeftovers: LeftoverOwner = {
  executor: 'process',
  async stop(entry: RunningEntry, root: string) {
    if (entry.kind !== 'group') return undefined;
    const processes = await stopGroupLeftover(entry, root);
    return processes > 0 ? { processes } : undefined;
  },
};
