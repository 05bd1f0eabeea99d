// A `module:` stage's bundle carries the packages it imports statically (one file instead of a package's many);
// what cannot live in an ES module bundle stays an import of node_modules, and an edited package is bundled again.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { statuses } from './fixtures.js';

const esmPackage = (name: string, body: string) => ({
  [`node_modules/${name}/package.json`]: JSON.stringify({ name, version: '1.0.0', type: 'module', main: 'index.js' }),
  [`node_modules/${name}/index.js`]: body,
});

const cjsPackage = (name: string, files: Record<string, string>) => ({
  [`node_modules/${name}/package.json`]: JSON.stringify({ name, version: '2.0.0', main: 'index.js' }),
  ...Object.fromEntries(Object.entries(files).map(([f, text]) => [`node_modules/${name}/${f}`, text])),
});

const stage = (imports: string, value: string, out = 'out.txt') => `import { writeFileSync } from 'node:fs';
${imports}
export default async function (ctx: any): Promise<void> {
  writeFileSync(ctx.outs['${out}'], String(${value}));
}
`;

/** The bundles in .pipeline/build, by text. */
function bundles(ws: Workspace): string[] {
  const dir = ws.path('.pipeline/build');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

describe('engine: module bundles and the packages they import', function () {
  this.timeout(120_000);

  it('an ES module package imported statically is inside the bundle; its version is part of the code', async () => {
    const ws = makeWorkspace({
      yaml: 'version: 1\nstages:\n  m: {module: m.ts, outs: [out.txt]}\n',
      files: { 'm.ts': stage("import { shout } from 'esmpkg';", "shout('hi')"), ...esmPackage('esmpkg', 'export const shout = (s) => s.toUpperCase() + "!";\n') },
    });
    const r = await ws.run(['run', '-q']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.read('out.txt')).to.equal('HI!');
    const [bundle] = bundles(ws);
    expect(bundle).to.include('toUpperCase');
    expect(bundle).not.to.match(/from\s*["']esmpkg["']/);
    expect(ws.lock().stages.m.code['package:esmpkg']).to.equal('1.0.0');
    ws.cleanup();
  });

  it('an edited package keeps its version but is bundled again: a forced run uses the new code, a plain run stays cached', async () => {
    const ws = makeWorkspace({
      yaml: 'version: 1\nstages:\n  m: {module: m.ts, outs: [out.txt]}\n',
      files: { 'm.ts': stage("import { word } from 'linked';", 'word'), ...esmPackage('linked', "export const word = 'before';\n") },
    });
    expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
    expect(ws.read('out.txt')).to.equal('before');
    ws.write('node_modules/linked/index.js', "export const word = 'after, edited in place';\n");
    const plain = await ws.run(['run', '--json']);
    expect(statuses(plain.json)).to.deep.equal({ m: 'cached' });
    const forced = await ws.run(['run', '--force', '-q']);
    expect(forced.exitCode, forced.stderr).to.equal(0);
    expect(ws.read('out.txt')).to.equal('after, edited in place');
    ws.cleanup();
  });

  it('a CommonJS package that requires at run time, a package imported with import(), and a native addon stay imports', async () => {
    const ws = makeWorkspace({
      yaml: 'version: 1\nstages:\n  cjs: {module: cjs.ts, outs: [out.txt]}\n  lazy: {module: lazy.ts, outs: [lazy.txt]}\n  addon: {module: addon.ts, outs: [addon.txt]}\n',
      files: {
        'cjs.ts': stage("import { sep } from 'needsfs';", 'sep()'),
        ...cjsPackage('needsfs', { 'index.js': "const name = 'pa' + 'th';\nexports.sep = () => 'sep ' + require(name).sep;\n" }),
        'lazy.ts': `import { writeFileSync } from 'node:fs';
export default async function (ctx: any): Promise<void> {
  const { late } = await import('latepkg');
  writeFileSync(ctx.outs['lazy.txt'], late);
}
`,
        ...esmPackage('latepkg', "export const late = 'loaded when called';\n"),
        'addon.ts': stage("import { plain } from 'withaddon';", 'plain', 'addon.txt'),
        ...cjsPackage('withaddon', {
          'index.js': "exports.plain = 'no native call';\nexports.native = () => require('./binding.node');\n",
          'binding.node': 'not really a shared object',
        }),
      },
    });
    const r = await ws.run(['run', '-q']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    expect(ws.read('out.txt')).to.equal(`sep ${path.sep}`);
    expect(ws.read('lazy.txt')).to.equal('loaded when called');
    expect(ws.read('addon.txt')).to.equal('no native call');
    const texts = bundles(ws).join('\n');
    expect(texts).to.match(/from\s*["']needsfs["']/);
    expect(texts).to.match(/import\(\s*["']latepkg["']\s*\)/);
    expect(texts).to.match(/from\s*["']withaddon["']/);
    ws.cleanup();
  });

  it('a package that reads a file beside its own (import.meta.url) stays an import and finds it', async () => {
    const ws = makeWorkspace({
      yaml: 'version: 1\nstages:\n  m: {module: m.ts, outs: [out.txt]}\n',
      files: {
        'm.ts': stage("import { words } from 'withdata';", 'words()'),
        ...esmPackage('withdata', "import { readFileSync } from 'node:fs';\nexport const words = () => readFileSync(new URL('./words.txt', import.meta.url), 'utf8').trim();\n"),
        'node_modules/withdata/words.txt': 'shipped beside the package\n',
      },
    });
    const r = await ws.run(['run', '-q']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    expect(ws.read('out.txt')).to.equal('shipped beside the package');
    expect(bundles(ws).join('\n')).to.match(/from\s*["']withdata["']/);
    ws.cleanup();
  });

  it('modules built together on a cold start: one that does not compile fails alone, with its position', async () => {
    const ws = makeWorkspace({
      yaml: 'version: 1\nstages:\n  good: {module: good.ts, outs: [out.txt]}\n  bad: {module: bad.ts, outs: [bad.txt]}\n',
      files: {
        'good.ts': stage("import { shout } from 'esmpkg';", "shout('ok')"),
        'bad.ts': 'export default async function (ctx: any) {\n  const x = ;\n}\n',
        ...esmPackage('esmpkg', 'export const shout = (s) => s.toUpperCase();\n'),
      },
    });
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode).to.equal(1);
    expect(statuses(r.json)).to.deep.equal({ good: 'ran', bad: 'failed' });
    expect(ws.read('out.txt')).to.equal('OK');
    expect(JSON.stringify(r.json)).to.include('bad.ts:2:');
    expect(JSON.stringify(r.json)).not.to.include('good.ts`');
    ws.cleanup();
  });
});
