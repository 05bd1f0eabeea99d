// Shared pieces of the torture suite: temp workspaces, the real CLI as a child process (through the shared rig,
// tests/helpers/workspace.ts), byte-level snapshots of a folder, a seeded PRNG, and the cache-invariant checks
// every scenario ends with. Unlike the engine tests' workspaces, these keep the store where users have it, in
// .pipeline/cache, so that damage and symlinks inside the workspace reach it.
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  cliPath,
  realData,
  repoRoot,
  sha256,
  startCli as startRigCli,
  toResult,
  type CliProcess,
  type CliResult,
} from '../helpers/workspace.js';

export { cliPath, realData, repoRoot, sha256, type CliResult };
export const writerPath = path.join(repoRoot, 'tests', 'torture', 'fixtures', 'writer.mjs');

const scratch: string[] = [];

/** A fresh empty folder under the OS temp dir, removed by `cleanup()`. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pipeline-torture-${prefix}-`));
  scratch.push(dir);
  return dir;
}

export function cleanup(): void {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A workspace holding `pipeline.yaml` (text) and `tools/writer.mjs`. */
export function workspace(prefix: string, yaml: string): string {
  const dir = tempDir(prefix);
  mkdirSync(path.join(dir, 'tools'));
  cpSync(writerPath, path.join(dir, 'tools', 'writer.mjs'));
  writeFileSync(path.join(dir, 'pipeline.yaml'), yaml);
  return dir;
}

/**
 * A temp copy of the project (pipeline.yaml, stages/, runner/, package.json; node_modules and dist symlinked) for running
 * the real ML pipeline without touching the repository.
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
 * Start `pipeline ARGS` in `cwd` through the shared rig, the store in the workspace (.pipeline/cache) and no
 * timeout; `detached` puts it (and its stages) in a process group of its own.
 */
export function startCli(cwd: string, args: string[], options: { detached?: boolean; env?: NodeJS.ProcessEnv } = {}): {
  child: CliProcess;
  done: Promise<CliResult>;
} {
  const child = startRigCli(cwd, args, { detached: options.detached, env: options.env, timeoutMs: 0 });
  return { child, done: child.then(toResult) };
}

export function cli(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return startCli(cwd, args, { env }).done;
}

/** `pipeline run --json ARGS`: the exit code, and each stage's status and reason codes by name. */
export async function runJson(cwd: string, args: string[] = [], env?: NodeJS.ProcessEnv) {
  const r = await cli(cwd, ['run', '--json', ...args], env);
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

/** Wait until no process of the group is left (SIGKILL is delivered asynchronously). */
export async function waitGroupGone(pgid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process group ${pgid} still alive after SIGKILL`);
}

/** Every entry below `dir` (files by sha256, symlinks by target, folders, modes), for byte-for-byte comparisons. */
export function snapshot(dir: string, options: { skip?: (rel: string) => boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const full = path.join(dir, rel);
    for (const name of readdirSync(full).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (options.skip?.(childRel)) continue;
      const st = lstatSync(path.join(dir, childRel));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(childRel, `link ${readlinkSync(path.join(dir, childRel))}`);
      else if (st.isDirectory()) {
        out.set(childRel, `dir ${mode}`);
        walk(childRel);
      } else out.set(childRel, `file ${mode} ${sha256(readFileSync(path.join(dir, childRel)))} ${st.mtimeMs}`);
    }
  };
  walk('');
  return out;
}

export function diffSnapshots(before: Map<string, string>, after: Map<string, string>): string[] {
  const diffs: string[] = [];
  for (const [k, v] of after) if (!before.has(k)) diffs.push(`added ${k}`);
  else if (before.get(k) !== v) diffs.push(`changed ${k}`);
  for (const k of before.keys()) if (!after.has(k)) diffs.push(`removed ${k}`);
  return diffs;
}

/** The bytes of every file below `rel` (or `rel` itself), keyed by workspace-relative path. */
export function filesUnder(root: string, rel: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (r: string) => {
    const st = lstatSync(path.join(root, r));
    if (st.isDirectory()) for (const name of readdirSync(path.join(root, r)).sort()) visit(`${r}/${name}`);
    else out.set(r, st.isSymbolicLink() ? `link ${readlinkSync(path.join(root, r))}` : sha256(readFileSync(path.join(root, r))));
  };
  visit(rel);
  return out;
}

export { prng } from '../helpers/prng.js';

export function seedFromEnv(name: string): number {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : (Date.now() ^ (process.pid << 8)) >>> 0;
}

interface LockJson {
  stages: Record<string, { fingerprint: string; outs: { path: string; type: 'file' | 'dir'; hash: string }[] }>;
}

export function readLock(root: string): LockJson {
  try {
    return JSON.parse(readFileSync(path.join(root, 'pipeline.lock'), 'utf8')) as LockJson;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { stages: {} };
    throw err;
  }
}

export function objectPath(root: string, hash: string): string {
  return path.join(root, '.pipeline', 'cache', 'objects', hash.slice(0, 2), hash.slice(2));
}

/** Every object hash reachable from a recorded out (a folder's manifest and its files). */
export function objectsOf(root: string, out: { type: 'file' | 'dir'; hash: string }): string[] {
  if (out.type === 'file') return [out.hash];
  const manifest = JSON.parse(readFileSync(objectPath(root, out.hash), 'utf8')) as { entries: { hash: string }[] };
  return [out.hash, ...manifest.entries.map((e) => e.hash)];
}

/**
 * The invariant a crash must never break: every out that pipeline.lock or a run record names is in the store
 * as a regular file whose bytes hash to its name. Returns the problems found.
 */
export function recordedOutsProblems(root: string): string[] {
  const problems: string[] = [];
  const check = (who: string, outs: { path: string; type: 'file' | 'dir'; hash: string }[]) => {
    for (const out of outs) {
      let hashes: string[];
      try {
        hashes = objectsOf(root, out);
      } catch (err) {
        problems.push(`${who}: ${out.path}: manifest ${out.hash.slice(0, 12)} unreadable (${(err as Error).message})`);
        continue;
      }
      for (const h of hashes) {
        const file = objectPath(root, h);
        let st;
        try {
          st = lstatSync(file);
        } catch {
          problems.push(`${who}: ${out.path}: object ${h.slice(0, 12)} missing`);
          continue;
        }
        if (!st.isFile() || sha256(readFileSync(file)) !== h) problems.push(`${who}: ${out.path}: object ${h.slice(0, 12)} corrupt`);
      }
    }
  };
  for (const [name, entry] of Object.entries(readLock(root).stages)) check(`pipeline.lock ${name}`, entry.outs);
  const runs = path.join(root, '.pipeline', 'cache', 'runs');
  let shards: string[] = [];
  try {
    shards = readdirSync(runs);
  } catch {
    // no run-cache yet
  }
  for (const shard of shards) {
    for (const f of readdirSync(path.join(runs, shard))) {
      if (f.startsWith('.')) continue;
      const rec = JSON.parse(readFileSync(path.join(runs, shard, f), 'utf8')) as { stage: string; outs: { path: string; type: 'file' | 'dir'; hash: string }[] };
      check(`run record ${shard}${f.slice(0, 10)} (${rec.stage})`, rec.outs);
    }
  }
  return problems;
}
