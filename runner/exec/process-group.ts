// Process groups of stages on this machine. Every executed stage's process is the leader of its own process group
// and session (launch.ts): its whole tree is signalled as one, and when its command ends, whatever it left in the
// group is killed before its outs are read. The leader dies with the runner (parent-death signal); its children
// cannot inherit that, so each running group is recorded (running.ts), and a later command that takes the
// workspace stops every group recorded there (`stopGroupLeftover`), and waits until it is gone. A process that
// leaves its group (`setsid`, daemonizing) escapes both and is not supported.
import { readdirSync, readFileSync } from 'node:fs';
import { BusyError } from '../core/errors.js';
import { forgetRunning, recordRunning, type RunningEntry } from './running.js';

const LINUX = process.platform === 'linux';

/** The kernel's boot id: a process group number is only meaningful within one boot. */
function bootId(): string {
  if (!LINUX) return '';
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  start: number;
}

function procStat(pid: number | string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp session … starttime(22): comm may hold spaces and parentheses.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid: Number(text.slice(0, text.indexOf(' '))), state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), start: Number(f[19]) };
  } catch {
    return undefined;
  }
}

/** Every live process of this machine, from /proc (Linux; elsewhere none). */
function allProcesses(): ProcStat[] {
  if (!LINUX) return [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: ProcStat[] = [];
  for (const name of names) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    const st = procStat(name);
    if (st) found.push(st);
  }
  return found;
}

let selfStart: number | undefined;

/** When this runner started, in clock ticks since boot: every process of its stages started later. */
function runnerStart(): number {
  return (selfStart ??= (LINUX && procStat('self')?.start) || 0);
}

/**
 * The live processes of a group started by a run (its session and group are the stage's leader pid). `others`:
 * only those this runner did not start itself (a stage host it started ahead, whose pid a record of an earlier run
 * may name by reuse, is its child; what an earlier run left never is).
 */
function members(pgid: number, since: number, others = false): number[] {
  if (!LINUX) return groupAlive(pgid) ? [pgid] : [];
  return allProcesses()
    .filter((st) => st.pgrp === pgid && st.session === pgid && st.start >= since && st.state !== 'Z' && !(others && st.ppid === process.pid))
    .map((st) => st.pid);
}

/** Every descendant of a process (Linux); elsewhere none, and only the process itself is stopped. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const st of allProcesses()) {
    const list = children.get(st.ppid);
    if (list) list.push(st.pid);
    else children.set(st.ppid, [st.pid]);
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

/** Whether a process carries the environment a stage of the workspace at `root` is started with. */
function startedHere(pid: number, root: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`PIPELINE_WORKSPACE=${root}`);
  } catch {
    return false;
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Signal a whole process group; false when it has no process left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Kill what is left of a group and wait (a few seconds at most) until it is gone; the pids still there after. */
async function killGroup(pgid: number, since: number, others = false): Promise<number[]> {
  let left = members(pgid, since, others);
  // Pids, not the group: the number may name another group by now when the members list is empty.
  for (let waited = 0; left.length > 0 && waited <= 5000; waited += 25) {
    signalAll(left, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 25));
    left = members(pgid, since, others);
  }
  return left;
}

/** Live groups of this process's stages: killed at once if the runner exits while they run. */
const live = new Set<number>();
let exitHook = false;

/** Kill every running stage's group now, synchronously (the runner is exiting). */
export function killLiveGroups(): void {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  live.clear();
}

/** A stage's process group while it runs: recorded in the workspace, and stopped entirely when its command ends. */
export interface GroupHandle {
  /** After the leader ended: kill what it left in its group, wait until gone, and forget the record. */
  end(): Promise<void>;
}

export function trackGroup(where: { root: string; recordsIn: string }, executor: 'process' | 'host', stage: string, pgid: number): GroupHandle {
  live.add(pgid);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', killLiveGroups);
  }
  const since = runnerStart();
  const root = where.root === where.recordsIn ? {} : { root: where.root };
  const file = recordRunning(where.recordsIn, { kind: 'group', executor, stage, pgid, boot: bootId(), since, runner: process.pid, ...root });
  return {
    end: async () => {
      // Nothing left in the group (the usual case) costs one kill(2).
      if (groupAlive(pgid)) await killGroup(pgid, since);
      live.delete(pgid);
      forgetRunning(file);
    },
  };
}

/**
 * Stop what an earlier, killed run left of a recorded group: the processes stopped, or 0 when none of them is left
 * (or the record names a group that is not one of this workspace's). Throws BusyError when one cannot be stopped.
 * The record is only a hint: a group is stopped only when one of its processes was started by a run of this
 * workspace (its environment says so), so an edited record cannot make a run kill anything else.
 */
export async function stopGroupLeftover(entry: Extract<RunningEntry, { kind: 'group' }>, root: string): Promise<number> {
  if (!Number.isInteger(entry.pgid) || entry.pgid <= 1 || entry.boot !== bootId()) return 0;
  const found = members(entry.pgid, entry.since, true);
  if (found.length === 0 || (LINUX && !found.some((pid) => startedHere(pid, root)))) return 0;
  const left = await killGroup(entry.pgid, entry.since, true);
  if (left.length > 0) {
    throw new BusyError(`processes of stage \`${entry.stage}\` left running by an earlier run (pid ${entry.runner}) cannot be stopped: ${left.join(', ')}`);
  }
  return found.length;
}
