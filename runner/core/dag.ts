// Graph algorithms on a DAG of named nodes (stages, CI jobs), in one place: a dependency order that keeps
// declaration order among independent nodes, cycles with their path, ancestors and descendants.
// The graph itself is a @dagrejs/graphlib Graph (edge: predecessor → node). Every algorithm here is iterative:
// graphlib's own topsort/isAcyclic/findCycles recurse once per node and overflow the stack on a chain of
// ~10,000 stages.
import type * as Graphlib from '@dagrejs/graphlib';
import { createRequire } from 'node:module';

// Through require(): the CommonJS build loads in half the time of the ESM import, on every command's path.
const { Graph } = createRequire(import.meta.url)('@dagrejs/graphlib') as typeof Graphlib;

export class Dag {
  readonly graph: Graphlib.Graph;
  private readonly index = new Map<string, number>();
  /** Predecessors of each node in the order they were given (messages follow the file). */
  private readonly preds = new Map<string, string[]>();

  /**
   * `nodes` in declaration order; `predecessorsOf(n)` the nodes `n` depends on (names that are not nodes are
   * ignored: reporting them is the caller's job).
   */
  constructor(
    readonly nodes: readonly string[],
    predecessorsOf: (node: string) => readonly string[],
  ) {
    this.graph = new Graph({ directed: true });
    nodes.forEach((n, i) => {
      this.index.set(n, i);
      this.graph.setNode(n);
    });
    for (const n of nodes) {
      const ps: string[] = [];
      for (const p of predecessorsOf(n)) {
        if (!this.index.has(p) || ps.includes(p)) continue;
        ps.push(p);
        this.graph.setEdge(p, n);
      }
      this.preds.set(n, ps);
    }
  }

  has(node: string): boolean {
    return this.index.has(node);
  }

  predecessors(node: string): string[] {
    return this.preds.get(node) ?? [];
  }

  successors(node: string): string[] {
    return this.graph.successors(node) ?? [];
  }

  /**
   * Kahn's algorithm, always taking the ready node declared first (deterministic, follows the file). `stuck` holds
   * the nodes on or behind a cycle, in declaration order; `order` holds every other node.
   */
  order(skip: ReadonlySet<string> = new Set()): { order: string[]; stuck: string[] } {
    const indegree = new Map<string, number>();
    for (const n of this.nodes) indegree.set(n, this.predecessors(n).filter((p) => !skip.has(`${p}\0${n}`)).length);
    // Ready nodes by descending declaration index, so the next one is popped from the end.
    const ready = this.nodes.filter((n) => indegree.get(n) === 0).reverse();
    const insert = (name: string) => {
      const i = this.index.get(name)!;
      let lo = 0;
      let hi = ready.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.index.get(ready[mid])! > i) lo = mid + 1;
        else hi = mid;
      }
      ready.splice(lo, 0, name);
    };
    const order: string[] = [];
    while (ready.length > 0) {
      const n = ready.pop()!;
      order.push(n);
      for (const d of this.successors(n)) {
        if (skip.has(`${n}\0${d}`)) continue;
        const left = indegree.get(d)! - 1;
        indegree.set(d, left);
        if (left === 0) insert(d);
      }
    }
    const stuck = order.length === this.nodes.length ? [] : this.nodes.filter((n) => indegree.get(n)! > 0);
    return { order, stuck };
  }

  /**
   * One cycle as a path `[a, b, c]`: each node depends on the next, and the last one on the first (the edge that
   * closes it). It starts at the node of the cycle declared first; undefined when the graph is acyclic.
   */
  findCycle(skip: ReadonlySet<string> = new Set()): string[] | undefined {
    const { stuck } = this.order(skip);
    if (stuck.length === 0) return undefined;
    // Every stuck node has a stuck predecessor: following them from any stuck node closes a cycle.
    const isStuck = new Set(stuck);
    const walk: string[] = [];
    const seenAt = new Map<string, number>();
    let x = stuck[0];
    while (!seenAt.has(x)) {
      seenAt.set(x, walk.length);
      walk.push(x);
      x = this.predecessors(x).find((p) => isStuck.has(p) && !skip.has(`${p}\0${x}`))!;
    }
    const cycle = walk.slice(seenAt.get(x));
    const first = cycle.reduce((best, n, i) => (this.index.get(n)! < this.index.get(cycle[best])! ? i : best), 0);
    return [...cycle.slice(first), ...cycle.slice(0, first)];
  }

  /** Up to `max` cycles: each found one is broken at its closing edge before looking for the next. */
  findCycles(max: number): string[][] {
    const skip = new Set<string>();
    const cycles: string[][] = [];
    while (cycles.length < max) {
      const c = this.findCycle(skip);
      if (!c) break;
      cycles.push(c);
      skip.add(`${c[0]}\0${c[c.length - 1]}`);
    }
    return cycles;
  }

  /** Every node that `names` depend on, directly or not (without `names` themselves unless on a cycle). */
  ancestors(names: Iterable<string>): Set<string> {
    return this.reach(names, (n) => this.predecessors(n));
  }

  /** Every node that depends on `names`, directly or not. */
  descendants(names: Iterable<string>): Set<string> {
    return this.reach(names, (n) => this.successors(n));
  }

  /** Whether `from` depends on `target`, directly or not (a search that stops when found). */
  dependsOn(from: string, target: string): boolean {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length) {
      for (const n of this.predecessors(stack.pop()!)) {
        if (n === target) return true;
        if (!seen.has(n)) {
          seen.add(n);
          stack.push(n);
        }
      }
    }
    return false;
  }

  private reach(names: Iterable<string>, next: (n: string) => string[]): Set<string> {
    const found = new Set<string>();
    const stack = [...names];
    while (stack.length > 0) {
      for (const m of next(stack.pop()!)) {
        if (!found.has(m)) {
          found.add(m);
          stack.push(m);
        }
      }
    }
    return found;
  }
}
