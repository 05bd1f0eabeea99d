// `.pipeline/running/`: what a run's stages own outside the runner while they run — a process group on this machine
// (a `cmd:` stage's process, or the host of a `module:` stage) or a cluster job — one file each, written before
// the stage's code runs and removed when it ended. A run killed before it could remove them leaves them behind, and
// the next command that takes the workspace hands each to the executor that wrote it, which stops what is left
// (leftovers.ts). Nothing a process of an earlier run writes is ever recorded. An experiment's variants run in scratch
// copies outside the workspace (cli/exp/scratch.ts): their records are written here too, each naming the copy its
// stage ran in, and the sweep's scratch area has a record of its own, so what a killed `exp run` left running and
// the copies it left in the temp folder are found by the next command that takes the workspace.
import { lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';

/** The executors that leave records: stage processes, stage hosts, Slurm jobs. */
export type RunningOwner = 'process' | 'host' | 'slurm';

/** One thing a running stage owns outside the runner. */
export type RunningEntry =
  /**
   * A process group on this machine (its leader's pid), started after `since` (clock ticks since `boot`); `root`: the
   * folder its processes were started in when it is not the workspace (an experiment variant's scratch copy).
   */
  | { kind: 'group'; executor: 'process' | 'host'; stage: string; pgid: number; boot: string; since: number; runner: number; root?: string }
  /** A Slurm job, or a job step (`J.S`, steps mode). */
  | { kind: 'job'; executor: 'slurm'; stage: string; jobId: string; runner: number };

/** The scratch area of an `exp run` (a folder in the temp folder holding its variants' copies). */
export interface ScratchEntry {
  kind: 'scratch';
  base: string;
  runner: number;
}

/** A record read back, with the file it came from. */
export interface RunningRecord {
  file: string;
  /** Undefined when the file is torn (a crash of the machine while it was written) or names nothing known. */
  entry?: RunningEntry | ScratchEntry;
}

export function runningDir(root: string): string {
  return path.join(root, '.pipeline', 'running');
}

/** Record what a stage owns while it runs; the file, or undefined in a read-only place (then nothing records it). */
export function recordRunning(root: string, entry: RunningEntry): string | undefined {
  const dir = runningDir(root);
  const id = entry.kind === 'group' ? `g${entry.pgid}` : `j${entry.jobId}`;
  const file = path.join(dir, `${entry.stage}.${id}.json`);
  try {
    mkdirSync(dir, { recursive: true });
    // Not flushed: after a crash of the machine nothing of the run is left running.
    writeFileAtomic(file, JSON.stringify(entry));
    return file;
  } catch {
    return undefined; // a group still dies with its leader's parent-death signal
  }
}

/** The file in a scratch area that names the workspace it was made for (its real path). */
const SCRATCH_MARK = '.workspace';

/**
 * Record an `exp run`'s scratch area in the workspace `root` (and mark the area with the workspace it belongs to):
 * the record's file, or undefined in a read-only place.
 */
export function recordScratch(root: string, base: string): string | undefined {
  try {
    writeFileAtomic(path.join(base, SCRATCH_MARK), realpathSync(root));
    const dir = runningDir(root);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `exp.s${path.basename(base)}.json`);
    writeFileAtomic(file, JSON.stringify({ kind: 'scratch', base, runner: process.pid } satisfies ScratchEntry));
    return file;
  } catch {
    return undefined;
  }
}

/**
 * The scratch area a record names when it is one of this workspace's: a `pipeline-exp-*` folder (not a link) whose
 * mark names the workspace. An edited record can name nothing else, so it can never make a command remove a folder
 * (or stop a process started in one) that an `exp run` of this workspace did not make.
 */
export function scratchAreaOf(entry: ScratchEntry, root: string): string | undefined {
  const base = entry.base;
  if (typeof base !== 'string' || !path.isAbsolute(base) || !/^pipeline-exp-[A-Za-z0-9]+$/.test(path.basename(base))) return undefined;
  try {
    if (!lstatSync(base).isDirectory()) return undefined;
    return readFileSync(path.join(base, SCRATCH_MARK), 'utf8') === realpathSync(root) ? path.normalize(base) : undefined;
  } catch {
    return undefined;
  }
}

export function forgetRunning(file: string | undefined): void {
  if (file) rmSync(file, { force: true });
}

/** Every record in the workspace, in name order. */
export function readRunning(root: string): RunningRecord[] {
  const dir = runningDir(root);
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const file = path.join(dir, name);
    try {
      return { file, entry: known(JSON.parse(readFileSync(file, 'utf8')) as RunningEntry) };
    } catch {
      return { file };
    }
  });
}

/** A record of a kind some executor owns, or undefined (an edited or foreign file: nothing to stop). */
function known(entry: RunningEntry | ScratchEntry): RunningEntry | ScratchEntry | undefined {
  if (entry?.kind === 'scratch') return entry;
  if (entry?.kind === 'group') {
    // Records of earlier versions name no executor: their groups were stage processes.
    const executor = (entry.executor as string | undefined) ?? 'process';
    return executor === 'process' || executor === 'host' ? { ...entry, executor } : undefined;
  }
  if (entry?.kind === 'job' && entry.executor === 'slurm' && /^[0-9]+(\.[0-9]+)?$/.test(String(entry.jobId))) return entry;
  return undefined;
}
