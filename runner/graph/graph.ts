// The stage graph (an edge upstream → downstream for every `needs`) and the selections the CLI offers:
// the named stages with everything they need, with everything after them, or alone.
import type * as Graphlib from '@dagrejs/graphlib';
import { Dag } from '../core/dag.js';
import { UsageError, suggestion } from '../core/errors.js';
import type { PipelineConfig, StageConfig } from '../config/types.js';

export type Selection = 'needs' | 'single' | 'downstream';

export class StageGraph {
  readonly dag: Dag;
  readonly byName = new Map<string, StageConfig>();
  /** Stage names in a dependency order that keeps declaration order among independent stages. */
  readonly order: string[];

  constructor(readonly config: PipelineConfig) {
    for (const s of config.stages) this.byName.set(s.name, s);
    this.dag = new Dag(
      config.stages.map((s) => s.name),
      (n) => this.byName.get(n)!.needs,
    );
    const { order, stuck } = this.dag.order();
    // The config loader reports cycles with their path and position; this is a safety net.
    if (stuck.length > 0) throw new UsageError(`the stage graph has a cycle among: ${stuck.join(', ')}`);
    this.order = order;
  }

  /** The graphlib graph (an edge upstream → downstream for every `needs`). */
  get graph(): Graphlib.Graph {
    return this.dag.graph;
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
    return this.dag.successors(name);
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
    if (mode === 'needs') for (const n of this.dag.ancestors(names)) picked.add(n);
    if (mode === 'downstream') for (const n of this.dag.descendants(names)) picked.add(n);
    return new Set(this.order.filter((n) => picked.has(n)));
  }
}
