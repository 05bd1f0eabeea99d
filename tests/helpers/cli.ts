// The one way tests start the CLI: `node bin/pipeline.js ARGS` as a child process with one environment and one
// result shape. Every CLI started here carries a token in its environment (TEST_RIG_TOKEN), which the runner
// passes on to its stages and hosts, so the test finds what its CLIs started by identity, not by pid (pids are
// reused: see processes.ts). The token belongs to the folder the CLI runs in (the same for every CLI this test
// process starts there), so consecutive runs in a workspace see the same environment, as the fresh record
// (bin/fresh.js) requires. A CLI still running when its test ends, and everything it started, is killed then (a
// root hook), as wireit's rig does: no test leaves a process behind, and no CLI needs a timeout.
//
//   const r = await runCli(dir, ['status']);                 // { exitCode, signal, stdout, stderr, json }
//   const child = startCli(dir, ['run'], { detached: true }); // running; child.pid, child.token
//   await waitForOutput(child, 'waiting for another run');    // a handshake on its output
//   const r = await child.result;
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { processesWithEnv, type ProcessId } from './processes.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI entry point: it runs dist/, so build (`npm run build`) after changing runner/. */
export const cliPath = path.join(repoRoot, 'bin', 'pipeline.js');
/** The real California-housing data set, shared beside the repository (never committed). */
export const realData = path.resolve(repoRoot, '../shared/data/cal_housing.data');

/** The environment variable holding the token of the CLI that started a process. */
export const TOKEN_VARIABLE = 'TEST_RIG_TOKEN';

export interface CliResult {
  /** The exit code; a death by signal maps to 128 + the signal's number. */
  exitCode: number;
  /** The signal that ended the CLI (e.g. 'SIGKILL'), undefined when it exited. */
  signal?: string;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is one JSON value (e.g. `run --json`), else undefined. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json?: any;
}

export interface CliOptions {
  /** Extra environment for the CLI (merged over the defaults; undefined removes a variable). */
  env?: Record<string, string | undefined>;
  /** PIPELINE_CACHE_DIR; undefined keeps the store where users have it, in the workspace's .pipeline/cache. */
  cacheDir?: string;
  /** Own process group, so the test can kill the runner and its stages together: killGroup(child, sig). */
  detached?: boolean;
  /** Kill the CLI after this many ms (default: never; the test's end stops it). */
  timeoutMs?: number;
  /**
   * A command to run the CLI through, e.g. ['unshare', '--net'], or a shell line that runs it as "$@":
   * ['bash', '-c', '"$@" | head -1', 'bash'].
   */
  via?: string[];
  /** Another entry point than bin/pipeline.js (a copy of the package, the repository through a mount). */
  entry?: string;
}

/** A running CLI: await it (or `.result`) for how it ended; `.pid` and `.token` are known at once. */
export type CliProcess = ResultPromise<{ reject: false; all: false }> & {
  /** The value of TEST_RIG_TOKEN in its environment (its folder's), and so in that of every process it started. */
  readonly token: string;
  /** How it ended, as a CliResult. */
  readonly result: Promise<CliResult>;
  /** What it wrote so far. */
  readonly output: { stdout: string; stderr: string };
};

/** The environment every CLI run gets: no colours, nothing inherited from a parent pipeline, the given store. */
export function cliEnv(cacheDir: string | undefined, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PIPELINE_CACHE_DIR: cacheDir,
    NO_COLOR: '1',
    FORCE_COLOR: undefined,
    CI: 'true',
    PIPELINE_DEBUG: undefined,
    PIPELINE_PARAMS: undefined,
    PIPELINE_STAGE: undefined,
    PIPELINE_CONTEXT: undefined,
    PIPELINE_VERDICT_FILE: undefined,
    PIPELINE_WORKSPACE: undefined,
    // The token reaches every stage and host (the base set of their environment, see runner/exec/environment.ts).
    PIPELINE_BASE_ENV: TOKEN_VARIABLE,
    ...extra,
  };
}

/** CLIs started during the current test (the root hook below stops what is left of them). */
const started = new Set<CliProcess>();

/** The token of the CLIs this test process starts in a folder. */
export function folderToken(cwd: string): string {
  let folder = path.resolve(cwd);
  try {
    folder = realpathSync(folder);
  } catch {
    // a folder that does not exist (the CLI says so): its path names it
  }
  return createHash('sha256').update(`${process.pid}\0${folder}`).digest('hex').slice(0, 24);
}

/** Start `pipeline ARGS` in `cwd` without waiting (for signals and concurrent runs); output is buffered. */
export function startCli(cwd: string, args: string[], options: CliOptions = {}): CliProcess {
  const token = folderToken(cwd);
  const command = [...(options.via ?? []), process.execPath, options.entry ?? cliPath, ...args];
  const child = execa(command[0], command.slice(1), {
    cwd,
    // Variables set to undefined are left out of the child's environment.
    env: cliEnv(options.cacheDir, { ...options.env, [TOKEN_VARIABLE]: token }) as Record<string, string>,
    extendEnv: true,
    reject: false,
    stdin: 'ignore',
    detached: Boolean(options.detached),
    timeout: options.timeoutMs ?? 0,
    stripFinalNewline: false,
  }) as unknown as ResultPromise<{ reject: false; all: false }>;
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (output.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output.stderr += d.toString()));
  const cli = Object.assign(child, { token, output, result: child.then(toResult) }) as CliProcess;
  started.add(cli);
  return cli;
}

/** Run `pipeline ARGS` in `cwd` to completion. */
export async function runCli(cwd: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(cwd, args, options).result;
}

