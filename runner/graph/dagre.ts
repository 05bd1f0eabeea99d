// The part of @dagrejs/dagre the drawings use, typed. dagre's own declarations import their siblings without a file
// extension, which NodeNext resolution does not follow, so its `graphlib` and `layout` come out unresolved. A dagre
// graph is an @dagrejs/graphlib Graph, whose declarations do resolve. Types only: nothing here exists at run time.
import type { Graph } from '@dagrejs/graphlib';

export interface Point {
  x: number;
  y: number;
}

/** The layout settings given to dagre; `width` and `height` are the size of the drawing that layout() sets. */
export interface LayoutGraphLabel {
  rankdir?: 'TB' | 'BT' | 'LR' | 'RL';
  nodesep?: number;
  ranksep?: number;
  edgesep?: number;
  marginx?: number;
  marginy?: number;
  width?: number;
  height?: number;
}

/** A node's box: its size goes in, layout() sets its centre. */
export interface LayoutNodeLabel {
  width: number;
  height: number;
  x?: number;
  y?: number;
}

/** An edge's weight (how hard layout() keeps it short and straight) goes in, layout() sets its route. */
export interface LayoutEdgeLabel {
  weight?: number;
  points?: Point[];
}

export type LayoutGraph = Graph<LayoutGraphLabel, LayoutNodeLabel, LayoutEdgeLabel>;

/** The dagre module (its default export, or the CommonJS module object). */
export interface Dagre {
  graphlib: { Graph: new (options?: { directed?: boolean; multigraph?: boolean; compound?: boolean }) => LayoutGraph };
  /** Places every node and routes every edge of `graph`, in place. */
  layout(graph: LayoutGraph): void;
}
