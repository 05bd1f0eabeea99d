// Checks JSON Schema cannot carry (`.refine()`, `.superRefine()`, async refinements) in a module's `params` schema
// are checked before anything runs, like types: the params probe checks each (code, values) pair with the module's
// own zod schema, and remembers the answer, so an unchanged run starts no probe.
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { makeWorkspace, repoRoot, type Workspace } from '../helpers/workspace.js';

type D = { code: string; file: string; line: number; col: number; message: string };
const shown = (r: { json?: { diagnostics: D[] } }) => (r.json?.diagnostics ?? []).map((d) => [d.code, `${d.file}:${d.line}:${d.col}`, d.message]);

/** A stage module with this schema; every import of it appends the importing script's name to imports.log. */
const stageModule = (schema: string, log: string) => `import { appendFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
appendFileSync(${JSON.stringify(log)}, (process.argv[1] ?? '').split('/').pop() + '\\n');
export const params = ${schema};
export default async function (ctx: any): Promise<void> {
  appendFileSync(\`\${ctx.workspace}/runs.log\`, \`\${ctx.stage}\\n\`);
  writeFileSync(Object.values(ctx.outs)[0] as string, JSON.stringify(ctx.params) + '\\n');
}
`;

const RANGE = "z.object({ lo: z.number(), hi: z.number() }).refine((p) => p.lo < p.hi, { message: 'lo must be below hi' })";
const EVEN = "z.object({ n: z.number().refine((n) => n % 2 === 0, 'must be even'), m: z.number().refine(async (m) => m > 0, 'must be positive').optional(), s: z.string().optional() })";
const THROWS = "z.object({ k: z.number().refine((k) => { if (k > 1) throw new Error('no table for k'); return true; }) })";

function workspace(yaml: string, modules: Record<string, string>): Workspace {
  const ws = makeWorkspace({ yaml, files: {} });
  for (const [name, schema] of Object.entries(modules)) ws.write(`mod/${name}.ts`, stageModule(schema, ws.path('imports.log')));
  symlinkSync(path.join(repoRoot, 'node_modules'), ws.path('node_modules'));
  return ws;
}

const RANGE_YAML = (lo: number, hi: number) => `version: 1
params:
  lo: ${lo}
stages:
  r:
    module: mod/r.ts
    params:
      hi: ${hi}
    outs: [build/r.json]
`;

