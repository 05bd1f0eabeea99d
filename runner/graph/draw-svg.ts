// The stage graph drawn as a self-contained SVG (the HTML report's DAG; `pipeline-dag/report` exports it): dagre lays
// it out, we emit rects, edge paths, arrowheads and labels, each node coloured by the stage's status in the last run.
// No element ids, no scripts, no external fonts. Imports only @dagrejs/dagre (its types in dagre.ts) and, for the
// edges a longer path implies (left out by default), @dagrejs/graphlib.

import type { Dagre, LayoutGraph, LayoutNodeLabel, Point } from './dagre.js';
import { transitiveReduction } from './reduction.js';

export interface DagStageInfo {
  /** A stage status of last-run.json (`ran`, `cached`, `skipped`, `failed`, `blocked`); any other is drawn as `unknown`. */
  status?: string;
  durationMs?: number;
}

export const STATUS_COLORS: Record<string, { fill: string; stroke: string; text: string }> = {
  ran: { fill: '#d9f2dd', stroke: '#2f8f46', text: '#1d5c2c' },
  cached: { fill: '#dbe8f7', stroke: '#3b6fb0', text: '#22466f' },
  skipped: { fill: '#eeeeee', stroke: '#9a9a9a', text: '#555555' },
  failed: { fill: '#fadcdc', stroke: '#c0392b', text: '#7d1f16' },
  blocked: { fill: '#fcebd2', stroke: '#d4860b', text: '#7a4d06' },
  unknown: { fill: '#ffffff', stroke: '#9a9a9a', text: '#555555' },
};

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const NODE_HEIGHT = 46;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(x: number): string {
  return String(Math.round(x * 10) / 10);
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms - m * 60_000) / 1000)} s`;
}

/** The edges A → B that a longer path A → … → B implies (not in the transitive reduction). Keys are `from\nto`. */
export function impliedEdges(nodes: string[], edges: [string, string][]): Set<string> {
  return new Set(transitiveReduction(nodes, edges).implied.map(([a, b]) => `${a}\n${b}`));
}

export interface DagSvgOptions {
  /**
   * `hide` (the default): an edge a longer path implies is not drawn (it only crosses the others), and the stage's
   * tooltip names it; `faint`: drawn dashed and light.
   */
  implied?: 'hide' | 'faint';
}

/**
 * Lay out `nodes`/`edges` left to right and return the SVG markup. `stages` gives each node's last-run status and
 * duration (a node without one is drawn as `unknown`). Each node is a `<g class="dag-node" data-stage=NAME
 * data-status=STATUS>`, each edge a `<g class="dag-edge" data-from=A data-to=B>`.
 */
export async function renderDagSvg(
  nodes: string[],
  allEdges: [string, string][],
  stages: Record<string, DagStageInfo> = {},
  options: DagSvgOptions = {},
): Promise<string> {
  const reduction = transitiveReduction(nodes, allEdges);
  const implied = new Set(reduction.implied.map(([a, b]) => `${a}\n${b}`));
  const edges = options.implied === 'faint' ? allEdges : reduction.kept;
  const alsoNeeds = new Map<string, string[]>();
  if (options.implied !== 'faint') for (const [a, b] of reduction.implied) alsoNeeds.set(b, [...(alsoNeeds.get(b) ?? []), a]);
  const g = await layout(nodes, edges, implied);
  const { minX, minY, width, height } = bounds(g, edges);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="${width}" height="${height}" viewBox="${minX} ${minY} ${width} ${height}" role="img" aria-label="Pipeline DAG" font-family="${FONT}">`,
  );
  for (const [from, to] of edges) {
    const pts = g.edge(from, to)?.points ?? [];
    if (pts.length >= 2) parts.push(edgeMarkup(from, to, pts, implied.has(`${from}\n${to}`)));
  }
  for (const name of nodes) parts.push(nodeMarkup(name, g.node(name) as Required<LayoutNodeLabel>, stages[name] ?? {}, alsoNeeds.get(name) ?? []));
  parts.push('</svg>');
  return parts.join('\n');
}

/** The graph placed by dagre: direct dependencies weigh more than implied ones, so the main chain stays straight. */
async function layout(nodes: string[], edges: [string, string][], implied: Set<string>): Promise<LayoutGraph> {
  const { default: dagre } = (await import('@dagrejs/dagre')) as { default: Dagre };
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 22, ranksep: 56, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const name of nodes) g.setNode(name, { width: Math.max(96, 8.2 * name.length + 34), height: NODE_HEIGHT });
  for (const [from, to] of edges) g.setEdge(from, to, { weight: implied.has(`${from}\n${to}`) ? 1 : 4 });
  dagre.layout(g);
  return g;
}

