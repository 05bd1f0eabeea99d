// The CLI test rig shared by the engine, torture and stage suites: the repository's paths, the real CLI run as a
// child process (`node bin/pipeline.js ...`) with one environment and one result shape, and temp workspaces (a
// pipeline.yaml and its files in a fresh folder under os.tmpdir()) with small readers for what a run left:
// pipeline.lock, a log of stage executions, byte snapshots of folders.
//
//   const ws = makeWorkspace({ yaml, files: { 'data/raw.csv': 'a,b\n' } });
//   const r = await ws.run(['run', '--json']);   // { exitCode, signal, stdout, stderr, json }
//   ws.cleanup();
//
//   const r = await runCli(dir, ['status']);      // any folder; the store where users have it (.pipeline/cache)
//
// Each workspace gets its own cache folder (PIPELINE_CACHE_DIR) beside it, outside the workspace, so a
// snapshot of the workspace never includes the store; pass `cacheDir` to share one between workspaces.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI entry point: it runs dist/, so build (`npm run build`) after changing runner/. */
export const cliPath = path.join(repoRoot, 'bin', 'pipeline.js');
/** The real California-housing data set, shared beside the repository (never committed). */
export const realData = path.resolve(repoRoot, '../shared/data/cal_housing.data');

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

export interface RunOptions {
  /** Extra environment for the CLI (merged over the defaults). */
  env?: Record<string, string | undefined>;
  /** Folder to run in, relative to the workspace (default: the workspace). */
  cwd?: string;
  /** Kill the CLI after this many ms (default 60 s; 0: never). */
  timeoutMs?: number;
}

export interface SpawnOptions extends RunOptions {
  /** Own process group, so the test can kill the runner and its stages together: process.kill(-pid, sig). */
  detached?: boolean;
}

export interface CliOptions extends Omit<SpawnOptions, 'cwd'> {
  /** PIPELINE_CACHE_DIR; undefined keeps the store where users have it, in the workspace's .pipeline/cache. */
  cacheDir?: string;
}

/** A running CLI: await it for the finished execa result (toResult turns it into a CliResult); `.pid` is known. */
export type CliProcess = ResultPromise<{ reject: false; all: false }>;

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
    ...extra,
  };
}

/** Start `pipeline ARGS` in `cwd` without waiting (for signals and concurrent runs); output is buffered. */
export function startCli(cwd: string, args: string[], options: CliOptions = {}): CliProcess {
  return execa(process.execPath, [cliPath, ...args], {
    cwd,
    // Variables set to undefined are left out of the child's environment.
    env: cliEnv(options.cacheDir, options.env) as Record<string, string>,
    extendEnv: true,
    reject: false,
    stdin: 'ignore',
    detached: Boolean(options.detached),
    timeout: options.timeoutMs ?? 60_000,
    stripFinalNewline: false,
  }) as unknown as CliProcess;
}

/** Run `pipeline ARGS` in `cwd` to completion. */
export async function runCli(cwd: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  return toResult(await startCli(cwd, args, options));
}

export interface WorkspaceSpec {
  /** The text of pipeline.yaml. */
  yaml: string;
  /** Workspace-relative path → content, written before anything runs. */
  files?: Record<string, string | Uint8Array>;
  /** A cache folder to use instead of a private one (share it between workspaces). */
  cacheDir?: string;
  /** Prefix of the temp folder's name. */
  prefix?: string;
}

