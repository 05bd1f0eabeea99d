// Typed, scoped params: a `module:` stage exports a zod `params` schema, a `cmd:` stage lists the global params it
// reads in `uses:`. Values are checked before anything runs; a stage's fingerprint covers only what it reads.
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { executions, makeWorkspace, repoRoot, type Workspace } from '../helpers/workspace.js';

// Writes the params it received and logs its execution.
const DUMP_JS = `const fs = require('node:fs');
fs.mkdirSync('build', { recursive: true });
fs.writeFileSync(process.argv[2], process.env.PIPELINE_PARAMS + '\\n');
fs.appendFileSync('runs.log', process.env.PIPELINE_STAGE + ' 0 0\\n');
`;

const moduleStage = (schema: string | undefined) => `import { appendFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
${schema === undefined ? 'export const unused = z;' : `export const params = ${schema};`}
export default async function (ctx: any): Promise<void> {
  appendFileSync(\`\${ctx.workspace}/runs.log\`, \`\${ctx.stage} 0 0\\n\`);
  writeFileSync(Object.values(ctx.outs)[0] as string, JSON.stringify(ctx.params) + '\\n');
}
`;

const YAML = `version: 1
params:
  seed: 1
  label: a
stages:
  a:
    cmd: node dump.js build/a.json
    deps: [dump.js]
    uses: [seed]
    outs: [build/a.json]
  b:
    cmd: node dump.js build/b.json
    deps: [dump.js]
    outs: [build/b.json]
  m:
    module: mod/m.ts
    params:
      rate: 0.5
    outs: [build/m.json]
  n:
    module: mod/n.ts
    outs: [build/n.json]
  z:
    module: mod/z.ts
    outs: [build/z.json]
`;

const FILES = {
  'dump.js': DUMP_JS,
  'mod/m.ts': moduleStage('z.object({ seed: z.number().int(), rate: z.number().min(0).optional() })'),
  'mod/n.ts': moduleStage(undefined),
  'mod/z.ts': moduleStage('z.object({})'),
};

function workspace(yaml = YAML): Workspace {
  const ws = makeWorkspace({ yaml, files: FILES });
  // Stage modules import zod like any package of the project.
  symlinkSync(path.join(repoRoot, 'node_modules'), ws.path('node_modules'));
  return ws;
}

const json = (ws: Workspace, rel: string): unknown => JSON.parse(ws.read(rel));

