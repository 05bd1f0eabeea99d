// `pipeline dag`: the stage graph as text, Mermaid, Graphviz dot or JSON.
import type { Dagre, LayoutNodeLabel } from './dagre.js';
import { createRequire } from 'node:module';
import type { StageGraph } from './graph.js';
import { transitiveReduction } from './reduction.js';

export { transitiveReduction };

export type DagFormat = 'ascii' | 'mermaid' | 'dot' | 'json';

export function dagJson(graph: StageGraph): { nodes: string[]; edges: [string, string][] } {
  const edges: [string, string][] = [];
  for (const name of graph.order) for (const need of graph.upstream(name)) edges.push([need, name]);
  return { nodes: [...graph.order], edges };
}

/** Identifiers for Mermaid: the name with other characters as `_`, made unique (`quantize@8` and `quantize_8`). */
function idsOf(names: string[]): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const n of names) {
    const base = `s_${n.replace(/[^A-Za-z0-9_]/g, '_')}`;
    let id = base;
    for (let k = 2; used.has(id); k++) id = `${base}_${k}`;
    used.add(id);
    ids.set(n, id);
  }
  return ids;
}

/** Templates (stages with `matrix:`) in the order of their first expansion: name → its expansions. */
function templatesOf(graph: StageGraph): [string, string[]][] {
  return Object.entries(graph.config.templates ?? {}).filter(([, xs]) => xs.length > 0);
}

const quoted = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** A template's expansions drawn as a group of nodes named by the template; other stages as plain nodes. */
export function renderDag(graph: StageGraph, format: DagFormat): string {
  const { nodes, edges } = dagJson(graph);
  const templates = templatesOf(graph);
  const grouped = new Set(templates.flatMap(([, xs]) => xs));
  switch (format) {
    case 'json':
      return JSON.stringify({ nodes, edges, ...(templates.length > 0 ? { templates: Object.fromEntries(templates) } : {}) }, null, 2);
    case 'mermaid': {
      const ids = idsOf([...nodes, ...templates.map(([t]) => `template ${t}`)]);
      const node = (n: string) => `${ids.get(n)}["${n}"]`;
      return [
        'flowchart TD',
        ...nodes.filter((n) => !grouped.has(n)).map((n) => `  ${node(n)}`),
        ...templates.flatMap(([t, xs]) => [`  subgraph ${ids.get(`template ${t}`)}["${t}"]`, ...xs.map((n) => `    ${node(n)}`), '  end']),
        ...edges.map(([a, b]) => `  ${ids.get(a)} --> ${ids.get(b)}`),
      ].join('\n');
    }
    case 'dot':
      return [
        'digraph pipeline {',
        '  rankdir=TB;',
        '  node [shape=box, style=rounded];',
        ...nodes.filter((n) => !grouped.has(n)).map((n) => `  ${quoted(n)};`),
        ...templates.flatMap(([t, xs], i) => [`  subgraph cluster_${i} {`, `    label=${quoted(t)};`, '    style=dashed;', ...xs.map((n) => `    ${quoted(n)};`), '  }']),
        ...edges.map(([a, b]) => `  ${quoted(a)} -> ${quoted(b)};`),
        '}',
      ].join('\n');
    case 'ascii':
      return drawAscii(graph, nodes, edges);
  }
}

/**
 * The stages in layers (a stage one layer below the deepest stage it needs), stages of one layer joined by
 * commas, layers by arrows: `load → train → gate → quantize-8, quantize-16 → compare, predict`.
 */
export function layerSummary(graph: StageGraph): string {
  const depth = new Map<string, number>();
  const layers: string[][] = [];
  for (const n of graph.order) {
    const d = Math.max(0, ...graph.upstream(n).map((u) => depth.get(u)! + 1));
    depth.set(n, d);
    (layers[d] ??= []).push(n);
  }
  return layers.map((l) => l.join(', ')).join(' → ');
}

/**
 * The graph drawn in characters: dagre lays it out in layers (one unit = one character cell), each stage is a
 * box, each edge a line of `*` along dagre's route, so fan-out (one box, several lines leaving it) and fan-in
 * (several lines arriving) read as such. An edge another path already implies is not drawn (it would only cross
 * the others); those needs are listed below the drawing. Gates are marked `[gate]`.
 */
function drawAscii(graph: StageGraph, nodes: string[], allEdges: [string, string][]): string {
  const { kept: edges, implied } = transitiveReduction(nodes, allEdges);
  // CommonJS through require(): renderDag is synchronous, and dagre is loaded only for this command.
  const dagre = createRequire(import.meta.url)('@dagrejs/dagre') as Dagre;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 3, ranksep: 4, edgesep: 1, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const label = (n: string) => (graph.stage(n).gate ? `${n} [gate]` : n);
  for (const n of nodes) g.setNode(n, { width: label(n).length + 4, height: 3 });
  for (const [a, b] of edges) g.setEdge(a, b);
  dagre.layout(g);

  // layout() has placed every node: its centre is set.
  const box = (n: string) => g.node(n) as Required<LayoutNodeLabel>;
  const left = (n: string) => Math.round(box(n).x - box(n).width / 2);
  const top = (n: string) => Math.round(box(n).y - box(n).height / 2);
  let width = 0;
  let height = 0;
  for (const n of nodes) {
    width = Math.max(width, left(n) + box(n).width);
    height = Math.max(height, top(n) + box(n).height);
  }
  const routes = edges.map(([a, b]) => (g.edge(a, b).points ?? []).map((p) => ({ x: Math.round(p.x), y: Math.round(p.y) })));
  for (const r of routes) {
    for (const p of r) {
      width = Math.max(width, p.x + 1);
      height = Math.max(height, p.y + 1);
    }
  }
  const minX = Math.min(0, ...routes.flat().map((p) => p.x));
  const grid = Array.from({ length: height }, () => Array<string>(width - minX).fill(' '));
  const put = (x: number, y: number, c: string) => {
    if (y >= 0 && y < height) grid[y][x - minX] = c;
  };
  // Lines first (Bresenham between dagre's bend points), boxes over them.
  for (const r of routes) {
    for (let i = 1; i < r.length; i++) {
      let { x: x0, y: y0 } = r[i - 1];
      const { x: x1, y: y1 } = r[i];
      const dx = Math.abs(x1 - x0);
      const dy = -Math.abs(y1 - y0);
      const sx = x0 < x1 ? 1 : -1;
      const sy = y0 < y1 ? 1 : -1;
      let err = dx + dy;
      for (;;) {
        put(x0, y0, '*');
        if (x0 === x1 && y0 === y1) break;
        const e2 = 2 * err;
        if (e2 >= dy) {
          err += dy;
          x0 += sx;
        }
        if (e2 <= dx) {
          err += dx;
          y0 += sy;
        }
      }
    }
  }
  for (const n of nodes) {
    const x = left(n);
    const y = top(n);
    const w = box(n).width;
    const rule = `+${'-'.repeat(w - 2)}+`;
    const rows = [rule, `| ${label(n)} |`, rule];
    rows.forEach((row, dy) => [...row].forEach((c, dx) => put(x + dx, y + dy, c)));
  }
  const lines = grid.map((row) => row.join('').trimEnd());
  if (implied.length > 0) {
    const byStage = new Map<string, string[]>();
    for (const [a, b] of implied) byStage.set(b, [...(byStage.get(b) ?? []), a]);
    lines.push('', 'also needed, through the lines above:', ...[...byStage].map(([b, as]) => `  ${b} ← ${as.join(', ')}`));
  }
  return lines.join('\n');
}
