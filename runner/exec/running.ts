// `.pipeline/running/`: what a run's stages own outside the runner while they run — a process group on this machine
// (a `cmd:` stage's process, or the host of a `module:` stage) or a cluster job — one file each, written before
// the stage's code runs and removed when it ended. A run killed before it could remove them leaves them behind, and
// the next command that takes the workspace hands each to the executor that wrote it, which stops what is left
// (leftovers.ts). Nothing a process of an earlier run writes is ever recorded.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';

/** The executors that leave records: stage processes, stage hosts, Slurm jobs. */
export type RunningOwner = 'process' | 'host' | 'slurm';

/** One thing a running stage owns outside the runner. */
export type RunningEntry =
  /** A process group on this machine (its leader's pid), started after `since` (clock ticks since `boot`). */
  | { kind: 'group'; executor: 'process' | 'host'; stage: string; pgid: number; boot: string; since: number; runner: number }
  /** A Slurm job, or a job step (`J.S`, steps mode). */
  | { kind: 'job'; executor: 'slurm'; stage: string; jobId: string; runner: number };

/** A record read back, with the file it came from. */
export interface RunningRecord {
  file: string;
  /** Undefined when the file is torn (a crash of the machine while it was written). */
  entry?: RunningEntry;
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
function known(entry: RunningEntry): RunningEntry | undefined {
  if (entry?.kind === 'group') {
    // Records of earlier versions name no executor: their groups were stage processes.
    const executor = (entry.executor as string | undefined) ?? 'process';
    return executor === 'process' || executor === 'host' ? { ...entry, executor } : undefined;
  }
  if (entry?.kind === 'job' && entry.executor === 'slurm' && /^[0-9]+(\.[0-9]+)?$/.test(String(entry.jobId))) return entry;
  return undefined;
}