describe('engine: params checks JSON Schema cannot carry (.refine)', function () {
  it('a whole-object .refine the values fail: validate and run exit 2 with its message and the values, nothing runs', async () => {
    const ws = workspace(RANGE_YAML(5, 1), { r: RANGE });
    try {
      const v = await ws.run(['validate', '--json']);
      expect(v.exitCode, v.stderr).to.equal(2);
      expect(shown(v)).to.deep.equal([['param-check', 'pipeline.yaml:7:5', 'stage `r`: params lo=5, hi=1 fail the check of mod/r.ts: lo must be below hi']]);
      const before = ws.snapshot('.', ['.pipeline', 'imports.log']);
      const r = await ws.run(['run']);
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.equal(
        'error: pipeline.yaml:7:5: stage `r`: params lo=5, hi=1 fail the check of mod/r.ts: lo must be below hi\n' +
          'hint: change the values so that they pass; the check is the `params` schema of mod/r.ts\n',
      );
      expect(ws.snapshot('.', ['.pipeline', 'imports.log'])).to.deep.equal(before);
      expect(ws.exists('runs.log')).to.equal(false);
      expect(ws.lines('imports.log').every((l) => l === 'params-probe.js')).to.equal(true);
    } finally {
      ws.cleanup();
    }
  });

  it('values from --set that fail it name the argument; a valid pair runs; a no-op run and validate start no probe', async () => {
    const ws = workspace(RANGE_YAML(1, 5), { r: RANGE });
    try {
      const bad = await ws.run(['run', '--set', 'r.hi=1']);
      expect(bad.exitCode).to.equal(2);
      expect(bad.stderr).to.equal(
        'error: --set r.hi=1:1:12: stage `r`: params lo=1, hi=1 (--set r.hi=1) fail the check of mod/r.ts: lo must be below hi\n' +
          'hint: change the values so that they pass; the check is the `params` schema of mod/r.ts\n',
      );
      expect(ws.exists('runs.log')).to.equal(false);
      const global = await ws.run(['validate', '--json', '--set', 'lo=9']);
      expect(global.exitCode).to.equal(2);
      expect(shown(global)).to.deep.equal([['param-check', '--set lo=9:1:10', 'stage `r`: params lo=9 (--set lo=9), hi=5 fail the check of mod/r.ts: lo must be below hi']]);

      ws.remove('imports.log');
      const ok = await ws.run(['run']);
      expect(ok.exitCode, ok.stderr).to.equal(0);
      expect(ws.lines('runs.log')).to.deep.equal(['r']);
      expect(JSON.parse(ws.read('build/r.json'))).to.deep.equal({ lo: 1, hi: 5 });
      // The schema was known, the values not: one probe checked them, then the stage's host imported the module.
      expect(ws.lines('imports.log').filter((l) => l === 'params-probe.js')).to.have.length(1);

      // Unchanged: no probe, whether the fresh record answers or not; known-bad values are not probed again either.
      ws.remove('imports.log');
      expect((await ws.run(['run'])).exitCode).to.equal(0);
      ws.remove('.pipeline/state/fresh.json');
      const again = await ws.run(['run']);
      expect(again.exitCode, again.stderr).to.equal(0);
      expect((await ws.run(['validate'])).exitCode).to.equal(0);
      expect((await ws.run(['validate', '--set', 'r.hi=1'])).exitCode).to.equal(2);
      expect(ws.lines('runs.log')).to.deep.equal(['r']);
      expect(ws.exists('imports.log')).to.equal(false);
    } finally {
      ws.cleanup();
    }
  });

  it('a field-level .refine (sync or async) is placed at the value; a matrix value per distinct value, a shared one once', async () => {
    const ws = workspace(
      `version: 1
stages:
  e:
    module: mod/e.ts
    params: {n: 3, m: -1}
    outs: [build/e.json]
  q:
    module: mod/e.ts
    matrix:
      n: [2, 3, 5]
      s: [a, b]
    name: q-\${n}-\${s}
    params: {m: -2}
    outs: ["build/q\${n}\${s}.json"]
`,
      { e: EVEN },
    );
    try {
      const v = await ws.run(['validate', '--json']);
      expect(v.exitCode, v.stderr).to.equal(2);
      expect(shown(v)).to.deep.equal([
        ['param-check', 'pipeline.yaml:5:17', 'stage `e`: param `n` is 3: must be even'],
        ['param-check', 'pipeline.yaml:5:23', 'stage `e`: param `m` is -1: must be positive'],
        // m=-2 is the template's, shared by its six expansions; n=3 is in two (q-3-a, q-3-b): each reported once.
        ['param-check', 'pipeline.yaml:13:17', 'stage `q`: param `m` is -2: must be positive'],
        ['param-check', 'pipeline.yaml:10:14', 'stage `q`: param `n` is 3: must be even'],
        ['param-check', 'pipeline.yaml:10:17', 'stage `q`: param `n` is 5: must be even'],
      ]);
      const set = await ws.run(['run', '--set', 'e.n=7', '--set', 'e.m=1', '--set', 'q.m=1']);
      expect(set.exitCode).to.equal(2);
      expect(set.stderr).to.include('error: --set e.n=7:1:11: stage `e`: param `n` is 7: must be even\n');
      expect(set.stderr).to.not.include('must be positive');
      expect(ws.exists('build')).to.equal(false);
      expect(ws.exists('runs.log')).to.equal(false);
    } finally {
      ws.cleanup();
    }
  });

  it('a whole-object check in a template: at each failing expansion\'s matrix value, once per distinct value', async () => {
    const ws = workspace(
      `version: 1
stages:
  w:
    module: mod/r.ts
    matrix:
      lo: [1, 5, 7]
      k: [a, b]
    name: w-\${lo}-\${k}
    params: {hi: 5}
    outs: ["build/w\${lo}\${k}.json"]
`,
      { r: "z.object({ lo: z.number(), hi: z.number(), k: z.string() }).refine((p) => p.lo < p.hi, { message: 'lo must be below hi' })" },
    );
    try {
      const v = await ws.run(['validate', '--json']);
      expect(v.exitCode, v.stderr).to.equal(2);
      // A check of the whole cannot say which values it read: each distinct set of values is one problem.
      expect(shown(v)).to.deep.equal([
        ['param-check', 'pipeline.yaml:6:15', 'stage `w`: params lo=5, hi=5, k="a" fail the check of mod/r.ts: lo must be below hi'],
        ['param-check', 'pipeline.yaml:6:15', 'stage `w`: params lo=5, hi=5, k="b" fail the check of mod/r.ts: lo must be below hi'],
        ['param-check', 'pipeline.yaml:6:18', 'stage `w`: params lo=7, hi=5, k="a" fail the check of mod/r.ts: lo must be below hi'],
        ['param-check', 'pipeline.yaml:6:18', 'stage `w`: params lo=7, hi=5, k="b" fail the check of mod/r.ts: lo must be below hi'],
      ]);
      expect(ws.lines('imports.log')).to.deep.equal(['params-probe.js']);
    } finally {
      ws.cleanup();
    }
  });

  it('a template of more than 500 distinct value sets: the second validate starts no probe (none is evicted)', async () => {
    const list = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(', ')}]`;
    const ws = workspace(
      `version: 1\nstages:\n  w:\n    module: mod/r.ts\n    matrix:\n      lo: ${list(26)}\n      k: ${list(20)}\n    name: w-\${lo}-\${k}\n    params: {hi: 99}\n    outs: ["build/w\${lo}-\${k}"]\n`,
      { r: "z.object({ lo: z.number(), hi: z.number(), k: z.number() }).refine((p) => p.lo < p.hi, { message: 'lo must be below hi' })" },
    );
    try {
      for (let i = 0; i < 2; i++) expect((await ws.run(['validate', '--json'])).exitCode).to.equal(0);
      expect(ws.lines('imports.log')).to.deep.equal(['params-probe.js']);
      expect((JSON.parse(ws.read('.pipeline/state/params.json')) as { checks: unknown[] }).checks).to.have.length(520);
    } finally {
      ws.cleanup();
    }
  });

  it('a check that throws is a diagnostic naming the module and the error, not an internal error; it is asked again', async () => {
    const ws = workspace(`version: 1\nstages:\n  t:\n    module: mod/t.ts\n    params: {k: 3}\n    outs: [build/t.json]\n`, { t: THROWS });
    try {
      for (let i = 0; i < 2; i++) {
        const v = await ws.run(['validate', '--json']);
        expect(v.exitCode, v.stderr).to.equal(2);
        expect(shown(v)).to.deep.equal([['param-check', 'pipeline.yaml:5:5', 'stage `t`: the `params` schema of mod/t.ts threw while checking k=3: no table for k']]);
      }
      expect(ws.lines('imports.log')).to.deep.equal(['params-probe.js', 'params-probe.js']);
      const r = await ws.run(['run']);
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.not.include('internal error');
      expect(ws.exists('build')).to.equal(false);
      expect((await ws.run(['run', '--set', 't.k=1'])).exitCode).to.equal(0);
    } finally {
      ws.cleanup();
    }
  });
});
