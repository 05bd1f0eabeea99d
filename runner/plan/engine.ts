// Everything a command needs about one workspace, opened once: config, graph, store, lock, stat cache.
import path from 'node:path';
import { Cache, defaultCacheDir } from '../store/cache.js';
import { ModuleCode } from './code.js';
import { StageGraph } from '../graph/graph.js';
import { LockFile } from '../store/lockfile.js';
import { Planner } from './decide.js';
import { StatCache } from '../store/stat-cache.js';
import type { PipelineConfig } from '../config/types.js';
import { Workspace } from '../store/workspace.js';
import { writeRoots } from '../store/uses.js';
import { UrlDeps } from '../store/urls.js';
import { ReadSet } from '../core/read-set.js';

/** The engine's state files a decision reads (under .pipeline/state/). */
const STATE_FILES = ['stat-cache.json', 'modules.json', 'params.json', 'urls.json'];

export interface Engine {
  config: PipelineConfig;
  graph: StageGraph;
  root: string;
  /** The workspace: `root`, or for the engine of an experiment variant's scratch copy the workspace it was made from. */
  workspaceRoot: string;
  /** The workspace's private state: .pipeline/ */
  stateDir: string;
  cache: Cache;
  lock: LockFile;
  stats: StatCache;
  ws: Workspace;
  code: ModuleCode;
  planner: Planner;
  /**
   * Every path this engine's decisions read, named where each is read (the config, pipeline.lock, every dep, out and
   * code file, the folders walked, the lookups, the packages, its state): what the fresh record is written from.
   */
  reads: ReadSet;
  /** Persist the lock and the stat cache (never during a dry run). */
  save(): void;
}

/**
 * `scratch`: the engine of a copy of a workspace's inputs (an experiment's variant) — the store is the workspace's,
 * the module code is read and bundled by the workspace's `code` (the copy holds the same bytes, so closures and
 * bundles are made once for every variant), and the copy's pipeline.lock and stat cache live in memory only: `save`
 * writes neither (the copy is removed after the sweep, and the experiment's record keeps what it needs), so a
 * variant's stages spend nothing on rewriting files nobody reads again; only the shared module code's index is kept.
 */
export function openEngine(config: PipelineConfig, scratch?: { workspaceRoot: string; code: ModuleCode }): Engine {
  const root = config.root;
  const stateDir = path.join(root, '.pipeline');
  const reads = new ReadSet();
  reads.add('folder', root);
  reads.add('config', config.file);
  for (const file of STATE_FILES) reads.add('state', path.join(stateDir, 'state', file));
  const cache = new Cache(defaultCacheDir(scratch?.workspaceRoot ?? root));
  cache.reads = reads;
  // The store's folder is checked to be one before a run (store/preflight.ts).
  reads.add('store', cache.dir);
  const lock = LockFile.load(root);
  reads.add('lock', lock.file);
  const stats = StatCache.load(path.join(stateDir, 'state', 'stat-cache.json'));
  const ws = new Workspace(root, cache, stats);
  ws.reads = reads;
  const recorded = (url: string) => config.stages.map((s) => lock.get(s.name)?.deps?.[url]).find((h) => h !== undefined);
  ws.urls = new UrlDeps(path.join(stateDir, 'state'), recorded);
  const code = scratch?.code ?? new ModuleCode(ws, path.join(stateDir, 'state'));
  const graph = new StageGraph(config);
  const planner = new Planner(ws, cache, lock, code);
  return {
    config,
    graph,
    root,
    workspaceRoot: scratch?.workspaceRoot ?? root,
    stateDir,
    cache,
    lock,
    stats,
    ws,
    code,
    planner,
    reads,
    save() {
      if (scratch) return code.save();
      const templateOf = (name: string) => {
        const t = graph.byName.get(name)?.template;
        return t && { name: t.name, matrix: t.matrix };
      };
      if (lock.save(graph.order, templateOf) && !scratch) writeRoots(cache, root, lock.entries());
      stats.save();
      code.save();
    },
  };
}