/** Every file, folder and symlink below a folder: relative path → `file <sha256>` / `dir` / `link <target>`. */
export type Snapshot = Record<string, string>;

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Byte snapshot of a folder (dot files included); `exclude` drops relative paths and everything below them. */
export function snapshotDir(dir: string, exclude: string[] = []): Snapshot {
  const snap: Snapshot = {};
  if (!existsSync(dir)) return snap;
  const walk = (rel: string) => {
    const abs = rel ? path.join(dir, rel) : dir;
    for (const name of readdirSync(abs).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (exclude.some((e) => child === e || child.startsWith(`${e}/`))) continue;
      const full = path.join(dir, child);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) snap[child] = `link ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        snap[child] = 'dir';
        walk(child);
      } else snap[child] = `file ${sha256(readFileSync(full))}`;
    }
  };
  walk('');
  return snap;
}

const live = new Set<Workspace>();

export class Workspace {
  /** The temp folder holding the workspace and its private cache. */
  readonly base: string;
  /** The workspace root (where pipeline.yaml is). */
  readonly dir: string;
  /** PIPELINE_CACHE_DIR for every CLI run of this workspace. */
  readonly cacheDir: string;

  constructor(spec: WorkspaceSpec) {
    this.base = mkdtempSync(path.join(os.tmpdir(), spec.prefix ?? 'pipeline-test-'));
    this.dir = path.join(this.base, 'ws');
    this.cacheDir = spec.cacheDir ?? path.join(this.base, 'cache');
    mkdirSync(this.dir, { recursive: true });
    this.write('pipeline.yaml', spec.yaml);
    for (const [rel, content] of Object.entries(spec.files ?? {})) this.write(rel, content);
    live.add(this);
  }

  /** Absolute path of a workspace-relative path. */
  path(rel = '.'): string {
    return path.join(this.dir, rel);
  }

  write(rel: string, content: string | Uint8Array): void {
    const abs = this.path(rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  readBytes(rel: string): Buffer {
    return readFileSync(this.path(rel));
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  remove(rel: string): void {
    rmSync(this.path(rel), { recursive: true, force: true });
  }

  /** The environment every CLI run of this workspace gets: its private cache, see cliEnv. */
  env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return cliEnv(this.cacheDir, extra);
  }

  /** Start the CLI without waiting (for signals and concurrent runs). stdout/stderr are buffered on the result. */
  spawn(args: string[], options: SpawnOptions = {}): CliProcess {
    const { cwd, ...rest } = options;
    return startCli(cwd ? this.path(cwd) : this.dir, args, { ...rest, cacheDir: this.cacheDir });
  }

  /** Run the CLI to completion. */
  async run(args: string[], options: RunOptions = {}): Promise<CliResult> {
    return toResult(await this.spawn(args, options));
  }

  /** pipeline.lock, parsed (undefined when absent). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  lock(): any {
    return this.exists('pipeline.lock') ? JSON.parse(this.read('pipeline.lock')) : undefined;
  }

  /** Non-empty lines of a workspace text file (e.g. the `runs.log` stages append to); [] when absent. */
  lines(rel = 'runs.log'): string[] {
    return this.exists(rel) ? this.read(rel).split('\n').filter((l) => l.length > 0) : [];
  }

  /** Byte snapshot of the workspace (or a folder in it). */
  snapshot(rel = '.', exclude: string[] = []): Snapshot {
    return snapshotDir(this.path(rel), exclude);
  }

  /**
   * Snapshot of what a user would call the workspace's state: everything but the derived state the engine may
   * refresh on any command (`.pipeline/state`: parsed config, stat cache) and the `.pipeline` folder entry itself.
   */
  userSnapshot(): Snapshot {
    const snap = this.snapshot('.', ['.pipeline/state']);
    if (snap['.pipeline'] === 'dir' && !Object.keys(snap).some((k) => k.startsWith('.pipeline/'))) delete snap['.pipeline'];
    return snap;
  }

  /** Byte snapshot of the cache folder. */
  cacheSnapshot(): Snapshot {
    return snapshotDir(this.cacheDir);
  }

  /** Paths of every object file in the store (`<cache>/objects/ab/cdef…`). */
  cacheObjects(): string[] {
    const dir = path.join(this.cacheDir, 'objects');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((s) => /^[0-9a-f]{2}$/.test(s))
      .flatMap((s) => readdirSync(path.join(dir, s)).filter((r) => !r.startsWith('.')).map((r) => path.join(dir, s, r)));
  }

  /** The store path of an object by hash. */
  objectPath(hash: string): string {
    return path.join(this.cacheDir, 'objects', hash.slice(0, 2), hash.slice(2));
  }

  cleanup(): void {
    rmSync(this.base, { recursive: true, force: true });
    live.delete(this);
  }
}

export function makeWorkspace(spec: WorkspaceSpec): Workspace {
  return new Workspace(spec);
}

/** Remove every workspace not cleaned up yet (call from a root `after` hook). */
export function cleanupAll(): void {
  for (const ws of [...live]) ws.cleanup();
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

/** Poll until `predicate` holds (or throw after `timeoutMs`). */
export async function waitFor(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A generic stage script for `cmd:` stages, to put in a workspace as e.g. `stage.js`:
 *
 *   node stage.js OUT [IN...]
 *
 * Writes OUT as the param `value` (from PIPELINE_PARAMS, '' when unset) followed by the bytes of every IN, so
 * params other than `value` change the fingerprint but not the output (early cutoff). Params: `sleep` (ms,
 * before writing), `hold` (a file: wait until it exists before writing, so a test decides when the stage ends),
 * `await` (a stage name: wait until that stage has started, so two stages provably run at once), `fail` (exit 1
 * after writing half of OUT, with `fail` as the last stderr line). Appends
 * `STAGE START END` (ms timestamps) to `runs.log` in the workspace once it finished writing, and
 * `STAGE started PID` to `started.log` when it starts.
 */
export const STAGE_SCRIPT = `const fs = require('node:fs');
const path = require('node:path');
const stage = process.env.PIPELINE_STAGE;
const params = JSON.parse(process.env.PIPELINE_PARAMS || '{}');
// Wall-clock times below the millisecond, so two short stages that overlap are never read as one instant.
const now = () => performance.timeOrigin + performance.now();
const start = now();
fs.appendFileSync('started.log', stage + ' started ' + process.pid + '\\n');
const [out, ...ins] = process.argv.slice(2);
let text = params.value === undefined ? '' : String(params.value) + '\\n';
for (const f of ins) text += fs.readFileSync(f, 'utf8');
if (params.sleep) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(params.sleep));
const until = (cond) => { while (!cond()) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); };
if (params.hold) until(() => fs.existsSync(params.hold));
if (params.await) until(() => fs.readFileSync('started.log', 'utf8').split('\\n').some((l) => l.startsWith(params.await + ' started ')));
fs.mkdirSync(path.dirname(out), { recursive: true });
if (params.fail) {
  fs.writeFileSync(out, text.slice(0, Math.floor(text.length / 2)) + 'HALF-WRITTEN');
  process.stderr.write('some detail\\n' + params.fail + '\\n');
  process.exit(1);
}
fs.writeFileSync(out, text);
fs.appendFileSync('runs.log', stage + ' ' + start + ' ' + now() + '\\n');
`;

/** Executions per stage name from the `runs.log` the STAGE_SCRIPT appends to. */
export function executions(ws: Workspace, rel = 'runs.log'): string[] {
  return ws.lines(rel).map((l) => l.split(' ')[0]);
}