/** Bounds of the drawing: node boxes and edge points (long edges can bend outside dagre's graph box). */
function bounds(g: LayoutGraph, edges: [string, string][]): { minX: number; minY: number; width: number; height: number } {
  let minX = 0;
  let minY = 0;
  let maxX = g.graph().width ?? 0;
  let maxY = g.graph().height ?? 0;
  for (const [from, to] of edges)
    for (const p of g.edge(from, to)?.points ?? []) {
      minX = Math.min(minX, p.x - 12);
      minY = Math.min(minY, p.y - 12);
      maxX = Math.max(maxX, p.x + 12);
      maxY = Math.max(maxY, p.y + 12);
    }
  return { minX: Math.floor(minX), minY: Math.floor(minY), width: Math.ceil(maxX - Math.floor(minX)), height: Math.ceil(maxY - Math.floor(minY)) };
}

/** An edge through dagre's points: a line stopping short of the arrowhead, then the head as a triangle. */
function edgeMarkup(from: string, to: string, pts: Point[], faint: boolean): string {
  const last = pts[pts.length - 1];
  const prev = pts[pts.length - 2];
  const len = Math.hypot(last.x - prev.x, last.y - prev.y) || 1;
  const ux = (last.x - prev.x) / len;
  const uy = (last.y - prev.y) / len;
  const head = 8;
  const base = { x: last.x - ux * head, y: last.y - uy * head };
  const line = [...pts.slice(0, -1), base];
  let d = `M${num(line[0].x)},${num(line[0].y)}`;
  if (line.length === 2) d += ` L${num(line[1].x)},${num(line[1].y)}`;
  else {
    // A smooth curve through dagre's bend points: quadratic segments between midpoints.
    for (let i = 1; i < line.length - 1; i++) {
      const mid = { x: (line[i].x + line[i + 1].x) / 2, y: (line[i].y + line[i + 1].y) / 2 };
      const end = i === line.length - 2 ? line[i + 1] : mid;
      d += ` Q${num(line[i].x)},${num(line[i].y)} ${num(end.x)},${num(end.y)}`;
    }
  }
  const px = -uy * 4.5;
  const py = ux * 4.5;
  const tri = `${num(last.x)},${num(last.y)} ${num(base.x + px)},${num(base.y + py)} ${num(base.x - px)},${num(base.y - py)}`;
  const color = faint ? '#c3c8cf' : '#6e7781';
  return `<g class="dag-edge${faint ? ' implied' : ''}" data-from="${esc(from)}" data-to="${esc(to)}"><path d="${d}" fill="none" stroke="${color}" stroke-width="${faint ? 1.1 : 1.6}"${faint ? ' stroke-dasharray="4 3"' : ''}/><polygon points="${tri}" fill="${color}"/></g>`;
}

/** A stage's box, coloured by its status, with its name and its status and duration below; its tooltip names the needs not drawn. */
function nodeMarkup(name: string, n: Required<LayoutNodeLabel>, info: DagStageInfo, alsoNeeds: string[]): string {
  const status = info.status ?? 'unknown';
  const c = STATUS_COLORS[status] ?? STATUS_COLORS.unknown;
  const x = n.x - n.width / 2;
  const y = n.y - n.height / 2;
  const sub = [status, formatDuration(info.durationMs)].filter(Boolean).join(' · ');
  return (
    `<g class="dag-node" data-stage="${esc(name)}" data-status="${esc(status)}">` +
    `<title>${esc(name)}: ${esc(sub)}${alsoNeeds.length > 0 ? `; also needs ${esc(alsoNeeds.join(', '))} (implied by the edges drawn)` : ''}</title>` +
    `<rect x="${num(x)}" y="${num(y)}" width="${num(n.width)}" height="${num(n.height)}" rx="8" ry="8" fill="${c.fill}" stroke="${c.stroke}" stroke-width="1.6"/>` +
    `<text x="${num(n.x)}" y="${num(n.y - 3)}" text-anchor="middle" font-size="13" font-weight="bold" fill="#1f2328">${esc(name)}</text>` +
    `<text x="${num(n.x)}" y="${num(n.y + 13)}" text-anchor="middle" font-size="10.5" fill="${c.text}">${esc(sub)}</text>` +
    `</g>`
  );
}
