// The scratch copies an experiment's variants run in: under the temp folder, outside the workspace, each a copy of
// the workspace's inputs only — every stage's deps that no stage writes, the module files and everything they
// import (their code closure), pipeline.yaml and the package files Node and esbuild read, and the source files a
// command may read without declaring them (`cmd: python train.py` with no dep on train.py runs in a variant as it
// runs in the workspace): in git, the files git sees (tracked, and untracked but not ignored), else every file;
// never a stage's outs, pipeline.lock or .pipeline/, .git/ and node_modules/; the workspace's
// top-level links (node_modules, a linked dist/ or data folder) are links in the copy too. Files are cloned
// (copy-on-write where the filesystem can: `COPYFILE_FICLONE`, else copied): a stage that rewrites a file in place
// changes its copy, never the workspace's. Deps outside the workspace (`../data/x`) are copied once beside the variants, at
// the same place relative to each, so every path a stage was given still reads the same bytes. The area is recorded
// in the workspace's .pipeline/running/ while it exists: a killed `exp run`'s copies are removed by the next command
// that takes the workspace (exec/leftovers.ts).
import { execFileSync } from 'node:child_process';
import { constants, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Engine } from '../../plan/engine.js';
import type { PipelineConfig } from '../../config/types.js';
import { isExternalDep, isGlobPattern, isUrlDep } from '../../core/paths.js';
import { forgetRunning, recordScratch } from '../../exec/running.js';

const ROOT_FILES = ['pipeline.yaml', 'pipeline.yml', 'package.json', 'tsconfig.json', 'package-lock.json'];

export interface ScratchInputs {
  /** Workspace-relative files and folders to copy. */
  inside: string[];
  /** Deps outside the workspace, as written (`../data/x`); absolute ones are read where they are. */
  outside: string[];
}

/** The part of a glob before its first pattern segment: what a copy must hold for it to match the same files. */
function globBase(p: string): string {
  const parts = p.split('/');
  const i = parts.findIndex(isGlobPattern);
  return parts.slice(0, i).join('/');
}

/** Never copied: the workspace's state, git's, installed packages (linked instead) and pipeline.lock. */
const NEVER = /^(\.pipeline|\.git|node_modules)(\/|$)|^pipeline\.lock$/;

