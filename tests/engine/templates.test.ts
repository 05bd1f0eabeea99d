// Stage templates (`matrix:`) through the real CLI: a template's name means all its expansions and an expansion's
// name means one, for run, status, --single, --downstream, --force, --set, fingerprint and push/pull; a downstream
// `needs` on a template gets every expansion in `ctx.inputs`, keyed by expansion name; pipeline.lock says which
// template and values each expansion came from; a value added to the matrix runs just the new expansion.
import { expect } from 'chai';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { STAGE_SCRIPT, executions, makeWorkspace, repoRoot, type Workspace } from '../helpers/workspace.js';
import { reasonFields, statuses } from './fixtures.js';

// Writes what it was given: its name, its params, and the upstream stages and outs in ctx.inputs.
const FIT_TS = `import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
export default async function (ctx: any): Promise<void> {
  appendFileSync(\`\${ctx.workspace}/runs.log\`, \`\${ctx.stage} 0 0\\n\`);
  const clean = readFileSync(ctx.inputs.prepare['build/clean.txt'], 'utf8');
  const [out] = Object.values(ctx.outs) as string[];
  writeFileSync(out, JSON.stringify({ stage: ctx.stage, params: ctx.params, lines: clean.split('\\n').length - 1 }) + '\\n');
}
`;
const REPORT_TS = `import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
export default async function (ctx: any): Promise<void> {
  appendFileSync(\`\${ctx.workspace}/runs.log\`, \`\${ctx.stage} 0 0\\n\`);
  const inputs: Record<string, Record<string, string>> = {};
  for (const [stage, outs] of Object.entries(ctx.inputs as Record<string, Record<string, string>>))
    inputs[stage] = Object.fromEntries(Object.entries(outs).map(([o, abs]) => [o, readFileSync(abs, 'utf8').trim()]));
  writeFileSync(ctx.outs['build/report.json'], JSON.stringify(inputs) + '\\n');
}
`;

const YAML = `version: 1
params: {seed: 1}
stages:
  prepare:
    cmd: node stage.js build/clean.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/clean.txt]
  fit:
    module: mod/fit.ts
    matrix:
      alpha: [0.1, 0.5]
      kind: [a, b]
    name: fit-\${kind}-\${alpha}
    needs: [prepare]
    params: {scale: 2}
    outs: ["build/fit-\${kind}-\${alpha}.json"]
  shell:
    matrix: {value: [x, y]}
    cmd: node stage.js build/n-\${value}.txt
    deps: [stage.js]
    outs: ["build/n-\${value}.txt"]
  report:
    module: mod/report.ts
    needs: [fit, shell@y]
    outs: [build/report.json]
`;

const FITS = ['fit-a-0.1', 'fit-b-0.1', 'fit-a-0.5', 'fit-b-0.5'];

