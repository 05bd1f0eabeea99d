// Folder outs (one content-addressed tree) and glob deps (a new or removed match is a changed input).
import { expect } from 'chai';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { outcomes, reasonFields, statuses, statusReasons } from './fixtures.js';

const DIR_SCRIPT = `const fs = require('node:fs');
const p = JSON.parse(process.env.PIPELINE_PARAMS);
fs.appendFileSync('runs.log', process.env.PIPELINE_STAGE + '\\n');
fs.mkdirSync('build/parts/sub', { recursive: true });
const ins = fs.readdirSync('data').sort().map((f) => fs.readFileSync('data/' + f, 'utf8')).join('');
fs.writeFileSync('build/parts/a.txt', 'a' + p.n + '\\n');
fs.writeFileSync('build/parts/sub/b.txt', ins);
`;

const YAML = `version: 1
stages:
  parts:
    cmd: node dir.js
    deps: [dir.js, "data/*.csv"]
    outs: [build/parts]
    params: {n: 1}
  use:
    cmd: [node, -e, "const fs = require('fs'); fs.appendFileSync('runs.log', 'use\\\\n'); fs.writeFileSync('build/use.txt', fs.readFileSync('build/parts/sub/b.txt'))"]
    needs: [parts]
    outs: [build/use.txt]
`;

describe('engine: folder outs and glob deps', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: YAML, files: { 'dir.js': DIR_SCRIPT, 'data/a.csv': '1\n' } });
  });
  after(() => ws.cleanup());

  const run = async (...args: string[]) => {
    const r = await ws.run(['run', '--json', ...args]);
    expect(r.exitCode, r.stderr).to.equal(0);
    return r.json;
  };
  let first: Record<string, string>;

  it('a folder out is recorded as one tree with its size', async () => {
    await run();
    first = ws.snapshot('build');
    expect(Object.keys(first)).to.deep.equal(['parts', 'parts/a.txt', 'parts/sub', 'parts/sub/b.txt', 'use.txt']);
    expect(ws.lock().stages.parts.outs).to.have.length(1);
    expect(ws.lock().stages.parts.outs[0]).to.include({ path: 'build/parts', type: 'dir', size: 5 });
  });

  it('a param flip back restores the whole folder without executing', async () => {
    await run('--set', 'parts.n=2');
    expect(ws.read('build/parts/a.txt')).to.equal('a2\n');
    const n = ws.lines().length;
    const json = await run();
    expect(statuses(json)).to.deep.equal({ parts: 'cached', use: 'cached' });
    expect(reasonFields(json).parts).to.deep.equal([{ code: 'param-changed', name: 'n', from: 2, to: 1 }, { code: 'restorable', from: 'run-cache' }]);
    expect(outcomes(json).parts).to.equal('restored');
    expect(ws.lines().length).to.equal(n);
    expect(ws.snapshot('build')).to.deep.equal(first);
  });

  it('an extra file in a folder out is a modification: restored exactly, the extra file gone', async () => {
    ws.write('build/parts/extra.txt', 'junk');
    const s = await ws.run(['status', '--json']);
    expect(statusReasons(s.json).parts).to.deep.equal(['stale', [{ code: 'out-modified', path: 'build/parts' }, { code: 'restorable', from: 'run-cache' }]]);
    const json = await run();
    expect(statuses(json)).to.deep.equal({ parts: 'cached', use: 'cached' });
    expect(ws.snapshot('build')).to.deep.equal(first);
  });

  it('a new file matching a glob dep is a new input; removing it restores the earlier state', async () => {
    ws.write('data/b.csv', '2\n');
    const s = await ws.run(['status', '--json']);
    expect(statusReasons(s.json).parts).to.deep.equal(['stale', [{ code: 'input-added', path: 'data/b.csv' }]]);
    let json = await run();
    expect(statuses(json)).to.deep.equal({ parts: 'ran', use: 'ran' });
    expect(ws.read('build/use.txt')).to.equal('1\n2\n');
    ws.remove('data/b.csv');
    const n = ws.lines().length;
    json = await run();
    expect(statuses(json)).to.deep.equal({ parts: 'cached', use: 'cached' });
    expect(reasonFields(json).parts).to.deep.equal([{ code: 'input-removed', path: 'data/b.csv' }, { code: 'restorable', from: 'run-cache' }]);
    expect(outcomes(json).parts).to.equal('restored');
    expect(ws.lines().length).to.equal(n);
    expect(ws.snapshot('build')).to.deep.equal(first);
  });
});
