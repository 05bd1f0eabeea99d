// Processes by identity, never by pid alone: a pid is reused as soon as its process is reaped, so "pid N is alive"
// can name a stranger. A process is its pid *and* its start time (/proc/PID/stat, field 22, clock ticks since
// boot), which no later process with the same pid shares; or it is found by a token in its initial environment
// (/proc/PID/environ never changes): PIPELINE_WORKSPACE for the stages of a workspace, the rig's token for
// everything the CLIs started in one folder (see cli.ts).
import { readdirSync, readFileSync, realpathSync } from 'node:fs';

/** One process, as no other can be: its pid and its start time. */
export interface ProcessId {
  pid: number;
  /** Start time in clock ticks after boot (field 22 of /proc/PID/stat). */
  start: number;
}

interface Stat extends ProcessId {
  /** One letter: R, S, D, Z (zombie), … */
  state: string;
  /** Its process group. */
  pgrp: number;
}

/** The fields of /proc/PID/stat this file needs, or undefined when there is no such process. */
function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 is the command name in parentheses, which may hold spaces and parentheses: split after the last one.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: rest[0], pgrp: Number(rest[2]), start: Number(rest[19]) };
}

/** Whether this very process still runs (a zombie, or another process under its pid, does not). */
export function isRunning(id: ProcessId): boolean {
  const s = stat(id.pid);
  return s !== undefined && s.start === id.start && s.state !== 'Z';
}

/** Parse an identity a stage wrote as `PID START` (see STAGE_SCRIPT and shIdentity). */
export function parseIdentity(text: string): ProcessId {
  const [pid, start] = text.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(pid) || !Number.isInteger(start)) throw new Error(`not a process identity (PID START): ${JSON.stringify(text)}`);
  return { pid, start };
}

/**
 * A shell fragment that expands to `PID START` of the process whose pid is in `$var` (`$` for the shell itself,
 * `!` for its last background child): `echo ${shIdentity('$')} > me.id`.
 */
export function shIdentity(variable: '$' | '!'): string {
  return `$${variable} $(sed 's/.*) //' /proc/$${variable}/stat | cut -d' ' -f20)`;
}

/**
 * Every running process (zombies left out) whose initial environment sets `name` to `value` (or to one of the
 * values of a set), with its process group and the value found.
 */
export function processesWithEnv(name: string, value: string | ReadonlySet<string>): (ProcessId & { pgrp: number; value: string })[] {
  const wanted = typeof value === 'string' ? new Set([value]) : value;
  const prefix = `${name}=`;
  const found: (ProcessId & { pgrp: number; value: string })[] = [];
  if (wanted.size === 0) return found;
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      // The stat before and after the environment: the same start time both times means one process throughout.
      const before = stat(pid);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const after = stat(pid);
      if (before === undefined || after === undefined || before.start !== after.start || after.state === 'Z') continue;
      const variable = environ.split('\0').find((v) => v.startsWith(prefix));
      const seen = variable?.slice(prefix.length);
      if (seen !== undefined && wanted.has(seen)) found.push({ pid, start: after.start, pgrp: after.pgrp, value: seen });
    } catch {
      // ended meanwhile, or not ours to read
    }
  }
  return found;
}

/** Every running process started for a stage of this workspace (found by PIPELINE_WORKSPACE, not by name). */
export function processesOf(ws: string): ProcessId[] {
  return processesWithEnv('PIPELINE_WORKSPACE', realpathSync(ws)).map(({ pid, start }) => ({ pid, start }));
}
