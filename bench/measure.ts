// Timing child processes: wall-clock time from spawn to exit, repeated after a warm-up.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarize, type Stats } from './stats.js';

export interface Cmd {
  file: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Exit codes accepted as success (default [0]). */
  ok?: number[];
  /** Kill the command after this long (default 10 minutes). */
  timeoutMs?: number;
}

export interface Outcome {
  ms: number;
  stdout: string;
  stderr: string;
  /** Peak RSS in KiB (largest single process of the tree), when measured through /usr/bin/time. */
  maxRssKiB?: number;
}

const TIME = '/usr/bin/time';
export const canMeasureRss = existsSync(TIME);

function describe(cmd: Cmd): string {
  return `${[cmd.file, ...cmd.args].join(' ')} (in ${cmd.cwd})`;
}

/** The child's environment: ours, plain output, then the command's own (an undefined value removes a variable). */
function envOf(cmd: Cmd): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1', ...cmd.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

/** Run once; throw with the command's stderr when it fails. */
export function exec(cmd: Cmd, opts: { rss?: boolean } = {}): Outcome {
  let file = cmd.file;
  let args = cmd.args;
  let rssFile: string | undefined;
  if (opts.rss && canMeasureRss) {
    rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}-${Date.now()}.txt`);
    args = ['-f', '%M', '-o', rssFile, file, ...args];
    file = TIME;
  }
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, {
    cwd: cmd.cwd,
    env: envOf(cmd),
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
    timeout: cmd.timeoutMs ?? 10 * 60_000,
    killSignal: 'SIGKILL',
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let maxRssKiB: number | undefined;
  if (rssFile) {
    try {
      maxRssKiB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
    } catch {
      // no figure
    }
    rmSync(rssFile, { force: true });
  }
  if (r.signal === 'SIGKILL' && ms >= (cmd.timeoutMs ?? 10 * 60_000)) throw new Error(`${describe(cmd)}: still running after ${Math.round(ms / 1000)} s, stopped`);
  if (r.error) throw new Error(`${describe(cmd)}: ${r.error.message}`);
  if (!(cmd.ok ?? [0]).includes(r.status ?? -1)) {
    throw new Error(`${describe(cmd)} exited with ${r.status ?? r.signal}:\n${(r.stderr || r.stdout).slice(-2000)}`);
  }
  return { ms, stdout: r.stdout, stderr: r.stderr, maxRssKiB };
}

export interface RepeatOptions {
  runs: number;
  warmup?: number;
  /** Runs before every repetition, untimed (e.g. empty the cache). */
  before?: (i: number) => void;
  /** Checks every timed outcome; throw to reject the figure. */
  check?: (o: Outcome, i: number) => void;
  rss?: boolean;
}

export interface Repeated {
  ms: Stats;
  rssKiB?: Stats;
  last: Outcome;
}

/** Warm-up run(s) then `runs` timed runs. `make(i)` builds the command of repetition i (i < 0: warm-up). */
export function repeat(make: (i: number) => Cmd, o: RepeatOptions): Repeated {
  const warmup = o.warmup ?? 1;
  for (let w = 0; w < warmup; w++) {
    o.before?.(-1 - w);
    const out = exec(make(-1 - w), { rss: o.rss });
    o.check?.(out, -1 - w);
  }
  const times: number[] = [];
  const rss: number[] = [];
  let last: Outcome | undefined;
  for (let i = 0; i < o.runs; i++) {
    o.before?.(i);
    const out = exec(make(i), { rss: o.rss });
    o.check?.(out, i);
    times.push(out.ms);
    if (out.maxRssKiB !== undefined) rss.push(out.maxRssKiB);
    last = out;
  }
  return { ms: summarize(times), rssKiB: rss.length ? summarize(rss) : undefined, last: last! };
}

/** Time an in-process function the same way. */
export function repeatFn<T>(fn: () => T, o: { runs: number; warmup?: number; check?: (v: T) => void }): { ms: Stats; last: T } {
  let last!: T;
  for (let w = 0; w < (o.warmup ?? 1); w++) o.check?.(fn());
  const times: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const t0 = process.hrtime.bigint();
    last = fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    o.check?.(last);
  }
  return { ms: summarize(times), last };
}
