import { expect } from 'chai';
import * as publicReport from 'pipeline-dag/report';
import { formatDuration, impliedEdges, renderDagSvg } from '../../runner/graph/draw-svg.js';

// The California-housing pipeline's `needs:` edges, as the engine records them in last-run.json.
const NODES = ['load', 'train', 'gate', 'quantize-8', 'quantize-16', 'compare', 'predict'];
const EDGES: [string, string][] = [
  ['load', 'train'], ['train', 'gate'], ['load', 'gate'], ['gate', 'quantize-8'], ['train', 'quantize-8'],
  ['load', 'quantize-8'], ['gate', 'quantize-16'], ['train', 'quantize-16'], ['load', 'quantize-16'],
  ['load', 'compare'], ['train', 'compare'], ['quantize-8', 'compare'], ['quantize-16', 'compare'],
  ['load', 'predict'], ['train', 'predict'], ['quantize-8', 'predict'], ['quantize-16', 'predict'],
];

describe('DAG drawing as SVG (runner/graph/draw-svg.ts)', function () {
  it('finds the edges implied by longer paths (everything but the transitive reduction)', function () {
    const implied = [...impliedEdges(NODES, EDGES)].map((k) => k.replace('\n', ' → ')).sort();
    expect(implied).to.deep.equal([
      'load → compare', 'load → gate', 'load → predict', 'load → quantize-16', 'load → quantize-8',
      'train → compare', 'train → predict', 'train → quantize-16', 'train → quantize-8',
    ]);
    expect([...impliedEdges(['a', 'b'], [['a', 'b']])]).to.deep.equal([]);
  });

  it('draws one node per stage with its status, one edge group per edge, inside the view box', async function () {
    const svg = await renderDagSvg(NODES, EDGES, { load: { status: 'cached', durationMs: 3 }, gate: { status: 'failed', durationMs: 1500 } });
    const nodes = [...svg.matchAll(/<g class="dag-node" data-stage="([^"]+)" data-status="([^"]+)">/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(nodes).to.deep.equal([
      'load:cached', 'train:unknown', 'gate:failed', 'quantize-8:unknown', 'quantize-16:unknown', 'compare:unknown', 'predict:unknown',
    ]);
    // The 9 edges longer paths imply are left out by default; a stage's tooltip names them.
    expect((svg.match(/<g class="dag-edge"/g) ?? []).length).to.equal(8);
    expect(svg).to.not.include('dag-edge implied');
    expect(svg).to.include('<title>compare: unknown; also needs load, train (implied by the edges drawn)</title>');
    const faint = await renderDagSvg(NODES, EDGES, {}, { implied: 'faint' });
    expect((faint.match(/<g class="dag-edge"/g) ?? []).length).to.equal(8);
    expect((faint.match(/<g class="dag-edge implied"/g) ?? []).length).to.equal(9);
    expect(faint).to.not.include('also needs');
    expect(svg).to.include('>cached · 3 ms</text>');
    expect(svg).to.include('>failed · 1.50 s</text>');
    const [vx, vy, vw, vh] = /viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"/.exec(svg)!.slice(1).map(Number);
    for (const m of svg.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)) {
      const [x, y] = [Number(m[1]), Number(m[2])];
      expect(x).to.be.within(vx, vx + vw);
      expect(y).to.be.within(vy, vy + vh);
    }
    expect(await renderDagSvg(NODES, EDGES)).to.equal(await renderDagSvg(NODES, EDGES));
  });

  it('a diamond with a shortcut a → d: four edges drawn, the shortcut named in the tooltip of d', async function () {
    const edges: [string, string][] = [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd'], ['a', 'd']];
    const svg = await renderDagSvg(['a', 'b', 'c', 'd'], edges);
    const drawn = [...svg.matchAll(/<g class="dag-edge" data-from="([^"]+)" data-to="([^"]+)">/g)].map((m) => `${m[1]}→${m[2]}`);
    expect(drawn).to.deep.equal(['a→b', 'a→c', 'b→d', 'c→d']);
    expect(svg).to.include('<title>d: unknown; also needs a (implied by the edges drawn)</title>');
    expect([...impliedEdges(['a', 'b', 'c', 'd'], edges)]).to.deep.equal(['a\nd']);
  });

  it('formats durations for people', function () {
    expect([0, 999, 1000, 12_345, 61_000, 125_400].map(formatDuration)).to.deep.equal([
      '0 ms', '999 ms', '1.00 s', '12.3 s', '1 min 1 s', '2 min 5 s',
    ]);
    expect(formatDuration(undefined)).to.equal('');
  });

  it('is what the report imports as `pipeline-dag/report` (the compiled engine draws the same SVG)', async function () {
    const statuses = { load: { status: 'ran', durationMs: 40 } };
    expect(await publicReport.renderDagSvg(NODES, EDGES, statuses)).to.equal(await renderDagSvg(NODES, EDGES, statuses));
    expect(publicReport.formatDuration(1500)).to.equal('1.50 s');
  });
});
