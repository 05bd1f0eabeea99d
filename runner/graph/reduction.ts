// The transitive reduction the drawings show: an edge a → c is implied when c is reachable from a through another
// stage (a → b → … → c); the ascii and SVG drawings leave such edges out, `dag --format json` and last-run.json keep
// every edge. Reachability is @dagrejs/graphlib's depth-first search, loaded only when a drawing is made.
import { createRequire } from 'node:module';

type Graphlib = typeof import('@dagrejs/graphlib');

/** `edges` split into those the drawing keeps and those a longer path implies, each in its given order. */
export function transitiveReduction(nodes: string[], edges: [string, string][]): { kept: [string, string][]; implied: [string, string][] } {
  // CommonJS through require(): the callers are synchronous, and graphlib is loaded only for a drawing.
  const { Graph, alg } = createRequire(import.meta.url)('@dagrejs/graphlib') as Graphlib;
  const g = new Graph({ directed: true });
  for (const n of nodes) g.setNode(n);
  for (const [a, b] of edges) g.setEdge(a, b);
  const reach = new Map<string, Set<string>>();
  const reachable = (n: string): Set<string> => {
    let r = reach.get(n);
    if (!r) reach.set(n, (r = new Set(alg.preorder(g, [n]))));
    return r;
  };
  const kept: [string, string][] = [];
  const implied: [string, string][] = [];
  for (const [a, b] of edges) {
    const through = (g.successors(a) ?? []).some((m) => m !== b && reachable(m).has(b));
    (through ? implied : kept).push([a, b]);
  }
  return { kept, implied };
}
