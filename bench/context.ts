// What every figure needs: the repository, a scratch folder, the mode (full or --quick), the peers,
// and helpers to build the commands of each tool.
import { cpSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { Cmd } from './measure.js';
import type { Peer } from './peers.js';

export interface BenchContext {
  repo: string;
  /** Scratch folder for this bench run (removed at the end). */
  tmp: string;
  quick: boolean;
  /** Timed runs per figure (after one warm-up). */
  runs: number;
  peers: Record<Peer['name'], Peer>;
  /** The real data set, or undefined when it is not on this machine. */
  dataFile?: string;
  log(line: string): void;
}

export const JOBS = 2;

/** `node bin/pipeline.js ARGS` in `cwd`, with the cache inside the workspace. */
export function pipelineCmd(ctx: BenchContext, cwd: string, args: string[]): Cmd {
  return { file: process.execPath, args: [path.join(ctx.repo, 'bin', 'pipeline.js'), ...args], cwd, env: { PIPELINE_CACHE_DIR: undefined } };
}

export function snakemakeCmd(cwd: string, args: string[]): Cmd {
  return { file: 'snakemake', args: ['--cores', String(JOBS), '--quiet', 'all', ...args], cwd };
}

export function makeCmd(cwd: string, args: string[] = []): Cmd {
  return { file: 'make', args: ['-s', `-j${JOBS}`, ...args], cwd };
}

/** The real California-housing pipeline in a scratch copy: pipeline.yaml, stages/, runner/, dist/ linked (the stages import `pipeline-dag/stage`). */
export function realWorkspace(ctx: BenchContext, name: string): string {
  const dir = path.join(ctx.tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of ['pipeline.yaml', 'package.json', 'tsconfig.json', 'stages', 'runner']) {
    cpSync(path.join(ctx.repo, f), path.join(dir, f), { recursive: true });
  }
  symlinkSync(path.join(ctx.repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  // The stages import `pipeline-dag/stage`, which package.json's exports resolve to the compiled dist/.
  symlinkSync(path.join(ctx.repo, 'dist'), path.join(dir, 'dist'), 'dir');
  return dir;
}

/** Back to a never-run workspace: no state, no cache, no lock, no outputs. */
export function resetPipeline(dir: string, outs: string[]): void {
  for (const p of ['.pipeline', 'pipeline.lock', ...outs]) rmSync(path.join(dir, p), { recursive: true, force: true });
}

/** Empty a folder's contents (make and snakemake need `out/` itself to stay). */
export function emptyDir(dir: string): void {
  for (const e of readdirSync(dir)) rmSync(path.join(dir, e), { recursive: true, force: true });
}

export function realSource(ctx: BenchContext): string[] {
  return ['--set', `load.source=${ctx.dataFile}`];
}
