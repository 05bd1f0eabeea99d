// `pipeline dag` as text draws fan-out and fan-in as lines leaving and meeting boxes (the real 7-stage DAG and a
// diamond); `validate` lists the stages in layers; `metrics` reads JSON and YAML and names the files it misses.
import { expect } from 'chai';
import { makeWorkspace, repoRoot, runCli, type Workspace } from '../helpers/workspace.js';

/** Row of the line `| name |` (or `| name [gate] |`) in a drawing, and its column. */
function place(drawing: string, name: string): { row: number; col: number } {
  const lines = drawing.split('\n');
  const hits = lines.flatMap((l, row) => {
    const col = l.search(new RegExp(`\\| ${name.replace(/[-.]/g, '\\$&')}( \\[gate\\])? \\|`));
    return col >= 0 ? [{ row, col }] : [];
  });
  expect(hits, `the box of ${name}`).to.have.length(1);
  return hits[0];
}

describe('cli: dag as text', function () {
  it('the real pipeline: one box per stage in five layers, parallel stages side by side, implied needs listed', async () => {
    const r = await runCli(repoRoot, ['dag']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const text = r.stdout.replace(/\n$/, '');
    const [drawing, note] = text.split('\n\nalso needed, through the lines above:\n');
    const at = Object.fromEntries(['load', 'train', 'gate', 'quantize-8', 'quantize-16', 'compare', 'predict'].map((n) => [n, place(drawing, n)]));
    expect(at.load.row).to.be.lessThan(at.train.row);
    expect(at.train.row).to.be.lessThan(at.gate.row);
    expect(at.gate.row).to.be.lessThan(at['quantize-8'].row);
    expect(at['quantize-8'].row).to.equal(at['quantize-16'].row);
    expect(at['quantize-8'].row).to.be.lessThan(at.compare.row);
    expect(at.compare.row).to.equal(at.predict.row);
    expect(drawing).to.include('| gate [gate] |');
    // Fan-out of gate: the row under its box holds two line ends; fan-in: the row above compare/predict four.
    const lines = drawing.split('\n');
    expect(lines[at.gate.row + 1].trim()).to.match(/^\+-+\+$/);
    expect((lines[at.gate.row + 2].match(/\*+/g) ?? []).length).to.equal(2);
    expect((lines[at.compare.row - 2].match(/\*+/g) ?? []).length).to.be.at.least(3);
    expect(note.split('\n')).to.deep.equal([
      '  gate ← load',
      '  quantize-8 ← train, load',
      '  quantize-16 ← train, load',
      '  compare ← load, train',
      '  predict ← load, train',
    ]);
    const v = await runCli(repoRoot, ['validate']);
    expect(v.stdout).to.match(/: valid, 7 stages \(load → train → gate → quantize-8, quantize-16 → compare, predict\)\n?$/);
  });

  it('a diamond: two lines leave the top box and two meet at the bottom one; nothing listed as implied', async () => {
    const ws = makeWorkspace({
      yaml: 'version: 1\nstages:\n  a: {cmd: echo a}\n  b: {cmd: echo b, needs: [a]}\n  c: {cmd: echo c, needs: [a]}\n  d: {cmd: echo d, needs: [b, c], gate: true}\n',
    });
    try {
      const r = await ws.run(['dag']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout).to.equal(
        [
          '    +---+',
          '    | a |',
          '    +---+',
          '     *  *',
          '    *    **',
          '   *       *',
          '   *       *',
          '+---+   +---+',
          '| c |   | b |',
          '+---+   +---+',
          '   *       *',
          '   *       *',
          '   *       *',
          '    *    **',
          ' +----------+',
          ' | d [gate] |',
          ' +----------+',
          '',
        ].join('\n'),
      );
      expect((await ws.run(['validate'])).stdout).to.match(/valid, 4 stages \(a → b, c → d\)\n$/);
    } finally {
      ws.cleanup();
    }
  });

  it('a diamond with a shortcut a → d: the drawing leaves the implied edge out and lists it; json and last-run.json keep it', async () => {
    const ws = makeWorkspace({
      yaml: 'version: 1\nstages:\n  a: {cmd: echo a}\n  b: {cmd: echo b, needs: [a]}\n  c: {cmd: echo c, needs: [a]}\n  d: {cmd: echo d, needs: [a, b, c]}\n',
    });
    try {
      const plain = makeWorkspace({
        yaml: 'version: 1\nstages:\n  a: {cmd: echo a}\n  b: {cmd: echo b, needs: [a]}\n  c: {cmd: echo c, needs: [a]}\n  d: {cmd: echo d, needs: [b, c]}\n',
      });
      const diamond = (await plain.run(['dag'])).stdout;
      plain.cleanup();
      const r = await ws.run(['dag']);
      expect(r.exitCode, r.stderr).to.equal(0);
      // The same drawing as the diamond without the shortcut, and the shortcut named below it.
      expect(r.stdout).to.equal(`${diamond.replace(/\n$/, '')}\n\nalso needed, through the lines above:\n  d ← a\n`);
      const edges = [
        ['a', 'b'],
        ['a', 'c'],
        ['a', 'd'],
        ['b', 'd'],
        ['c', 'd'],
      ];
      const json = await ws.run(['dag', '--format', 'json']);
      expect((JSON.parse(json.stdout) as { edges: string[][] }).edges.slice().sort()).to.deep.equal(edges);
      expect((await ws.run(['run'])).exitCode).to.equal(0);
      const lastRun = JSON.parse(ws.read('.pipeline/last-run.json')) as { dag: { edges: string[][] } };
      expect(lastRun.dag.edges.slice().sort()).to.deep.equal(edges);
    } finally {
      ws.cleanup();
    }
  });
});

describe('cli: last-run.json names the execution that computed each stage', function () {
  it('and the params each stage ran with (the global ones it uses, its own, --set), also when it comes from the cache', async () => {
    const ws = makeWorkspace({
      yaml: 'version: 1\nparams: {seed: 1, unused: 9}\nstages:\n  a: {cmd: [node, -e, "require(\'fs\').writeFileSync(\'a.txt\', \'a\')"], outs: [a.txt], uses: [seed], params: {alpha: 0.5}}\n  b: {cmd: [node, -e, "require(\'fs\').writeFileSync(\'b.txt\', \'b\')"], outs: [b.txt], uses: []}\n',
    });
    try {
      type Doc = { stages: { name: string; status: string; params?: Record<string, unknown> }[] };
      expect((await ws.run(['run', '--set', 'a.alpha=0.25'])).exitCode).to.equal(0);
      const first = JSON.parse(ws.read('.pipeline/last-run.json')) as Doc;
      expect(first.stages.map((s) => [s.name, s.params])).to.deep.equal([['a', { seed: 1, alpha: 0.25 }], ['b', undefined]]);
      ws.remove('a.txt');
      expect((await ws.run(['run', '--set', 'a.alpha=0.25'])).exitCode).to.equal(0);
      const restored = JSON.parse(ws.read('.pipeline/last-run.json')) as Doc;
      expect(restored.stages.map((s) => [s.name, s.status, s.params])).to.deep.equal([['a', 'cached', { seed: 1, alpha: 0.25 }], ['b', 'cached', undefined]]);
    } finally {
      ws.cleanup();
    }
  });


  it('a run that executes the stages records its own; a later run from the cache keeps the earlier one', async () => {
    const ws = makeWorkspace({
      yaml: 'version: 1\nstages:\n  a: {cmd: [node, -e, "require(\'fs\').writeFileSync(\'a.txt\', \'a\')"], outs: [a.txt]}\n  b: {cmd: [node, -e, "require(\'fs\').writeFileSync(\'b.txt\', \'b\')"], needs: [a], outs: [b.txt]}\n',
    });
    try {
      type Doc = { startedAt: string; stages: { name: string; status: string; durationMs: number; computed?: { finishedAt: string; durationMs: number } }[] };
      expect((await ws.run(['run'])).exitCode).to.equal(0);
      const first = JSON.parse(ws.read('.pipeline/last-run.json')) as Doc;
      expect(first.stages.map((s) => s.status)).to.deep.equal(['ran', 'ran']);
      for (const s of first.stages) {
        expect(s.computed, s.name).to.not.equal(undefined);
        expect(s.computed!.durationMs).to.equal(s.durationMs);
        expect(Date.parse(s.computed!.finishedAt)).to.be.at.least(Date.parse(first.startedAt));
      }
      expect((await ws.run(['run'])).exitCode).to.equal(0);
      const fresh = JSON.parse(ws.read('.pipeline/last-run.json')) as Doc;
      expect(fresh.stages.map((s) => s.computed)).to.deep.equal(first.stages.map((s) => s.computed));
      ws.remove('b.txt');
      expect((await ws.run(['run'])).exitCode).to.equal(0);
      const later = JSON.parse(ws.read('.pipeline/last-run.json')) as Doc;
      expect(later.stages.map((s) => s.status)).to.deep.equal(['cached', 'cached']);
      expect(later.stages.map((s) => s.computed)).to.deep.equal(first.stages.map((s) => s.computed));
    } finally {
      ws.cleanup();
    }
  });
});

const METRICS_YAML = `version: 1
stages:
  json:
    cmd: [node, -e, "require('fs').writeFileSync('build/m.json', JSON.stringify({ r2: 0.5 }))"]
    outs: [build/m.json]
    metrics: [build/m.json]
  yaml:
    cmd: [node, -e, "require('fs').writeFileSync('build/m.yaml', 'loss: 0.25\\\\nsplit:\\\\n  test: 3\\\\nname: x\\\\n')"]
    outs: [build/m.yaml]
    metrics: [build/m.yaml]
  late:
    cmd: [node, -e, "require('fs').writeFileSync('build/late.yml', 'n: 7\\\\n')"]
    needs: [json]
    outs: [build/late.yml]
    metrics: [build/late.yml]
`;

describe('cli: metrics files', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: METRICS_YAML });
  });
  after(() => ws.cleanup());

  it('before any run: names every missing file and the run that writes them', async () => {
    const r = await ws.run(['metrics']);
    expect(r.exitCode).to.equal(0);
    expect(r.stdout).to.equal('metrics files missing: build/m.json (stage `json`), build/m.yaml (stage `yaml`), build/late.yml (stage `late`); `pipeline run json yaml late` writes them\n');
  });

  it('JSON and YAML files are read alike; a file still missing is named on stderr below the table', async () => {
    expect((await ws.run(['run', 'json', 'yaml'])).exitCode).to.equal(0);
    const r = await ws.run(['metrics']);
    expect(r.stdout).to.equal(['file          metric      value', 'build/m.json  r2            0.5', 'build/m.yaml  loss         0.25', 'build/m.yaml  split.test      3', ''].join('\n'));
    expect(r.stderr).to.equal('metrics files missing: build/late.yml (stage `late`); `pipeline run late` writes them\n');
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    const all = await ws.run(['metrics', '--json']);
    expect(all.json).to.deep.equal({ 'build/m.json': { r2: 0.5 }, 'build/m.yaml': { loss: 0.25, 'split.test': 3 }, 'build/late.yml': { n: 7 } });
    expect(all.stderr).to.equal('');
  });

  it('a metrics file that does not parse is named with the reason', async () => {
    ws.write('build/m.json', '{ not json');
    ws.remove('build/m.yaml');
    ws.remove('build/late.yml');
    const r = await ws.run(['metrics']);
    expect(r.stdout).to.match(/^metrics files missing: build\/m\.yaml \(stage `yaml`\), build\/late\.yml \(stage `late`\); `pipeline run yaml late` writes them\nmetrics file build\/m\.json \(stage `json`\) is unreadable: .*JSON/);
  });
});
