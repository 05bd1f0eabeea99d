// What `pipeline watch` watches: every file the selected stages read, as the engine knows it — the deps as
// declared (folders and the folder a glob starts from, so a new match is seen), the deps and the code closure as
// pipeline.lock recorded them for the last run (a module's imports, files outside the workspace), the places a
// module's import resolution looked without finding anything (a new file there changes what an import means), the
// package.json of each package a module's closure uses, and the files every plan reads: pipeline.yaml, pipeline.local.yaml and
// pipeline.lock. Outs of every stage and .pipeline/ are never watched: what the runner writes must not start a run.
import { createRequire } from 'node:module';
import path from 'node:path';
import { isGlobPattern, isUrlDep } from '../core/paths.js';
import type { PipelineConfig, StageConfig } from '../config/types.js';
import { LOCAL_PARAMS_FILE } from '../config/local-params.js';
import type { Engine } from '../plan/engine.js';

type Picomatch = ((glob: string, options?: { dot?: boolean }) => (p: string) => boolean) & { scan(glob: string): { base: string } };
const picomatch = (): Picomatch => createRequire(import.meta.url)('picomatch') as Picomatch;

/** One input of a stage: a path (a key, see keyOf) and how a changed key matches it. */
interface Input {
  path: string;
  matches: (changed: string) => boolean;
}

export interface WatchedInputs {
  /** Absolute paths to hand the watcher (files, and folders watched with what is below them). */
  watch: string[];
  /** Stage → its inputs, to find the stages a change concerns. */
  stages: Map<string, Input[]>;
  /** The files every plan reads (pipeline.yaml, pipeline.local.yaml, pipeline.lock), as keys. */
  config: Set<string>;
  /** Whether a changed key is never a reason to run: an out of some stage, or the engine's own state. */
  ignored: (key: string) => boolean;
}

/** A path as the watcher reports it → the key inputs use: relative to the workspace with `/` (`../` outside it). */
export function keyOf(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/') || '.';
}

const under = (key: string, folder: string) => key === folder || key.startsWith(`${folder}/`);

function input(p: string): Input {
  if (isGlobPattern(p)) {
    const match = picomatch()(p, { dot: true });
    return { path: picomatch().scan(p).base || '.', matches: (c) => match(c) };
  }
  return { path: p, matches: (c) => under(c, p) };
}

/** The inputs of one stage: declared deps and module, then what pipeline.lock recorded of its last run. */
function inputsOf(engine: Engine, stage: StageConfig): Input[] {
  const paths = new Set<string>();
  for (const dep of stage.deps) if (!isUrlDep(dep)) paths.add(dep);
  if (stage.module) paths.add(stage.module);
  const entry = engine.lock.get(stage.name);
  for (const key of Object.keys(entry?.deps ?? {})) if (!isUrlDep(key)) paths.add(key);
  for (const key of Object.keys(entry?.code ?? {})) {
    // `package:NAME` → the package.json its version is read from; `toolchain:…` is not a file.
    if (key.startsWith('package:')) paths.add(`node_modules/${key.slice('package:'.length)}/package.json`);
    else if (!key.includes(':')) paths.add(key);
  }
  const root = engine.root;
  return [...paths].map((p) => input(isGlobPattern(p) ? p : keyOf(root, path.resolve(root, p))));
}

/** Every file the selected stages read (`names` as `run` selects them, with what they need). */
export function watchedInputs(engine: Engine, names: string[]): WatchedInputs {
  const { config, root } = engine;
  const selected = engine.graph.select(names, 'needs');
  const outs = config.stages.flatMap((s) => s.outs);
  const ignored = (key: string) => under(key, '.pipeline') || outs.some((o) => under(key, o));
  const stages = new Map<string, Input[]>();
  for (const name of selected) stages.set(name, inputsOf(engine, engine.graph.stage(name)));
  const configKeys = configFiles(config).map((f) => keyOf(root, f));
  const watch = new Set<string>(configFiles(config));
  for (const inputs of stages.values()) {
    for (const i of inputs) if (!ignored(i.path)) watch.add(path.resolve(root, i.path));
  }
  // Where a module's import resolution looked and found nothing (`./lib` → lib.tsx, lib.ts, … before lib.js): a file
  // appearing there changes what the import means, and the re-plan sees it (the closure records those misses).
  for (const abs of engine.reads.lookups()) if (!ignored(keyOf(root, abs))) watch.add(abs);
  return { watch: [...watch].sort(), stages, config: new Set(configKeys), ignored };
}

/** The files every plan reads, absolute. */
export function configFiles(config: Pick<PipelineConfig, 'file' | 'root'>): string[] {
  return [config.file, path.join(config.root, LOCAL_PARAMS_FILE), path.join(config.root, 'pipeline.lock')];
}

/** The stages (of those running) that read one of the changed keys. */
export function stagesReading(inputs: WatchedInputs, keys: readonly string[], among: Iterable<string>): Map<string, string[]> {
  const hit = new Map<string, string[]>();
  for (const name of among) {
    const read = keys.filter((k) => inputs.stages.get(name)?.some((i) => i.matches(k)));
    if (read.length > 0) hit.set(name, read);
  }
  return hit;
}
