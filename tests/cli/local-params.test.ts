// pipeline.local.yaml: a machine-local `params:` map keyed like --set; pipeline.yaml < pipeline.local.yaml < --set;
// every bad key or value reported at its line:col in the local file; status names the file; init git-ignores it.
import { expect } from 'chai';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { makeWorkspace, repoRoot, type Workspace } from '../helpers/workspace.js';

const MODULE = `import { writeFileSync } from 'node:fs';
import { z } from 'zod';
export const params = z.object({ source: z.string(), seed: z.number().int() });
export default async function (ctx: any): Promise<void> {
  writeFileSync(Object.values(ctx.outs)[0] as string, JSON.stringify(ctx.params) + '\\n');
}
`;

const YAML = `version: 1
params: {seed: 1}
stages:
  load:
    module: mod/load.ts
    params: {source: default.csv}
    outs: [build/load.json]
  q:
    module: mod/load.ts
    matrix:
      bits: [4, 8]
    name: q-\${bits}
    params: {source: q.csv}
    outs: ["build/q\${bits}.json"]
`;

describe('cli: pipeline.local.yaml (machine-local params)', function () {
  this.timeout(120_000);
  let ws: Workspace;
  beforeEach(() => {
    ws = makeWorkspace({ yaml: YAML, files: { 'mod/load.ts': MODULE.replace('source: z.string(), seed', 'source: z.string(), bits: z.optional(z.number()), seed') } });
    symlinkSync(path.join(repoRoot, 'node_modules'), ws.path('node_modules'));
  });
  afterEach(() => ws.cleanup());
  const out = (f: string) => JSON.parse(ws.read(f)) as Record<string, unknown>;

  it('pipeline.yaml < pipeline.local.yaml < --set, for a stage param, a global one and a template name', async () => {
    ws.write('pipeline.local.yaml', 'params:\n  load.source: ../data/local.csv\n  seed: 7\n  q.source: local-q.csv\n');
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(out('build/load.json')).to.deep.equal({ source: '../data/local.csv', seed: 7 });
    expect(out('build/q4.json')).to.deep.equal({ source: 'local-q.csv', bits: 4, seed: 7 });
    expect(out('build/q8.json')).to.deep.equal({ source: 'local-q.csv', bits: 8, seed: 7 });
    const s = await ws.run(['run', '--set', 'seed=9', '--set', 'q-8.source=cli.csv']);
    expect(s.exitCode, s.stderr).to.equal(0);
    expect(out('build/load.json')).to.deep.equal({ source: '../data/local.csv', seed: 9 });
    expect(out('build/q4.json')).to.deep.equal({ source: 'local-q.csv', bits: 4, seed: 9 });
    expect(out('build/q8.json')).to.deep.equal({ source: 'cli.csv', bits: 8, seed: 9 });
  });

  it('status names a param set there as overridden in pipeline.local.yaml (text and --json), not one a --set overrode', async () => {
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    ws.write('pipeline.local.yaml', 'params:\n  load.source: other.csv\n');
    const s = await ws.run(['status', 'load']);
    expect(s.stdout).to.include('changed param `source` ("default.csv" → "other.csv"), overridden in pipeline.local.yaml');
    const j = await ws.run(['status', '--json']);
    const load = j.json.stages.find((x: { name: string }) => x.name === 'load');
    expect(load.reasons).to.deep.include({ code: 'param-changed', message: 'changed param `source` ("default.csv" → "other.csv"), overridden in pipeline.local.yaml', name: 'source', from: 'default.csv', to: 'other.csv', overriddenIn: 'pipeline.local.yaml' });
    const set = await ws.run(['status', 'load', '--set', 'load.source=cli.csv']);
    expect(set.stdout).to.include('changed param `source` ("default.csv" → "cli.csv")');
    expect(set.stdout).to.not.include('overridden in');
  });

  it('an edited local file is seen although pipeline.yaml\'s parsed config is cached', async () => {
    ws.write('pipeline.local.yaml', 'params:\n  load.source: a.csv\n');
    expect((await ws.run(['run', 'load'])).exitCode).to.equal(0);
    expect(out('build/load.json').source).to.equal('a.csv');
    ws.write('pipeline.local.yaml', 'params:\n  load.source: b.csv\n');
    expect((await ws.run(['run', 'load'])).exitCode).to.equal(0);
    expect(out('build/load.json').source).to.equal('b.csv');
  });

  it('bad keys and values: each at its line:col in pipeline.local.yaml, exit 2, nothing run', async () => {
    ws.write('pipeline.local.yaml', 'params:\n  load.nope: 1\n  sed: 2\n  nostage.x: 3\n  q.bits: 5\n');
    const r = await ws.run(['validate', '--json']);
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.json.diagnostics.map((d: { code: string; file: string; line: number; col: number; message: string }) => [d.code, `${d.file}:${d.line}:${d.col}`, d.message])).to.deep.equal([
      ['unknown-param', 'pipeline.local.yaml:2:14', '`params.load.nope`: stage `load` has no param `nope`'],
      ['unknown-param', 'pipeline.local.yaml:3:8', '`params.sed`: no global param `sed` (did you mean `seed`?)'],
      ['unknown-key', 'pipeline.local.yaml:4:14', '`params.nostage.x`: unknown stage `nostage`'],
      ['matrix-key-set', 'pipeline.local.yaml:5:11', '`params.q.bits`: `bits` is a matrix key of template `q` (2 expansions); its values are the list under `matrix:`, not a param to set'],
    ]);
    ws.write('pipeline.local.yaml', 'params:\n  load.source: 12\n');
    const t = await ws.run(['run']);
    expect(t.exitCode).to.equal(2);
    expect(t.stderr).to.match(/^error: pipeline\.local\.yaml:2:16: stage `load`: param `source` is 12; expected a string/m);
    expect(t.stderr).to.include('(pipeline.local.yaml)');
    expect(ws.exists('build/load.json')).to.equal(false);
  });

  it('any other top-level key, a params that is not a mapping, and bad YAML are errors with positions', async () => {
    ws.write('pipeline.local.yaml', 'params: {seed: 2}\nstages: {}\n');
    const a = await ws.run(['status']);
    expect(a.exitCode).to.equal(2);
    expect(a.stderr).to.match(/^error: pipeline\.local\.yaml:2:1: unknown key `stages` in pipeline\.local\.yaml; its only key is `params`/m);
    ws.write('pipeline.local.yaml', 'params: [1, 2]\n');
    const b = await ws.run(['status']);
    expect(b.exitCode).to.equal(2);
    expect(b.stderr).to.match(/^error: pipeline\.local\.yaml:1:9: `params` must be a mapping/m);
    ws.write('pipeline.local.yaml', 'params:\n  seed: [1\n');
    const c = await ws.run(['status']);
    expect(c.exitCode).to.equal(2);
    expect(c.stderr).to.match(/^error: pipeline\.local\.yaml:\d+:\d+: YAML syntax error/m);
    ws.write('pipeline.local.yaml', '');
    expect((await ws.run(['status'])).exitCode).to.equal(0);
  });
});

describe('cli: init git-ignores pipeline.local.yaml', function () {
  this.timeout(60_000);
  it('writes /pipeline.local.yaml into .gitignore', async () => {
    const ws = makeWorkspace({});
    try {
      const r = await ws.run(['init']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(ws.read('.gitignore').split('\n')).to.include('/pipeline.local.yaml');
    } finally {
      ws.cleanup();
    }
  });
});