describe('engine: typed and scoped params', function () {
  let ws: Workspace;
  before(async () => {
    ws = workspace();
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
  });
  after(() => ws.cleanup());

  it('each stage receives exactly the params it reads; a stage that declares nothing gets them all', () => {
    expect(json(ws, 'build/a.json')).to.deep.equal({ seed: 1 });
    expect(json(ws, 'build/b.json')).to.deep.equal({ seed: 1, label: 'a' });
    expect(json(ws, 'build/m.json')).to.deep.equal({ seed: 1, rate: 0.5 });
    expect(json(ws, 'build/n.json')).to.deep.equal({ seed: 1, label: 'a' });
    expect(json(ws, 'build/z.json')).to.deep.equal({});
    expect(ws.lock().stages.a.definition.params).to.deep.equal({ seed: 1 });
  });

  it('a global param change re-runs only the stages that read it', async () => {
    ws.remove('runs.log');
    let r = await ws.run(['run', '--set', 'label=b']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(executions(ws).sort()).to.deep.equal(['b', 'n']);
    ws.remove('runs.log');
    r = await ws.run(['run', '--set', 'label=b', '--set', 'seed=2']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(executions(ws).sort()).to.deep.equal(['a', 'b', 'm', 'n']);
    expect(json(ws, 'build/a.json')).to.deep.equal({ seed: 2 });
  });

  it('a module schema is read once per code hash, not per run', async () => {
    const state = () => Object.keys((JSON.parse(ws.read('.pipeline/state/params.json')) as { byCode: object }).byCode);
    const before = state();
    expect(before).to.have.length(3);
    await ws.run(['run']);
    expect(state()).to.deep.equal(before);
    ws.write('mod/z.ts', moduleStage('z.object({})') + '// edited\n');
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(state()).to.have.length(4);
  });

  it('`pipeline fingerprint` scopes params like the run (the fingerprint pipeline.lock recorded)', async () => {
    for (const name of ['a', 'm', 'z']) {
      const r = await ws.run(['fingerprint', name]);
      expect(r.stdout.trim(), name).to.equal(ws.lock().stages[name].fingerprint);
    }
  });

  it('a wrongly typed value from the file exits 2 with its position, before anything ran', async () => {
    const bad = workspace(YAML.replace('rate: 0.5', 'rate: fast'));
    try {
      const before = bad.snapshot('.', ['.pipeline']);
      const r = await bad.run(['run']);
      expect(r.exitCode).to.equal(2);
      expect(bad.snapshot('.', ['.pipeline'])).to.deep.equal(before); // bundles in .pipeline/build are derived
      const v = await bad.run(['validate', '--json']);
      expect(v.exitCode).to.equal(2);
      const [d] = v.json.diagnostics;
      expect(d).to.include({ code: 'param-type', file: 'pipeline.yaml', line: 18, col: 13 });
    } finally {
      bad.cleanup();
    }
  });

  it('a wrongly typed --set exits 2 naming the argument, before anything ran', async () => {
    const before = ws.userSnapshot();
    const r = await ws.run(['run', '--set', 'm.rate=-1']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.include('--set m.rate=-1:1:');
    expect(ws.userSnapshot()).to.deep.equal(before);
    const v = await ws.run(['validate', '--json', '--set', 'seed=1.5']);
    expect(v.exitCode).to.equal(2);
    expect(v.json.diagnostics.map((d: { code: string; file: string }) => [d.code, d.file])).to.deep.equal([['param-type', '--set seed=1.5']]);
  });

  it('a --set of a param the stage does not read is refused', async () => {
    const v = await ws.run(['validate', '--json', '--set', 'z.seed=3']);
    expect(v.exitCode).to.equal(2);
    expect(v.json.diagnostics[0].code).to.equal('unknown-param');
  });

  it('`uses:` naming an unknown global param is a config error at its position', async () => {
    const bad = workspace(YAML.replace('uses: [seed]', 'uses: [seed, sed]'));
    try {
      const v = await bad.run(['validate', '--json']);
      expect(v.exitCode).to.equal(2);
      expect(v.json.diagnostics[0]).to.include({ code: 'unknown-param', line: 9, col: 18 });
    } finally {
      bad.cleanup();
    }
  });

  it('a module that fails to import is read again on the next run: the cause may lie outside its code (not remembered)', async () => {
    const ws2 = workspace();
    try {
      // It reads a file when imported, outside its code closure: missing at first, written later.
      ws2.write('mod/z.ts', `import { readFileSync } from 'node:fs';\nconst limit = Number(readFileSync(process.cwd() + '/limit.txt', 'utf8'));\n${moduleStage('z.object({})').replace('z.object({})', 'z.object({}).refine(() => limit > 0)')}`);
      for (let i = 0; i < 2; i++) {
        const r = await ws2.run(['run']);
        expect(r.exitCode).to.equal(2);
        expect(r.stderr).to.match(/stage `z`: cannot read the params of mod\/z\.ts: importing it failed: .*limit\.txt/);
        expect(r.stderr).to.contain('the module must import without error');
      }
      ws2.write('limit.txt', '3\n');
      const ok = await ws2.run(['run']);
      expect(ok.exitCode, ok.stderr).to.equal(0);
    } finally {
      ws2.cleanup();
    }
  });

  it('a schema that requires a param nobody sets, and a `params` export that is not a schema, are config errors', async () => {
    const bad = workspace();
    try {
      bad.write('mod/z.ts', moduleStage('z.object({ gamma: z.number() })'));
      bad.write('mod/n.ts', moduleStage('3'));
      const v = await bad.run(['validate', '--json']);
      expect(v.exitCode).to.equal(2);
      expect(v.json.diagnostics.map((d: { code: string }) => d.code).sort()).to.deep.equal(['param-missing', 'params-schema']);
    } finally {
      bad.cleanup();
    }
  });
});
