// `module:` stages: a TypeScript file default-exporting an async function, run through the host with a typed
// context; its code is the module and every local module it imports.
import { expect } from 'chai';
import { STAGE_SCRIPT, executions, makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { causeOf, reasonFields, reasons, statuses, statusReasons } from './fixtures.js';

const STAGE_TS = `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { summarize } from './lib.js';

// The stage: count the lines of its input and record alpha.
export default async function (ctx: any): Promise<void> {
  appendFileSync(\`\${ctx.workspace}/runs.log\`, \`\${ctx.stage} 0 0\\n\`);
  if (ctx.params.alpha < 0) throw new Error(\`alpha must be >= 0, got \${ctx.params.alpha}\`);
  const text = readFileSync(ctx.inputs.prepare['build/clean.txt'], 'utf8');
  writeFileSync(ctx.outs['build/m.json'], JSON.stringify(summarize(text, ctx.params.alpha)) + '\\n');
  ctx.log.info(\`wrote \${Object.keys(ctx.outs).join(', ')} for \${ctx.stage}\`);
}
`;

const LIB_TS = `export function summarize(text: string, alpha: number): { lines: number; alpha: number } {
  return { lines: text.split('\\n').length - 1, alpha };
}
`;

const YAML = `version: 1
stages:
  prepare:
    cmd: node stage.js build/clean.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/clean.txt]
  fit:
    module: mod/stage.ts
    needs: [prepare]
    params: {alpha: 0.1}
    outs: [build/m.json]
  after:
    cmd: node stage.js build/after.txt build/m.json
    needs: [fit]
    deps: [stage.js]
    outs: [build/after.txt]
`;

describe('engine: module stages', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: YAML, files: { 'stage.js': STAGE_SCRIPT, 'mod/stage.ts': STAGE_TS, 'mod/lib.ts': LIB_TS, 'data/raw.txt': 'a\nb\nc\n' } });
  });
  after(() => ws.cleanup());

  it('runs with params, input and out paths from the context; its log lines are shown', async () => {
    const r = await ws.run(['run']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.read('build/m.json')).to.equal('{"lines":3,"alpha":0.1}\n');
    expect(ws.read('build/after.txt')).to.equal('{"lines":3,"alpha":0.1}\n');
    expect(r.stdout).to.include('  │ wrote build/m.json for fit\n');
    expect(executions(ws)).to.deep.equal(['prepare', 'fit', 'after']);
    expect(Object.keys(ws.lock().stages.fit.code).filter((k) => !/^(toolchain|package):/.test(k))).to.deep.equal(['mod/stage.ts', 'mod/lib.ts']);
  });

  it('a comment-only edit re-runs the module; its downstream stays cached (same output bytes)', async () => {
    ws.write('mod/stage.ts', STAGE_TS.replace('// The stage:', '// This stage:'));
    const s = await ws.run(['status', '--json']);
    expect(statusReasons(s.json).fit).to.deep.equal(['stale', [{ code: 'code-changed', file: 'mod/stage.ts' }]]);
    const n = executions(ws).length;
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'cached', fit: 'ran', after: 'cached' });
    expect(reasonFields(r.json)).to.deep.equal({ prepare: [{ code: 'up-to-date' }], fit: [{ code: 'code-changed', file: 'mod/stage.ts' }], after: [{ code: 'up-to-date' }] });
    expect(executions(ws).slice(n)).to.deep.equal(['fit']);
  });

  it('editing a local module it imports re-runs it, and its downstream when the output changes', async () => {
    ws.write('mod/lib.ts', LIB_TS.replace('return { lines', 'return { lines: 0 + text.split("\\n").length - 1, alpha: alpha * 2 };\n  return { lines'));
    const s = await ws.run(['status', '--json']);
    expect(statusReasons(s.json).fit).to.deep.equal(['stale', [{ code: 'code-changed', file: 'mod/lib.ts' }]]);
    const n = executions(ws).length;
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'cached', fit: 'ran', after: 'ran' });
    expect(reasonFields(r.json)).to.deep.equal({ prepare: [{ code: 'up-to-date' }], fit: [{ code: 'code-changed', file: 'mod/lib.ts' }], after: [{ code: 'upstream-changed', stage: 'fit' }] });
    expect(executions(ws).slice(n)).to.deep.equal(['fit', 'after']);
    expect(ws.read('build/m.json')).to.equal('{"lines":3,"alpha":0.2}\n');
  });

  it('a new local import becomes part of its code', async () => {
    ws.write('mod/extra.ts', 'export const EXTRA = 1;\n');
    ws.write('mod/lib.ts', `import { EXTRA } from './extra.js';\n${LIB_TS.replace('alpha };', 'alpha: alpha * EXTRA };')}`);
    const s = await ws.run(['status', '--json']);
    expect(statusReasons(s.json).fit).to.deep.equal(['stale', [{ code: 'code-added', file: 'mod/extra.ts' }, { code: 'code-changed', file: 'mod/lib.ts' }]]);
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.read('build/m.json')).to.equal('{"lines":3,"alpha":0.1}\n');
    expect(Object.keys(ws.lock().stages.fit.code).filter((k) => !/^(toolchain|package):/.test(k))).to.deep.equal(['mod/stage.ts', 'mod/extra.ts', 'mod/lib.ts']);
  });

  it('an error thrown by the module fails the stage with its message and its place in the source as the reason', async () => {
    const before = ws.read('build/m.json');
    const r = await ws.run(['run', '--json', '--set', 'fit.alpha=-1']);
    expect(r.exitCode).to.equal(1);
    expect(statuses(r.json)).to.deep.equal({ prepare: 'cached', fit: 'failed', after: 'blocked' });
    expect(reasons(r.json).fit).to.equal('alpha must be >= 0, got -1 (at mod/stage.ts:7:35)');
    expect(causeOf(r.json, 'fit')).to.deep.equal({
      kind: 'exit',
      exitCode: 1,
      at: 'mod/stage.ts:7:35',
      stack: 'Error: alpha must be >= 0, got -1\n    at Module.stage_default (mod/stage.ts:7:35)\n',
    });
    expect(ws.read('build/m.json')).to.equal(before);
  });

  it('--verbose replays the captured output of a cached stage', async () => {
    const quiet = await ws.run(['run']);
    expect(quiet.exitCode, quiet.stderr).to.equal(0);
    expect(quiet.stdout).to.not.include('│');
    const r = await ws.run(['run', '--verbose']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^fit +cached +[\d.]+m?s {2}up to date\n {2}│ wrote build\/m\.json for fit\n/m);
  });

  it('a module that does not compile: the stage fails with file:line:col, its outputs and its downstream untouched', async () => {
    const before = ws.snapshot('build');
    const good = ws.read('mod/lib.ts');
    ws.write('mod/lib.ts', 'export function summarize( {\n');
    try {
      const r = await ws.run(['run', '--json']);
      expect(r.exitCode).to.equal(1);
      expect(statuses(r.json)).to.deep.equal({ prepare: 'cached', fit: 'failed', after: 'blocked' });
      expect(causeOf(r.json, 'fit')).to.deep.equal({ kind: 'module-error' });
      expect(reasons(r.json).fit).to.equal('mod/lib.ts:2:1: cannot build module `mod/stage.ts`: Expected identifier but found end of file');
      expect(ws.snapshot('build')).to.deep.equal(before);
    } finally {
      ws.write('mod/lib.ts', good);
    }
  });

  it('an import that resolves nowhere: the failure says which fix applies (a package to install, a path to correct)', async () => {
    const good = ws.read('mod/lib.ts');
    const cases: [string, string][] = [
      ["import pad from '@acme/pad/sub';\n", '(`npm install @acme/pad` if it is missing, or correct the import)'],
      ["import pad from './no-such.js';\n", "(correct the import: no file `./no-such.js` from the importing module's folder)"],
    ];
    try {
      for (const [line, remedy] of cases) {
        ws.write('mod/lib.ts', `${line}${good.replace('return {', 'void pad;\n  return {')}`);
        const r = await ws.run(['run', '--json']);
        expect(r.exitCode).to.equal(1);
        expect(causeOf(r.json, 'fit')).to.deep.equal({ kind: 'module-error' });
        expect(reasons(r.json).fit).to.match(/^mod\/lib\.ts:1:\d+: cannot build module `mod\/stage\.ts`: Could not resolve "[^"]+" /);
        expect(reasons(r.json).fit.endsWith(remedy), reasons(r.json).fit).to.equal(true);
        const f = await ws.run(['fingerprint', 'fit']);
        expect(f.exitCode).to.equal(2);
        expect(f.stderr).to.include(remedy);
      }
    } finally {
      ws.write('mod/lib.ts', good);
    }
  });
});