/** The workspace's files a command may read undeclared: what git sees of it (tracked, untracked not ignored), else all. */
function sourceFiles(root: string): string[] {
  try {
    const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
    return listed.split('\0').filter((p) => p !== '');
  } catch {
    const files: string[] = [];
    const walk = (rel: string) => {
      for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
        const p = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (NEVER.test(p)) continue;
        if (entry.isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk('');
    return files;
  }
}

/** What the variants read of the workspace (`configs`: theirs, whose `${param}` deps may name other files). */
export async function scratchInputs(engine: Engine, configs: PipelineConfig[] = []): Promise<ScratchInputs> {
  const everyStage = [engine.config, ...configs].flatMap((c) => c.stages);
  const written = new Set(everyStage.flatMap((s) => s.outs));
  const underOut = (p: string) => [...written].some((o) => p === o || p.startsWith(`${o}/`));
  const inside = new Set<string>(ROOT_FILES);
  for (const file of sourceFiles(engine.root)) if (!NEVER.test(file) && !underOut(file)) inside.add(file);
  const outside = new Set<string>();
  const modules = new Set<string>();
  for (const stage of everyStage) {
    for (const dep of stage.deps) {
      if (isUrlDep(dep)) continue;
      if (isExternalDep(dep)) {
        if (!dep.startsWith('/')) outside.add(dep);
        continue;
      }
      const p = isGlobPattern(dep) ? globBase(dep) : dep;
      if (p !== '' && !underOut(p)) inside.add(p);
    }
    if (stage.module && !modules.has(stage.module)) {
      modules.add(stage.module);
      inside.add(stage.module);
      for (const file of Object.keys(await engine.code.closure(stage.module))) {
        if (!path.isAbsolute(file) && !file.startsWith('../') && !file.startsWith('node_modules/') && !underOut(file)) inside.add(file);
      }
    }
  }
  const exists = (p: string) => {
    try {
      lstatSync(path.join(engine.root, p));
      return true;
    } catch {
      return false;
    }
  };
  // A path inside a folder that is copied whole is copied with it (once: a link copied twice would collide).
  const coveredByAncestor = (p: string) => {
    for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) if (inside.has(p.slice(0, i))) return true;
    return false;
  };
  return { inside: [...inside].filter((p) => !coveredByAncestor(p) && exists(p)).sort(), outside: [...outside].sort() };
}

/**
 * Copy a file (cloned where the filesystem allows), a folder (recursively) or a symlink (as a symlink). A link that
 * names a place inside `within` (the workspace) is made relative, so that in the copy it names the copy's file (a
 * variant writing through it must never reach the workspace); one naming a place outside it names it absolutely.
 */
function copyEntry(from: string, to: string, within?: string): void {
  const st = lstatSync(from);
  mkdirSync(path.dirname(to), { recursive: true });
  if (st.isSymbolicLink()) {
    const link = readlinkSync(from);
    const target = path.resolve(path.dirname(from), link);
    const inside = within !== undefined && !path.relative(within, target).startsWith('..');
    // Outside the workspace, the link names the same place from the copy as from the workspace (absolute).
    symlinkSync(within === undefined ? link : inside ? path.relative(path.dirname(from), target) || '.' : target, to);
  } else if (st.isDirectory()) {
    mkdirSync(to, { recursive: true });
    for (const name of readdirSync(from)) copyEntry(path.join(from, name), path.join(to, name), within);
  } else if (st.isFile()) copyFileSync(from, to, constants.COPYFILE_FICLONE);
}

/** How many `..` a path climbs above the workspace. */
function climb(p: string): number {
  let n = 0;
  for (const part of path.posix.normalize(p).split('/')) if (part === '..') n++;
  return n;
}

/** The temp folder of one sweep, its variants' roots inside it, removed by `dispose`. */
export class ScratchArea {
  readonly base = mkdtempSync(path.join(os.tmpdir(), 'pipeline-exp-'));
  private readonly depth: number;
  /** The area's record in the workspace's .pipeline/running/. */
  private readonly record: string | undefined;

  constructor(
    private readonly workspaceRoot: string,
    private readonly inputs: ScratchInputs,
  ) {
    this.record = recordScratch(workspaceRoot, this.base);
    this.depth = Math.max(0, ...inputs.outside.map(climb));
    const first = this.rootOf('x');
    for (const dep of inputs.outside) {
      const from = path.resolve(workspaceRoot, dep);
      try {
        statSync(from);
      } catch {
        continue; // a missing dep fails its stage in the variant as it would in the workspace
      }
      copyEntry(from, path.resolve(first, dep));
    }
  }

  /** A variant's root: nested so that `../` deps resolve to the copies beside it. */
  private rootOf(id: string): string {
    return path.join(this.base, ...Array<string>(Math.max(0, this.depth - 1)).fill('up'), id);
  }

  /** A fresh copy of the workspace's inputs for one variant. */
  make(id: string): string {
    const root = this.rootOf(id);
    mkdirSync(root, { recursive: true });
    for (const p of this.inputs.inside) copyEntry(path.join(this.workspaceRoot, p), path.join(root, p), this.workspaceRoot);
    this.linkTopLevel(root);
    return root;
  }

  /**
   * The workspace's top-level links stay links to what they name (a `dist` or a data folder linked in), and its
   * node_modules is linked: installed packages are code stages import, not data they write.
   */
  private linkTopLevel(root: string): void {
    for (const entry of readdirSync(this.workspaceRoot, { withFileTypes: true })) {
      const from = path.join(this.workspaceRoot, entry.name);
      const to = path.join(root, entry.name);
      if (!(entry.isSymbolicLink() || (entry.name === 'node_modules' && entry.isDirectory())) || this.inputs.inside.includes(entry.name)) continue;
      const target = entry.isSymbolicLink() ? path.resolve(this.workspaceRoot, readlinkSync(from)) : from;
      // A link into the workspace itself would let a variant write there: what it names is copied as an input instead.
      if (entry.isSymbolicLink() && !path.relative(this.workspaceRoot, target).startsWith('..')) continue;
      try {
        symlinkSync(target, to);
      } catch {
        // already there (copied as an input)
      }
    }
  }

  /** Removals of variants' copies under way (in the background: their files go while other variants run). */
  private readonly removing: Promise<void>[] = [];

  /** A variant is done with its copy: remove it, without waiting. */
  release(root: string): void {
    this.removing.push(rm(root, { recursive: true, force: true }).catch(() => undefined));
  }

  /** Remove the whole area, once every removal under way has ended. */
  async dispose(): Promise<void> {
    await Promise.all(this.removing);
    rmSync(this.base, { recursive: true, force: true });
    forgetRunning(this.record);
  }
}
