// The test rig shared by every suite that runs the real CLI (engine, cli, torture, stages, remote, slurm, report):
// temp workspaces (a pipeline.yaml and its files in a fresh folder under os.tmpdir()) with small readers for what a
// run left, and the pieces it is built from, re-exported here so a test imports one module:
//   cli.ts        the CLI as a child process (one starter, one environment, one result shape), output handshakes
//   wait.ts       waiting on conditions, never on a fixed sleep
//   processes.ts  processes by identity (pid + start time, or a token in their environment), never by pid alone
//   snapshot.ts   byte snapshots of folders
//   store.ts      pipeline.lock, store objects, run records
//
//   const ws = makeWorkspace({ yaml, files: { 'data/raw.csv': 'a,b\n' } });
//   const r = await ws.run(['run', '--json']);   // { exitCode, signal, stdout, stderr, json }
//   ws.cleanup();                                // or cleanupAll() in a root `after`
//
// A workspace gets its own store (PIPELINE_CACHE_DIR) beside it, outside the workspace, so a snapshot of the
// workspace never includes the store; `store: 'inside'` keeps it where users have it (.pipeline/cache), so that
// damage and symlinks inside the workspace reach it; `cacheDir` shares one between workspaces.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliEnv, repoRoot, runCli, runJson, startCli, type CliOptions, type CliProcess, type CliResult } from './cli.js';
import { snapshotDir, type Snapshot } from './snapshot.js';
import { readLock, storeIn, storeObject } from './store.js';

export * from './cli.js';
export * from './wait.js';
export * from './snapshot.js';
export * from './store.js';
export { isRunning, parseIdentity, processesOf, shIdentity, type ProcessId } from './processes.js';
export { prng, seedFromEnv } from './prng.js';

export interface RunOptions {
  /** Extra environment for the CLI (merged over the defaults). */
  env?: Record<string, string | undefined>;
  /** Folder to run in, relative to the workspace (default: the workspace). */
  cwd?: string;
  /** Kill the CLI after this many ms (default: never; the end of the test stops it). */
  timeoutMs?: number;
  /** A command to run the CLI through (see CliOptions.via). */
  via?: string[];
}

export interface SpawnOptions extends RunOptions {
  /** Own process group, so the test can kill the runner and its stages together: killGroup(child, sig). */
  detached?: boolean;
}

export interface WorkspaceSpec {
  /** The text of pipeline.yaml (none written when absent). */
  yaml?: string;
  /** Workspace-relative path → content, written before anything runs. */
  files?: Record<string, string | Uint8Array>;
  /** A store folder to use instead of a private one beside the workspace (share it between workspaces). */
  cacheDir?: string;
  /** `inside`: no PIPELINE_CACHE_DIR, the store in the workspace's .pipeline/cache, as users have it. */
  store?: 'beside' | 'inside';
  /** Prefix of the temp folder's name. */
  prefix?: string;
}

/** Temp folders and workspaces not removed yet. */
const scratch = new Set<string>();