describe('engine: stage templates (matrix)', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: YAML, files: { 'stage.js': STAGE_SCRIPT, 'mod/fit.ts': FIT_TS, 'mod/report.ts': REPORT_TS, 'data/raw.txt': 'a\nb\nc\n' } });
  });
  after(() => ws.cleanup());

  it('runs every expansion with its matrix values as params; a downstream gets each one in ctx.inputs by name', async () => {
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(Object.keys(statuses(r.json))).to.deep.equal(['prepare', ...FITS, 'shell@x', 'shell@y', 'report']);
    expect(Object.values(statuses(r.json)).every((s) => s === 'ran')).to.equal(true);
    expect(JSON.parse(ws.read('build/fit-b-0.5.json'))).to.deep.equal({ stage: 'fit-b-0.5', params: { seed: 1, scale: 2, alpha: 0.5, kind: 'b' }, lines: 3 });
    expect(ws.read('build/n-x.txt')).to.equal('x\n');
    const report = JSON.parse(ws.read('build/report.json'));
    expect(Object.keys(report)).to.deep.equal([...FITS, 'shell@y']);
    expect(report['fit-a-0.5']).to.deep.equal({ 'build/fit-a-0.5.json': ws.read('build/fit-a-0.5.json').trim() });
    expect(report['shell@y']).to.deep.equal({ 'build/n-y.txt': 'y' });
  });

  it('pipeline.lock records each expansion under its name, with its template and values', () => {
    const lock = ws.lock();
    expect(Object.keys(lock.stages)).to.deep.equal(['prepare', ...FITS, 'shell@x', 'shell@y', 'report']);
    expect(lock.stages['fit-b-0.1'].template).to.deep.equal({ name: 'fit', matrix: { alpha: 0.1, kind: 'b' } });
    expect(lock.stages['shell@x'].template).to.deep.equal({ name: 'shell', matrix: { value: 'x' } });
    expect(lock.stages['fit-b-0.1'].definition.params).to.deep.equal({ seed: 1, scale: 2, alpha: 0.1, kind: 'b' });
    expect(lock.stages.report.template).to.equal(undefined);
    expect(lock.stages.prepare.template).to.equal(undefined);
  });

  it('status TEMPLATE shows its expansions; status EXPANSION shows that one', async () => {
    const all = await ws.run(['status', 'fit', '--json']);
    expect(all.exitCode, all.stderr).to.equal(0);
    expect(all.json.stages.map((s: { name: string; state: string }) => [s.name, s.state])).to.deep.equal(FITS.map((n) => [n, 'fresh']));
    const one = await ws.run(['status', 'shell@y']);
    expect(one.stdout).to.equal('shell@y   fresh  up to date\neverything is up to date\n');
  });

  it('run --force TEMPLATE forces each expansion (and runs what they need), nothing after them', async () => {
    const n = executions(ws).length;
    const r = await ws.run(['run', 'fit', '--force', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'cached', ...Object.fromEntries(FITS.map((f) => [f, 'ran'])), 'shell@x': 'skipped', 'shell@y': 'skipped', report: 'skipped' });
    expect(reasonFields(r.json)['fit-a-0.1']).to.deep.equal([{ code: 'forced' }]);
    expect(executions(ws).slice(n).sort()).to.deep.equal([...FITS].sort());
  });

  it('--single EXPANSION runs that one alone; --downstream TEMPLATE runs its expansions and what follows', async () => {
    let n = executions(ws).length;
    const single = await ws.run(['run', 'fit-a-0.5', '--single', '--force', '--json']);
    expect(single.exitCode, single.stderr).to.equal(0);
    expect(Object.entries(statuses(single.json)).filter(([, s]) => s !== 'skipped')).to.deep.equal([['fit-a-0.5', 'ran']]);
    expect(executions(ws).slice(n)).to.deep.equal(['fit-a-0.5']);
    n = executions(ws).length;
    const down = await ws.run(['run', 'shell', '--downstream', '--set', 'report.extra=1', '--json']);
    expect(down.exitCode, down.stderr).to.equal(2);
    expect(down.stderr).to.contain('--set report.extra=1: stage `report` has no param `extra`');
    const forced = await ws.run(['run', 'shell', '--downstream', '--force', '--json']);
    expect(forced.exitCode, forced.stderr).to.equal(0);
    expect(Object.entries(statuses(forced.json)).filter(([, s]) => s !== 'skipped')).to.deep.equal([
      ['shell@x', 'ran'],
      ['shell@y', 'ran'],
      ['report', 'cached'],
    ]);
    expect(executions(ws).slice(n).sort()).to.deep.equal(['shell@x', 'shell@y']);
  });

  it('--set TEMPLATE.param re-runs every expansion; --set EXPANSION.param that one; a matrix key is refused', async () => {
    const all = await ws.run(['run', '--dry-run', '--json', '--set', 'fit.scale=3']);
    expect(all.exitCode, all.stderr).to.equal(0);
    const actions = (j: { stages: { name: string; action: string }[] }) => Object.fromEntries(j.stages.map((s) => [s.name, s.action]));
    expect(FITS.map((f) => actions(all.json)[f])).to.deep.equal(['run', 'run', 'run', 'run']);
    expect(reasonFields(all.json)['fit-b-0.5']).to.deep.equal([{ code: 'param-changed', name: 'scale', from: 2, to: 3 }]);
    const one = await ws.run(['run', '--dry-run', '--json', '--set', 'fit-b-0.5.scale=3', '--set', 'fit.scale=2']);
    expect(FITS.map((f) => actions(one.json)[f])).to.deep.equal(['fresh', 'fresh', 'fresh', 'run']);
    const key = await ws.run(['run', '--set', 'fit.alpha=1']);
    expect(key.exitCode).to.equal(2);
    expect(key.stderr).to.equal(
      'error: pipeline.yaml:11:7: --set fit.alpha=1: `alpha` is a matrix key of template `fit` (4 expansions); its values are the list under `matrix:`, not a param to set\n' +
        'hint: edit the list of `alpha` in `matrix:` to change which values run; to run some of them, name their stages (`pipeline run fit-a-0.1`)\n',
    );
  });

  it('fingerprint TEMPLATE prints each expansion\'s; fingerprint EXPANSION prints its own alone', async () => {
    const all = await ws.run(['fingerprint', 'fit']);
    expect(all.exitCode, all.stderr).to.equal(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split('  ')[1])).to.deep.equal(FITS);
    for (const l of lines) expect(l).to.match(/^[0-9a-f]{64} {2}\S+$/);
    const one = await ws.run(['fingerprint', 'fit-a-0.5']);
    expect(one.stdout).to.equal(`${lines[2].split('  ')[0]}\n`);
    expect(ws.lock().stages['fit-a-0.5'].fingerprint).to.equal(lines[2].split('  ')[0]);
  });

  it('dag shows every expansion, grouped under its template in json, mermaid and dot', async () => {
    const json = JSON.parse((await ws.run(['dag', '--format', 'json'])).stdout);
    expect(json.nodes).to.deep.equal(['prepare', ...FITS, 'shell@x', 'shell@y', 'report']);
    expect(json.templates).to.deep.equal({ fit: FITS, shell: ['shell@x', 'shell@y'] });
    expect(json.edges).to.deep.include.members([['prepare', 'fit-b-0.5'], ['fit-b-0.5', 'report'], ['shell@y', 'report']]);
    expect(json.edges).to.not.deep.include(['shell@x', 'report']);
    const mermaid = (await ws.run(['dag', '--format', 'mermaid'])).stdout;
    expect(mermaid).to.contain(
      '  subgraph s_template_fit["fit"]\n    s_fit_a_0_1["fit-a-0.1"]\n    s_fit_b_0_1["fit-b-0.1"]\n    s_fit_a_0_5["fit-a-0.5"]\n    s_fit_b_0_5["fit-b-0.5"]\n  end\n',
    );
    expect(mermaid).to.contain('  subgraph s_template_shell["shell"]\n    s_shell_x["shell@x"]\n    s_shell_y["shell@y"]\n  end\n');
    expect(mermaid).to.contain('  s_shell_y --> s_report\n');
    const dot = (await ws.run(['dag', '--format', 'dot'])).stdout;
    expect(dot).to.contain('  subgraph cluster_1 {\n    label="shell";\n    style=dashed;\n    "shell@x";\n    "shell@y";\n  }\n');
    expect(dot).to.contain('  "shell@y" -> "report";\n');
    const ascii = (await ws.run(['dag'])).stdout;
    for (const n of [...FITS, 'shell@x', 'shell@y']) expect(ascii).to.contain(`| ${n} |`);
    const valid = await ws.run(['validate']);
    expect(valid.stdout).to.equal(`${ws.path('pipeline.yaml')}: valid, 8 stages (prepare, shell@x, shell@y → fit-a-0.1, fit-b-0.1, fit-a-0.5, fit-b-0.5 → report)\n`);
  });

  it('an unknown name is a usage error that lists the templates with their expansions', async () => {
    const r = await ws.run(['run', 'fitt']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.equal(
      `error: unknown stage \`fitt\` (did you mean \`fit\`?)\nhint: stages in ${ws.path('pipeline.yaml')}: prepare, fit (${FITS.join(', ')}), shell (shell@x, shell@y), report\n`,
    );
  });

  it('push TEMPLATE and pull TEMPLATE move the results of its expansions', async () => {
    const remote = mkdtempSync(path.join(os.tmpdir(), 'pipeline-templates-remote-'));
    try {
      const env = { PIPELINE_REMOTE: remote };
      const push = await ws.run(['push', 'shell'], { env });
      expect(push.exitCode, push.stderr).to.equal(0);
      // Each expansion's out, their log (both empty: one object), and each one's run record.
      expect(push.stdout).to.match(/^pushed 3 objects \([0-9.]+ MiB\) and 2 run records to /);
      ws.remove('build/n-x.txt');
      ws.remove('build/n-y.txt');
      const pull = await ws.run(['pull', 'shell@x'], { env: { ...env, PIPELINE_CACHE_DIR: path.join(ws.base, 'other-cache') } });
      expect(pull.exitCode, pull.stderr).to.equal(0);
      expect(pull.stdout).to.match(/restored 1 out\(s\) in the workspace\n$/);
      expect(ws.read('build/n-x.txt')).to.equal('x\n');
      expect(ws.exists('build/n-y.txt')).to.equal(false);
    } finally {
      rmSync(remote, { recursive: true, force: true });
    }
  });

  it('a value added to the matrix runs its new expansion, and what needs the template; the others stay fresh', async () => {
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    const n = executions(ws).length;
    ws.write('pipeline.yaml', YAML.replace('kind: [a, b]', 'kind: [a, b, c]'));
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(executions(ws).slice(n)).to.deep.equal(['fit-c-0.1', 'fit-c-0.5', 'report']);
    expect(Object.keys(JSON.parse(ws.read('build/report.json')))).to.deep.equal(['fit-a-0.1', 'fit-b-0.1', 'fit-c-0.1', 'fit-a-0.5', 'fit-b-0.5', 'fit-c-0.5', 'shell@y']);
    expect(ws.lock().stages['fit-c-0.5'].template).to.deep.equal({ name: 'fit', matrix: { alpha: 0.5, kind: 'c' } });
  });
});

