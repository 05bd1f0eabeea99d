// Import resolution is an input of a module stage: what esbuild would pick for each import, not only the files it
// picked last time. A file created where the resolver looks first (`helper.ts` beside `helper.js`, `lib.js` beside
// `lib.ts` for `./lib.js`, `util.ts` beside `util/`, a nearer node_modules folder, a tsconfig alias target) changes
// the stage's code, with a reason naming the files, whether the run is decided in full or answered by stat.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { RACY_NS } from '../../runner/store/stat-cache.js';
import { makeWorkspace, waitPastRacyWindow, type Workspace } from '../helpers/workspace.js';
import { reasonFields, statuses } from './fixtures.js';

/** A module stage writing what `value` (imported from SPEC) is. */
const stage = (spec: string, name = 'value') => `import { writeFileSync } from 'node:fs';
import { ${name} } from '${spec}';
export default (ctx: { outs: Record<string, string> }) => { writeFileSync(ctx.outs['out.txt'], String(${name})); };
`;

const yaml = (module = 'mod/stage.ts') => `version: 1
stages:
  m:
    module: ${module}
    outs: [out.txt]
`;

/** Code entries of the stage in pipeline.lock, without the toolchain. */
const codeOf = (ws: Workspace) => Object.keys(ws.lock().stages.m.code).filter((k) => !/^(toolchain|package):/.test(k));

