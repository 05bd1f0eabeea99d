// Deps that another stage writes (DVC's habit: `deps: [build/metrics.json]` beside `needs: [fit]`). The config check
// made sure the writer is an upstream of the reader, so such a dep is checked once that upstream ran, not before the
// run: before it, a clean checkout has no such file, and a dry run says "produced by `fit`", not "missing".
import { OutIndex } from '../config/producers.js';
import type { PipelineConfig, StageConfig } from '../config/types.js';

const indexes = new WeakMap<PipelineConfig, OutIndex>();

/** The stages (other than `stage`) that write `dep`, in declaration order. */
export function producersOf(config: PipelineConfig, stage: StageConfig, dep: string): string[] {
  let index = indexes.get(config);
  if (!index) indexes.set(config, (index = new OutIndex(config.stages)));
  return [...new Set(index.producersOf(dep).map((p) => p.stage))].filter((s) => s !== stage.name);
}

/** The lock's recorded hashes of the deps under `deps` (the dep itself, the files inside it, or a glob's matches). */
export function recordedUnder(recorded: Record<string, string>, deps: string[], matches: (dep: string) => (key: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dep of deps) {
    const match = matches(dep);
    for (const [k, v] of Object.entries(recorded)) if (k === dep || k.startsWith(`${dep}/`) || match(k)) out[k] = v;
  }
  return out;
}