describe('engine: matrix values are typed by the module\'s params schema', function () {
  const SCHEMA_TS = `import { writeFileSync } from 'node:fs';
import { z } from 'zod';
export const params = z.object({ bits: z.number().int().min(2).max(16), bias: z.boolean() });
export default async function (ctx: any): Promise<void> {
  writeFileSync(Object.values(ctx.outs)[0] as string, JSON.stringify(ctx.params) + '\\n');
}
`;
  const yaml = (bits: string) => `version: 1
params: {seed: 1}
stages:
  q:
    module: mod/q.ts
    matrix:
      bits: ${bits}
    name: q-\${bits}
    params: {bias: true}
    outs: ["build/q\${bits}.json"]
`;
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: yaml('[8, 17, 4.5]'), files: { 'mod/q.ts': SCHEMA_TS } });
    symlinkSync(path.join(repoRoot, 'node_modules'), ws.path('node_modules'));
  });
  after(() => ws.cleanup());

  it('a value the schema refuses exits 2 before anything runs, at that value; a template --set of a wrong type once', async () => {
    const r = await ws.run(['validate', '--json']);
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.json.diagnostics.map((d: { code: string; line: number; col: number; message: string }) => [d.code, `${d.line}:${d.col}`, d.message])).to.deep.equal([
      ['param-type', '7:17', 'stage `q`: param `bits` is 17; expected a whole number from 2 to 16'],
      ['param-type', '7:21', 'stage `q`: param `bits` is 4.5; expected a whole number from 2 to 16'],
    ]);
    ws.write('pipeline.yaml', yaml('[8, 4]'));
    const set = await ws.run(['run', '--set', 'q.bias=yes']);
    expect(set.exitCode).to.equal(2);
    expect(set.stderr).to.equal(
      'error: --set q.bias=yes:1:14: stage `q`: param `bias` is "yes"; expected true or false\n' +
        'hint: set a value of that type (--set q.bias=yes); the type is the `params` schema of mod/q.ts\n',
    );
    expect(ws.exists('build')).to.equal(false);
  });

  it('the module gets exactly the params its schema reads: the matrix value among them, the global seed not', async () => {
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(JSON.parse(ws.read('build/q4.json'))).to.deep.equal({ bits: 4, bias: true });
  });
});