describe('engine: import resolution is part of a module stage’s code', function () {
  let ws: Workspace;
  afterEach(() => ws?.cleanup());

  /** run --json: the stage's status, its reasons, and what it wrote. */
  const run = async () => {
    const r = await ws.runJson();
    expect(r.exitCode, r.stderr).to.equal(0);
    return { status: statuses(r.json).m, reasons: reasonFields(r.json).m, out: ws.read('out.txt') };
  };

  it('`./helper` → helper.js; a new helper.ts (tried first) re-runs the stage, naming both files', async () => {
    ws = makeWorkspace({ yaml: yaml(), files: { 'mod/stage.ts': stage('./helper'), 'mod/helper.js': 'export const value = "js";\n' } });
    expect((await run()).out).to.equal('js');
    expect((await run()).status).to.equal('cached');
    ws.write('mod/helper.ts', 'export const value: string = "ts";\n');
    const s = await ws.run(['status', '--json']);
    expect(s.json.stages[0].state).to.equal('stale');
    expect(await run()).to.deep.equal({
      status: 'ran',
      reasons: [
        { code: 'code-added', file: 'mod/helper.ts' },
        { code: 'code-removed', file: 'mod/helper.js' },
      ],
      out: 'ts',
    });
    expect(codeOf(ws)).to.deep.equal(['mod/stage.ts', 'mod/helper.ts']);
    expect((await run()).status).to.equal('cached');
    // And back: without it, the import means helper.js again, whose result the run-cache holds.
    ws.remove('mod/helper.ts');
    const back = await run();
    expect(back.out).to.equal('js');
    expect(back.reasons).to.deep.include({ code: 'code-added', file: 'mod/helper.js' });
  });

  it('`./lib.js` → lib.ts (TypeScript’s rewriting); a real lib.js, and then lib.js.ts, each take over', async () => {
    ws = makeWorkspace({ yaml: yaml(), files: { 'mod/stage.ts': stage('./lib.js'), 'mod/lib.ts': 'export const value: string = "ts";\n' } });
    expect((await run()).out).to.equal('ts');
    ws.write('mod/lib.js.ts', 'export const value: string = "js.ts";\n');
    expect(await run()).to.deep.equal({
      status: 'ran',
      reasons: [
        { code: 'code-added', file: 'mod/lib.js.ts' },
        { code: 'code-removed', file: 'mod/lib.ts' },
      ],
      out: 'js.ts',
    });
    ws.write('mod/lib.js', 'export const value = "js";\n');
    expect(await run()).to.deep.include({ status: 'ran', out: 'js' });
    expect(codeOf(ws)).to.deep.equal(['mod/stage.ts', 'mod/lib.js']);
  });

  it('a folder import: a file beside the folder, then package.json `main` inside it, change what it means', async () => {
    ws = makeWorkspace({ yaml: yaml(), files: { 'mod/stage.ts': stage('./util'), 'mod/util/index.js': 'export const value = "index";\n', 'mod/util/main.js': 'export const value = "main";\n' } });
    expect((await run()).out).to.equal('index');
    ws.write('mod/util/package.json', '{"main": "main.js"}\n');
    expect(await run()).to.deep.equal({
      status: 'ran',
      reasons: [
        { code: 'code-added', file: 'mod/util/main.js' },
        { code: 'code-added', file: 'mod/util/package.json' },
        { code: 'code-removed', file: 'mod/util/index.js' },
      ],
      out: 'main',
    });
    // The package.json that steered the import is code: pointing `main` elsewhere re-runs the stage.
    ws.write('mod/util/package.json', '{"main": "index.js"}\n');
    expect(await run()).to.deep.include({ status: 'ran', out: 'index' });
    ws.write('mod/util.jsx', 'export const value = "file";\n');
    expect(await run()).to.deep.include({ status: 'ran', out: 'file' });
  });

  it('a package: a node_modules folder nearer the importing file takes over; its version names the change', async () => {
    const pkg = (version: string, value: string) => ({
      [`package.json`]: JSON.stringify({ name: 'dep', version, main: 'index.js' }),
      [`index.js`]: `exports.value = ${JSON.stringify(value)};\n`,
    });
    const files: Record<string, string> = { 'mod/stage.ts': stage('dep') };
    for (const [f, text] of Object.entries(pkg('1.0.0', 'root'))) files[`node_modules/dep/${f}`] = text;
    ws = makeWorkspace({ yaml: yaml(), files });
    expect((await run()).out).to.equal('root');
    for (const [f, text] of Object.entries(pkg('2.0.0', 'near'))) ws.write(`mod/node_modules/dep/${f}`, text);
    expect(await run()).to.deep.equal({ status: 'ran', reasons: [{ code: 'code-changed', file: 'package:dep' }], out: 'near' });
  });

  it('an import it does not follow (a tsconfig `paths` alias): read again on every run, the tsconfig.json is code', async () => {
    ws = makeWorkspace({
      yaml: yaml(),
      files: {
        'tsconfig.json': JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '@lib/*': ['lib/*'] } } }),
        'mod/stage.ts': stage('@lib/x'),
        'lib/x.ts': 'export const value: string = "x.ts";\n',
      },
    });
    expect((await run()).out).to.equal('x.ts');
    expect(codeOf(ws)).to.deep.equal(['mod/stage.ts', 'lib/x.ts', 'tsconfig.json']);
    expect((await run()).status).to.equal('cached');
    ws.write('lib/x.tsx', 'export const value: string = "x.tsx";\n');
    expect(await run()).to.deep.equal({
      status: 'ran',
      reasons: [
        { code: 'code-added', file: 'lib/x.tsx' },
        { code: 'code-removed', file: 'lib/x.ts' },
      ],
      out: 'x.tsx',
    });
  });

  it('a tsconfig.json created above the module, whose alias now captures a package import, is seen', async () => {
    ws = makeWorkspace({
      yaml: yaml(),
      files: { 'mod/stage.ts': stage('dep'), 'node_modules/dep/package.json': '{"name":"dep","version":"1.0.0"}', 'node_modules/dep/index.js': 'exports.value = "package";\n', 'lib/dep.ts': 'export const value: string = "alias";\n' },
    });
    expect((await run()).out).to.equal('package');
    ws.write('tsconfig.json', JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { dep: ['lib/dep.ts'] } } }));
    const after = await run();
    expect(after).to.deep.include({ status: 'ran', out: 'alias' });
    expect(after.reasons).to.deep.include({ code: 'code-added', file: 'lib/dep.ts' });
  });

  it('a file imported from outside the workspace is code too, by content, and so is a candidate beside it', async () => {
    ws = makeWorkspace({ yaml: yaml(), files: { 'mod/stage.ts': stage('../../shared/x') } });
    const shared = path.join(ws.base, 'shared');
    mkdirSync(shared);
    writeFileSync(path.join(shared, 'x.js'), 'export const value = "one";\n');
    expect((await run()).out).to.equal('one');
    expect(codeOf(ws)).to.deep.equal(['mod/stage.ts', '../shared/x.js']);
    writeFileSync(path.join(shared, 'x.js'), 'export const value = "two";\n');
    expect(await run()).to.deep.equal({ status: 'ran', reasons: [{ code: 'code-changed', file: '../shared/x.js' }], out: 'two' });
    writeFileSync(path.join(shared, 'x.ts'), 'export const value: string = "three";\n');
    expect(await run()).to.deep.include({ status: 'ran', out: 'three' });
  });

  it('a plain run answered by stat is not answered once a file the resolution tried first exists', async function () {
    this.timeout(120_000);
    ws = makeWorkspace({ yaml: yaml(), files: { 'mod/stage.ts': stage('./helper'), 'mod/helper.js': 'export const value = "js";\n' } });
    const log = path.join(os.tmpdir(), `pipeline-resolution-${process.pid}-${Date.now()}.log`);
    const answered = async () => {
      const before = existsSync(log) ? readFileSync(log, 'utf8').length : 0;
      const r = await ws.run(['run'], { env: { PIPELINE_FRESH_LOG: log } });
      expect(r.exitCode, r.stderr).to.equal(0);
      return { answered: (existsSync(log) ? readFileSync(log, 'utf8').length : 0) > before, stdout: r.stdout };
    };
    try {
      await answered();
      await waitPastRacyWindow(ws.dir, RACY_NS);
      await answered(); // writes the record
      expect((await answered()).answered, 'the no-op is answered by stat').to.equal(true);
      ws.write('mod/helper.ts', 'export const value: string = "ts";\n');
      const next = await answered();
      expect(next.answered).to.equal(false);
      expect(next.stdout).to.match(/^m +ran .*new code `mod\/helper\.ts`/m);
      expect(ws.read('out.txt')).to.equal('ts');
    } finally {
      rmSync(log, { force: true });
    }
  });
});