/** A fresh empty folder under the OS temp dir, removed by cleanupAll(). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pipeline-test-${prefix}-`));
  scratch.add(dir);
  return dir;
}

export class Workspace {
  /** The temp folder holding the workspace and its private store. */
  readonly base: string;
  /** The workspace root (where pipeline.yaml is). */
  readonly dir: string;
  /** The store of every CLI run of this workspace. */
  readonly cacheDir: string;
  /** PIPELINE_CACHE_DIR for its runs: undefined when the store is inside the workspace. */
  private readonly cacheEnv: string | undefined;

  constructor(spec: WorkspaceSpec) {
    this.base = mkdtempSync(path.join(os.tmpdir(), spec.prefix ?? 'pipeline-test-'));
    scratch.add(this.base);
    this.dir = path.join(this.base, 'ws');
    mkdirSync(this.dir, { recursive: true });
    this.cacheEnv = spec.cacheDir ?? (spec.store === 'inside' ? undefined : path.join(this.base, 'cache'));
    this.cacheDir = this.cacheEnv ?? storeIn(this.dir);
    if (spec.yaml !== undefined) this.write('pipeline.yaml', spec.yaml);
    for (const [rel, content] of Object.entries(spec.files ?? {})) this.write(rel, content);
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

  /** The environment every CLI run of this workspace gets: its store, see cliEnv. */
  env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return cliEnv(this.cacheEnv, extra);
  }

  private cliOptions(options: SpawnOptions): CliOptions {
    const { cwd: _cwd, ...rest } = options;
    return { ...rest, cacheDir: this.cacheEnv };
  }

  /** Start the CLI without waiting (for signals and concurrent runs). stdout/stderr are buffered on the result. */
  spawn(args: string[], options: SpawnOptions = {}): CliProcess {
    return startCli(options.cwd ? this.path(options.cwd) : this.dir, args, this.cliOptions(options));
  }

  /** Run the CLI to completion. */
  async run(args: string[], options: RunOptions = {}): Promise<CliResult> {
    return runCli(options.cwd ? this.path(options.cwd) : this.dir, args, this.cliOptions(options));
  }

  /** `run --json ARGS` to completion, with each stage's status and reason codes by name. */
  async runJson(args: string[] = [], options: RunOptions = {}) {
    return runJson(options.cwd ? this.path(options.cwd) : this.dir, args, this.cliOptions(options));
  }

  /** pipeline.lock, parsed (undefined when absent). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  lock(): any {
    return this.exists('pipeline.lock') ? readLock(this.dir) : undefined;
  }

  /** Non-empty lines of a workspace text file (e.g. the `runs.log` stages append to); [] when absent. */
  lines(rel = 'runs.log'): string[] {
    return this.exists(rel) ? this.read(rel).split('\n').filter((l) => l.length > 0) : [];
  }

  /** Byte snapshot of the workspace (or a folder in it). */
  snapshot(rel = '.', exclude: string[] = []): Snapshot {
    return snapshotDir(this.path(rel), { exclude });
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

  /** Byte snapshot of the store. */
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
    return storeObject(this.cacheDir, hash);
  }

  cleanup(): void {
    rmSync(this.base, { recursive: true, force: true });
    scratch.delete(this.base);
  }
}

export function makeWorkspace(spec: WorkspaceSpec): Workspace {
  return new Workspace(spec);
}

/** Remove every workspace and temp folder not removed yet (call from an `after` hook). */
export function cleanupAll(): void {
  for (const dir of [...scratch]) {
    rmSync(dir, { recursive: true, force: true });
    scratch.delete(dir);
  }
}

/**
 * A temp copy of the project (pipeline.yaml, stages/, runner/, package.json; node_modules and dist symlinked), its
 * store inside, for running the real ML pipeline without touching the repository. Returns its folder.
 */
export function projectCopy(prefix: string): string {
  const dir = tempDir(prefix);
  for (const name of ['pipeline.yaml', 'package.json', 'tsconfig.json']) cpSync(path.join(repoRoot, name), path.join(dir, name));
  for (const name of ['stages', 'runner']) cpSync(path.join(repoRoot, name), path.join(dir, name), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  // The stages import `pipeline-dag/stage`, which package.json's exports resolve to the compiled dist/.
  symlinkSync(path.join(repoRoot, 'dist'), path.join(dir, 'dist'));
  return dir;
}

/**
 * A generic stage script for `cmd:` stages, to put in a workspace as e.g. `stage.js`:
 *
 *   node stage.js OUT [IN...]
 *
 * Writes OUT as the param `value` (from PIPELINE_PARAMS, '' when unset) followed by the bytes of every IN, so
 * params other than `value` change the fingerprint but not the output (early cutoff). Params: `hold` (a file: wait
 * until it exists before writing, so the test decides when the stage ends), `await` (a stage name: wait until
 * that stage has started, so two stages provably run at once), `fail` (exit 1 after writing half of OUT, with
 * `fail` as the last stderr line). Appends `STAGE started PID START` (its identity, see processes.ts) to
 * `started.log` when it starts, and `STAGE START END` (ms timestamps) to `runs.log` once it finished writing.
 */
export const STAGE_SCRIPT = `const fs = require('node:fs');
const path = require('node:path');
const stage = process.env.PIPELINE_STAGE;
const params = JSON.parse(process.env.PIPELINE_PARAMS || '{}');
// Wall-clock times below the millisecond, so two short stages that overlap are never read as one instant.
const now = () => performance.timeOrigin + performance.now();
const start = now();
const stat = fs.readFileSync('/proc/self/stat', 'utf8');
const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
fs.appendFileSync('started.log', stage + ' started ' + process.pid + ' ' + startTicks + '\\n');
const [out, ...ins] = process.argv.slice(2);
let text = params.value === undefined ? '' : String(params.value) + '\\n';
for (const f of ins) text += fs.readFileSync(f, 'utf8');
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
