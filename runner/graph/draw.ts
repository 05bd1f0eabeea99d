// `pipeline dag`: the stage graph as text, Mermaid, Graphviz dot or JSON.
import type { StageGraph } from './graph.js';

export type DagFormat = 'ascii' | 'mermaid' | 'dot' | 'json';

export function dagJson(graph: StageGraph): { nodes: string[]; edges: [string, string][] } {
  const edges: [string, string][] = [];
  for (const name of graph.order) for (const need of graph.upstream(name)) edges.push([need, name]);
  return { nodes: [...graph.order], edges };
}

const id = (name: string) => `s_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;

export function renderDag(graph: StageGraph, format: DagFormat): string {
  const { nodes, edges } = dagJson(graph);
  switch (format) {
    case 'json':
      return JSON.stringify({ nodes, edges }, null, 2);
    case 'mermaid':
      return ['flowchart TD', ...nodes.map((n) => `  ${id(n)}["${n}"]`), ...edges.map(([a, b]) => `  ${id(a)} --> ${id(b)}`)].join('\n');
    case 'dot':
      return [
        'digraph pipeline {',
        '  rankdir=TB;',
        '  node [shape=box, style=rounded];',
        ...nodes.map((n) => `  "${n}";`),
        ...edges.map(([a, b]) => `  "${a}" -> "${b}";`),
        '}',
      ].join('\n');
    case 'ascii': {
      // One line per stage in run order, indented by depth, with what it needs.
      const depth = new Map<string, number>();
      for (const n of nodes) depth.set(n, Math.max(0, ...graph.upstream(n).map((u) => depth.get(u)! + 1)));
      return nodes
        .map((n) => {
          const needs = graph.upstream(n);
          const stage = graph.stage(n);
          const mark = stage.gate ? ' [gate]' : '';
          return `${'  '.repeat(depth.get(n)!)}${needs.length ? '└─ ' : ''}${n}${mark}${needs.length ? `  ← ${needs.join(', ')}` : ''}`;
        })
        .join('\n');
    }
  }
}
