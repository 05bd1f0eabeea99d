// What a run leaves running when it is killed, and how the next run stops it before touching anything.
//
// Every executed stage is its own process group (and session): its whole tree is signalled as one, and when its
// command ends, whatever it left in the group is killed before its outs are read. The group's leader carries a
// parent-death signal (`setpriv --pdeathsig`, util-linux) where available, so it dies with the runner even on
// SIGKILL. Its children cannot inherit that, so each running group (and each submitted cluster job) is also written
// to `.pipeline/running/<stage>.json` while it runs; a later command that takes the workspace's run lock first stops
// every group and job recorded there, and waits until they are gone. Nothing a process of an earlier run writes is
// ever recorded. A process that leaves its group (`setsid`, daemonizing) escapes both and is not supported.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import path from 'node:path';
import { BusyError } from '../core/errors.js';

/** One thing a running stage owns outside the runner. */
export type RunningEntry =
  | { kind: 'group'; stage: string; pgid: number; boot: string; since: number; runner: number }
  | { kind: 'job'; stage: string; executor: 'slurm'; jobId: string; runner: number };

const LINUX = process.platform === 'linux';

function runningDir(root: string): string {
  return path.join(root, '.pipeline', 'running');
}

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

function procStat(pid: number | 'self'): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp session … starttime(22): comm may hold spaces and parentheses.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid: Number(text.slice(0, text.indexOf(' '))), state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), start: Number(f[19]) };
  } catch {
    return undefined;
  }
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
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of names) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    const st = procStat(Number(name));
    if (st && st.pgrp === pgid && st.session === pgid && st.start >= since && st.state !== 'Z' && !(others && st.ppid === process.pid)) found.push(st.pid);
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

/** Kill what is left of a group and wait (a few seconds at most) until it is gone; the pids still there after. */
async function killGroup(pgid: number, since: number, others = false): Promise<number[]> {
  let left = members(pgid, since, others);
  if (left.length === 0) return [];
  // Pids, not the group: the number may name another group by now when the members list is empty.
  for (let waited = 0; waited <= 5000; waited += 25) {
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 25));
    left = members(pgid, since, others);
    if (left.length === 0) return [];
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

export function trackGroup(root: string, stage: string, pgid: number): GroupHandle {
  live.add(pgid);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', killLiveGroups);
  }
  const since = runnerStart();
  const file = writeEntry(root, { kind: 'group', stage, pgid, boot: bootId(), since, runner: process.pid });
  return {
    end: async () => {
      // Nothing left in the group (the usual case) costs one kill(2).
      if (groupAlive(pgid)) await killGroup(pgid, since);
      live.delete(pgid);
      forget(file);
    },
  };
}

/** A submitted cluster job, recorded while it runs; `end` forgets it. */
export function trackJob(root: string, stage: string, jobId: string): { end(): void } {
  const file = writeEntry(root, { kind: 'job', stage, executor: 'slurm', jobId, runner: process.pid });
  return { end: () => forget(file) };
}

function writeEntry(root: string, entry: RunningEntry): string | undefined {
  const dir = runningDir(root);
  const id = entry.kind === 'group' ? `g${entry.pgid}` : `j${entry.jobId}`;
  const file = path.join(dir, `${entry.stage}.${id}.json`);
  try {
    mkdirSync(dir, { recursive: true });
    // Not flushed: after a crash of the machine nothing of the run is left running.
    writeFileAtomic(file, JSON.stringify(entry));
    return file;
  } catch {
    return undefined; // a read-only place: the group still dies with its leader's parent-death signal
  }
}

function forget(file: string | undefined): void {
  if (file) rmSync(file, { force: true });
}

/**
 * Stop everything an earlier, killed run left running in this workspace (called with the run lock held). Returns
 * one line per stage whose processes or jobs were stopped; throws BusyError when a process cannot be stopped.
 */
export async function stopLeftovers(root: string): Promise<string[]> {
  const dir = runningDir(root);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const said: string[] = [];
  const boot = bootId();
  for (const name of files) {
    const file = path.join(dir, name);
    let entry: RunningEntry;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8')) as RunningEntry;
    } catch {
      forget(file); // torn by a crash of the machine: nothing of it runs any more
      continue;
    }
    if (entry.kind === 'group' && Number.isInteger(entry.pgid) && entry.pgid > 1 && entry.boot === boot) {
      const found = members(entry.pgid, entry.since, true);
      // The record is only a hint: a group is stopped only when one of its processes was started by a run of this
      // workspace (its environment says so), so an edited record cannot make a run kill anything else.
      if (found.length > 0 && (!LINUX || found.some((pid) => startedHere(pid, root)))) {
        const left = await killGroup(entry.pgid, entry.since, true);
        if (left.length > 0) {
          throw new BusyError(
            `processes of stage \`${entry.stage}\` left running by an earlier run (pid ${entry.runner}) cannot be stopped: ${left.join(', ')}`,
          );
        }
        said.push(`stopped ${found.length} process${found.length === 1 ? '' : 'es'} of stage \`${entry.stage}\` left running by an earlier run (pid ${entry.runner}) that was killed`);
      }
    } else if (entry.kind === 'job' && /^[0-9]+$/.test(entry.jobId)) {
      if (await cancelJob(entry.jobId)) said.push(`cancelled Slurm job ${entry.jobId} of stage \`${entry.stage}\` left running by an earlier run (pid ${entry.runner}) that was killed`);
    }
    forget(file);
  }
  return said;
}

/** scancel a job still queued or running, and wait (30 s at most) until Slurm says it ended. */
async function cancelJob(jobId: string): Promise<boolean> {
  const active = 'PENDING,CONFIGURING,RUNNING,SUSPENDED,COMPLETING';
  const state = () => spawnSync('squeue', ['-h', '-j', jobId, '-t', active, '-o', '%T'], { encoding: 'utf8' });
  const first = state();
  if (first.error || first.status !== 0 || first.stdout.trim() === '') return false;
  spawnSync('scancel', [jobId]);
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const now = state();
    if (now.status !== 0 || now.stdout.trim() === '') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

let setpriv: string | false | undefined;

/**
 * util-linux's setpriv on PATH when it knows `--pdeathsig` (2.33 and later): found by reading the program for the
 * option's name rather than by starting it, which would cost a process start on every run.
 */
function findSetpriv(): string | false {
  if (!LINUX) return false;
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
 * The argv that starts a stage's command with a parent-death signal: `setpriv --pdeathsig KILL -- argv` where
 * setpriv supports it, else the argv as it is.
 */
export function withParentDeathSignal(argv: string[]): string[] {
  setpriv ??= findSetpriv();
  return setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', ...argv] : argv;
}