/** `pipeline run --json ARGS`: the result, and each stage's status and reason codes by name ({} when no JSON). */
export async function runJson(cwd: string, args: string[] = [], options: CliOptions = {}) {
  const r = await runCli(cwd, ['run', '--json', ...args], options);
  let statuses: Record<string, string> = {};
  let codes: Record<string, string[]> = {};
  const last = r.stdout.trim().split('\n').at(-1);
  try {
    const parsed = JSON.parse(last ?? '') as { stages: { name: string; status: string; reasons: { code: string }[] }[] };
    statuses = Object.fromEntries(parsed.stages.map((s) => [s.name, s.status]));
    codes = Object.fromEntries(parsed.stages.map((s) => [s.name, s.reasons.map((x) => x.code)]));
  } catch {
    // no JSON (a usage error): statuses stay empty
  }
  return { ...r, statuses, codes };
}

interface RawResult {
  exitCode?: number;
  signal?: string;
  stdout?: string | Uint8Array | unknown[];
  stderr?: string | Uint8Array | unknown[];
}

/** Output execa captured, as text (a string unless an option asked for bytes or lines). */
function text(out: RawResult['stdout']): string {
  if (out === undefined) return '';
  if (typeof out === 'string') return out;
  if (out instanceof Uint8Array) return Buffer.from(out).toString('utf8');
  return out.join('\n');
}

/** A finished execa result as {exitCode, signal, stdout, stderr, json}; a signal death maps to 128 + signal number. */
export function toResult(r: RawResult): CliResult {
  const stdout = text(r.stdout);
  const stderr = text(r.stderr);
  let exitCode = r.exitCode;
  if (exitCode === undefined) exitCode = r.signal ? 128 + (os.constants.signals[r.signal as NodeJS.Signals] ?? 0) : -1;
  let json: unknown;
  const t = stdout.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      json = JSON.parse(t);
    } catch {
      json = undefined;
    }
  }
  return { exitCode, signal: r.signal, stdout, stderr, json };
}

/** Whether the CLI process has ended (its exit was seen). */
export function ended(child: CliProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * A handshake on the CLI's output: resolves with everything written so far once `stream` holds `pattern`; fails
 * as soon as the CLI ends without writing it (with what it wrote), never after a fixed time.
 */
export function waitForOutput(child: CliProcess, pattern: string | RegExp, what = String(pattern), stream: 'stdout' | 'stderr' = 'stderr'): Promise<string> {
  const holds = () => (typeof pattern === 'string' ? child.output[stream].includes(pattern) : pattern.test(child.output[stream]));
  if (holds()) return Promise.resolve(child.output[stream]);
  return new Promise((resolve, reject) => {
    const source = child[stream];
    const onData = () => {
      // The collector in startCli was registered first, so the output already holds this chunk.
      if (!holds()) return;
      stop();
      resolve(child.output[stream]);
    };
    const onClose = () => {
      stop();
      if (holds()) resolve(child.output[stream]);
      else reject(new Error(`the CLI ended (${child.exitCode ?? child.signalCode}) before ${what}\nstdout: ${child.output.stdout}\nstderr: ${child.output.stderr}`));
    };
    const stop = () => {
      source.off('data', onData);
      child.off('close', onClose);
    };
    source.on('data', onData);
    child.on('close', onClose);
  });
}

/**
 * Signal the process group of a detached CLI (the runner and the stages in its group). While the CLI has not
 * ended, its pid is not reaped, so its group id cannot belong to anyone else; once it has ended, the members left
 * are found by its token. A plain `process.kill(-pid)` could reach a stranger's group after the pid was reused.
 */
export function killGroup(child: CliProcess, signal: NodeJS.Signals): void {
  if (!ended(child)) {
    process.kill(-child.pid!, signal);
    return;
  }
  for (const p of processesOfCli(child).filter((m) => m.pgrp === child.pid)) {
    try {
      process.kill(p.pid, signal);
    } catch {
      // ended meanwhile
    }
  }
}

/**
 * Every running process that the CLIs of this CLI's folder started, themselves included: found by their token,
 * never by pid.
 */
export function processesOfCli(child: CliProcess): (ProcessId & { pgrp: number })[] {
  return processesWithEnv(TOKEN_VARIABLE, child.token);
}

/**
 * Wait until no process of the CLI's process group is left (a detached CLI leads its own group; SIGKILL is
 * delivered asynchronously). Members are recognised by the token and the group, so a stranger that got a reused
 * pid or group id never counts.
 */
export async function waitGroupGone(child: CliProcess, timeoutMs = 30_000): Promise<void> {
  const left = () => processesOfCli(child).filter((p) => p.pgrp === child.pid);
  const end = Date.now() + timeoutMs;
  while (left().length > 0) {
    if (Date.now() > end) throw new Error(`processes of the group of CLI ${child.pid} still running after ${timeoutMs} ms: ${JSON.stringify(left())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Kill the CLIs and everything they started (found by their tokens, in one pass over /proc); wait until they ended. */
export async function stopCli(...children: CliProcess[]): Promise<void> {
  for (const p of processesWithEnv(TOKEN_VARIABLE, new Set(children.map((c) => c.token)))) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
  await Promise.all(children.map((c) => c.catch(() => undefined)));
}

async function stopStarted(): Promise<void> {
  const all = [...started];
  started.clear();
  await stopCli(...all);
}

// Root hooks (registered once, when the first test file imports the rig): after every test, stop what its CLIs
// left running — a CLI the test did not wait for, a stage or host a killed runner left.
if (typeof afterEach === 'function' && typeof after === 'function') {
  afterEach(stopStarted);
  after(stopStarted);
}
