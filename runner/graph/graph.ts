// The stage graph (an edge upstream → downstream for every `needs`) and the selections the CLI offers:
// the named stages with everything they need, with everything after them, or alone.
import type * as Graphlib from '@dagrejs/graphlib';
import { createRequire } from 'node:module';
import { UsageError, suggestion } from '../core/errors.js';
import type { PipelineConfig, StageConfig } from '../config/types.js';

// Through require(): the CommonJS build loads in half the time of the ESM import, on every command's path.
const { Graph } = createRequire(import.meta.url)('@dagrejs/graphlib') as typeof Graphlib;
type G = Graphlib.Graph;

export type Selection = 'needs' | 'single' | 'downstream';

export class StageGraph {
  readonly graph: G;
  readonly byName = new Map<string, StageConfig>();
  /** Stage names in a dependency order that keeps declaration order among independent stages. */
  readonly order: string[];

  constructor(readonly config: PipelineConfig) {
    this.graph = new Graph({ directed: true });
    for (const s of config.stages) {
      this.byName.set(s.name, s);
      this.graph.setNode(s.name);
    }
    for (const s of config.stages) for (const n of s.needs) this.graph.setEdge(n, s.name);
    this.order = this.stableTopoOrder();
  }

  stage(name: string): StageConfig {
    const s = this.byName.get(name);
    if (!s) throw new Error(`unknown stage ${name}`);
    return s;
  }

  upstream(name: string): string[] {
    return this.stage(name).needs;
  }

  downstream(name: string): string[] {
    return (this.graph.successors(name) ?? []) as string[];
  }

  /**
   * Kahn's algorithm over graphlib's graph, always taking the ready stage declared first (deterministic plans that
   * follow the file). Iterative: graphlib's recursive isAcyclic/topsort overflow the stack on a 10,000-stage chain.
   */
  private stableTopoOrder(): string[] {
    const index = new Map(this.config.stages.map((s, i) => [s.name, i]));
    const indegree = new Map(this.config.stages.map((s) => [s.name, s.needs.length]));
    // Ready stages by descending declaration index, so the next one is popped from the end.
    const ready = this.config.stages.filter((s) => s.needs.length === 0).map((s) => s.name).reverse();
    const insert = (name: string) => {
      const i = index.get(name)!;
      let lo = 0;
      let hi = ready.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (index.get(ready[mid])! > i) lo = mid + 1;
        else hi = mid;
      }
      ready.splice(lo, 0, name);
    };
    const order: string[] = [];
    while (ready.length > 0) {
      const name = ready.pop()!;
      order.push(name);
      for (const d of this.downstream(name)) {
        const left = indegree.get(d)! - 1;
        indegree.set(d, left);
        if (left === 0) insert(d);
      }
    }
    if (order.length < this.config.stages.length) {
      // config.ts reports cycles with their path and position; this is a safety net.
      const placed = new Set(order);
      const stuck = this.config.stages.filter((s) => !placed.has(s.name)).map((s) => s.name);
      throw new UsageError(`the stage graph has a cycle among: ${stuck.join(', ')}`);
    }
    return order;
  }

  /** Throws a usage error naming any unknown stage, with a suggestion. */
  checkNames(names: string[]): void {
    for (const n of names) {
      if (!this.byName.has(n)) {
        throw new UsageError(
          `unknown stage \`${n}\`${suggestion(n, this.byName.keys())}`,
          `stages in ${this.config.file}: ${[...this.byName.keys()].join(', ')}`,
        );
      }
    }
  }

  /** The selected stage names, in run order. No names selects every stage. */
  select(names: string[], mode: Selection): Set<string> {
    this.checkNames(names);
    if (names.length === 0) return new Set(this.order);
    const picked = new Set<string>(names);
    if (mode === 'needs' || mode === 'downstream') {
      const stack = [...names];
      while (stack.length > 0) {
        const n = stack.pop()!;
        const next = mode === 'needs' ? this.upstream(n) : this.downstream(n);
        for (const m of next) {
          if (!picked.has(m)) {
            picked.add(m);
            stack.push(m);
          }
        }
      }
    }
    return new Set(this.order.filter((n) => picked.has(n)));
  }
}
