// The stage graph (an edge upstream → downstream for every `needs`) and the selections the CLI offers:
// the named stages with everything they need, with everything after them, or alone (a template's name names all its
// expansions, config/stage-names.ts).
import type * as Graphlib from '@dagrejs/graphlib';
import { Dag } from '../core/dag.js';
import { UsageError, suggestion } from '../core/errors.js';
import { StageNames } from '../config/stage-names.js';
import type { PipelineConfig, StageConfig } from '../config/types.js';

export type Selection = 'needs' | 'single' | 'downstream';

export class StageGraph {
  readonly dag: Dag;
  readonly byName = new Map<string, StageConfig>();
  /** Stage names in a dependency order that keeps declaration order among independent stages. */
  readonly order: string[];

  /** What a name on the command line means (a template's name: all its expansions). */
  readonly names: StageNames;

  constructor(readonly config: PipelineConfig) {
    for (const s of config.stages) this.byName.set(s.name, s);
    this.names = StageNames.of(config);
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

  /**
   * The stages the names given on a command line mean, each once, in the order given: a stage's name means it, a
   * template's name every expansion of it. Throws a usage error naming an unknown one, with a suggestion.
   */
  expand(names: string[]): string[] {
    const out = new Set<string>();
    for (const n of names) {
      const meant = this.names.meaning(n);
      if (meant === undefined) {
        throw new UsageError(`unknown stage \`${n}\`${suggestion(n, this.names.all())}`, `stages in ${this.config.file}: ${this.names.listing()}`);
      }
      for (const m of meant) out.add(m);
    }
    return [...out];
  }

  /** Throws a usage error naming any unknown stage (or template), with a suggestion. */
  checkNames(names: string[]): void {
    this.expand(names);
  }

  /** The selected stage names, in run order. No names selects every stage; a template's name, all its expansions. */
  select(names: string[], mode: Selection): Set<string> {
    const named = this.expand(names);
    if (named.length === 0) return new Set(this.order);
    const picked = new Set<string>(named);
    if (mode === 'needs') for (const n of this.dag.ancestors(named)) picked.add(n);
    if (mode === 'downstream') for (const n of this.dag.descendants(named)) picked.add(n);
    return new Set(this.order.filter((n) => picked.has(n)));
  }
}
