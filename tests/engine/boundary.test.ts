// The boundary between the engine (runner/) and the code it runs (stages/, any workspace's modules): workspace
// code reaches the engine only through the package's public entries (`pipeline-dag/stage`, `/command`, `/report`),
// a module stage's code never holds an engine file, so editing the engine changes no stage's fingerprint.
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import ts from 'typescript';
import { parse } from 'yaml';
import { GateVerdict as SourceGateVerdict, isGateVerdict } from '../../runner/public/stage.js';
import { CommandError as SourceCommandError } from '../../runner/public/command.js';
import { GateVerdict as PackageGateVerdict } from 'pipeline-dag/stage';
import { CommandError as PackageCommandError } from 'pipeline-dag/command';
import { makeWorkspace, repoRoot, type Workspace } from '../helpers/workspace.js';

/** Every module specifier a TypeScript file names: imports and re-exports (type-only too), import(), require(), import types. */
export function moduleSpecifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const literal = (node: ts.Node | undefined) => {
    if (node && ts.isStringLiteralLike(node)) found.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) literal(node.moduleReference.expression);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) literal(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const stagesDir = path.join(repoRoot, 'stages');
const runnerDir = path.join(repoRoot, 'runner');
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f))
    .sort();
}

/** A relative specifier as the file it names (`./x.js` is `./x.ts` in the sources). */
function resolveLocal(from: string, spec: string): string {
  const abs = path.resolve(path.dirname(from), spec);
  return abs.endsWith('.js') && !existsSync(abs) ? `${abs.slice(0, -3)}.ts` : abs;
}

const inside = (dir: string, file: string) => !path.relative(dir, file).startsWith('..');
const rel = (file: string) => path.relative(repoRoot, file).split(path.sep).join('/');

describe('engine boundary: what workspace code imports from the engine', function () {
  it('finds every kind of import, so a leak cannot hide behind `import type`, a re-export or import()', function () {
    const text = [
      "import type { A } from '../runner/a.js';",
      "import { B } from 'pipeline-dag/stage';",
      "export * from '../runner/c.js';",
      "export { D } from './d.js';",
      "const e = await import('../runner/e.js');",
      "type F = import('../runner/f.js').F;",
      "import G = require('../runner/g.js');",
      "// import { H } from '../runner/h.js';",
      "const s = \"import { I } from '../runner/i.js'\";",
    ].join('\n');
    expect(moduleSpecifiers('x.ts', text)).to.deep.equal([
      '../runner/a.js', 'pipeline-dag/stage', '../runner/c.js', './d.js', '../runner/e.js', '../runner/f.js', '../runner/g.js',
    ]);
  });

  it('no file under stages/ imports a file under runner/ except through `pipeline-dag/...`', function () {
    const leaks: string[] = [];
    const engineImports = new Set<string>();
    for (const file of tsFiles(stagesDir)) {
      for (const spec of moduleSpecifiers(file, readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.') || path.isAbsolute(spec)) {
          if (inside(runnerDir, resolveLocal(file, spec))) leaks.push(`${rel(file)} imports ${spec}`);
        } else if (spec === pkg.name || spec.startsWith(`${pkg.name}/`)) {
          engineImports.add(spec);
          if (!(`.${spec.slice(pkg.name.length)}` in pkg.exports)) leaks.push(`${rel(file)} imports ${spec}, which package.json does not export`);
        }
      }
    }
    expect(leaks).to.deep.equal([]);
    expect([...engineImports].sort()).to.deep.equal(['pipeline-dag/command', 'pipeline-dag/report', 'pipeline-dag/stage']);
  });

  it('the stage modules of pipeline.yaml, and every local module they import, use only `pipeline-dag/stage`', function () {
    const config = parse(readFileSync(path.join(repoRoot, 'pipeline.yaml'), 'utf8')) as { stages: Record<string, { module?: string }> };
    const modules = Object.values(config.stages).flatMap((s) => (s.module ? [path.join(repoRoot, s.module)] : []));
    expect(modules.length).to.be.greaterThan(0);
    const seen = new Set<string>();
    const engine = new Map<string, string>();
    const queue = [...modules];
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const spec of moduleSpecifiers(file, readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) queue.push(resolveLocal(file, spec));
        else if (spec === pkg.name || spec.startsWith(`${pkg.name}/`)) engine.set(`${rel(file)} → ${spec}`, spec);
      }
    }
    expect([...seen].filter((f) => !inside(stagesDir, f)).map(rel)).to.deep.equal([]);
    expect([...engine].filter(([, spec]) => spec !== 'pipeline-dag/stage').map(([k]) => k)).to.deep.equal([]);
    expect(engine.size, 'the gate imports GateVerdict').to.be.greaterThan(0);
  });

  it('the committed pipeline.lock lists no runner/ file in any stage\'s code', function () {
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'pipeline.lock'), 'utf8')) as { stages: Record<string, { code?: Record<string, string> }> };
    const stages = Object.entries(lock.stages);
    expect(stages.length).to.equal(7);
    for (const [name, entry] of stages) {
      const code = Object.keys(entry.code ?? {});
      expect(code.length, name).to.be.greaterThan(0);
      expect(code.filter((f) => !f.startsWith('stages/') && !/^(toolchain|package):/.test(f)), `${name}'s code`).to.deep.equal([]);
    }
  });
});

describe('engine boundary: errors recognised across copies of the public modules', function () {
  it('a GateVerdict from the compiled package and one from the sources are both verdicts, to either class', function () {
    expect(PackageGateVerdict).to.not.equal(SourceGateVerdict);
    const fromPackage = new PackageGateVerdict('R² 0.4 ≤ r2_min 0.5');
    const fromSource = new SourceGateVerdict('R² 0.4 ≤ r2_min 0.5');
    for (const v of [fromPackage, fromSource]) {
      expect(isGateVerdict(v)).to.equal(true);
      expect(v).to.be.instanceOf(SourceGateVerdict);
      expect(v).to.be.instanceOf(PackageGateVerdict);
      expect(v).to.be.instanceOf(Error);
      expect(v.name).to.equal('GateVerdict');
    }
    const impostor = Object.assign(new Error('R² 0.4'), { name: 'GateVerdict' });
    for (const v of [impostor, 'GateVerdict', null, undefined, { message: 'x' }]) {
      expect(isGateVerdict(v), inspect(v)).to.equal(false);
      expect(v instanceof SourceGateVerdict).to.equal(false);
    }
  });

  it('a CommandError carries its exit code and hint, and is recognised across copies', function () {
    const e = new PackageCommandError('build/x.json: missing', { hint: 'run the pipeline' });
    expect(e).to.be.instanceOf(SourceCommandError);
    expect([e.exitCode, e.hint, e.message]).to.deep.equal([2, 'run the pipeline', 'build/x.json: missing']);
    expect(new SourceCommandError('busy', { exitCode: 4 }).exitCode).to.equal(4);
    expect(new Error('x') instanceof PackageCommandError).to.equal(false);
  });
});

// A workspace that installs the engine like any dependency (node_modules/pipeline-dag), with a module stage that
// imports GateVerdict from it.
const GATE_TS = `import type { StageContext } from 'pipeline-dag/stage';
import { GateVerdict } from 'pipeline-dag/stage';
import { score } from './lib.js';

export default async function gate(ctx: StageContext): Promise<void> {
  const s = score(Number(ctx.params.value));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(ctx.outs['build/score.txt'], \`\${s}\\n\`);
  ctx.log.error('checking the score');
  if (s < Number(ctx.params.min)) throw new GateVerdict(\`score \${s} < min \${ctx.params.min}\`);
}
`;

const YAML = `version: 1
stages:
  check:
    module: mod/gate.ts
    gate: true
    params: {value: 3, min: 2}
    outs: [build/score.txt]
commands:
  score: mod/score-cli.ts
`;

// A workspace command that fails the way the engine's own commands do: message, hint, exit code.
const SCORE_CLI_TS = `import { CommandError, ExitCode, type CommandFunction } from 'pipeline-dag/command';

const score: CommandFunction = (ctx) => {
  if (ctx.argv[0] === undefined) throw new CommandError('score: which value? none given', { hint: 'run \\\`pipeline score 3\\\`' });
  if (ctx.argv[0] === 'busy') throw new CommandError('score: busy', { exitCode: ExitCode.busy });
  ctx.stdout.write(\`\${Number(ctx.argv[0]) * 2}\\n\`);
  return ExitCode.ok;
};
export default score;
`;

describe('engine boundary: a workspace with the engine installed as a package', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({
      yaml: YAML,
      files: { 'mod/gate.ts': GATE_TS, 'mod/lib.ts': 'export const score = (v: number): number => v * 2;\n', 'mod/score-cli.ts': SCORE_CLI_TS },
    });
    mkdirSync(ws.path('node_modules'));
    symlinkSync(repoRoot, ws.path('node_modules/pipeline-dag'), 'dir');
  });
  after(() => ws.cleanup());

  it('runs the stage; its code is the workspace\'s files only', async function () {
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
    expect(ws.read('build/score.txt')).to.equal('6\n');
    // Its code: the workspace's files, and the toolchain entries (Node major, platform, imported packages).
    const code = Object.keys(ws.lock().stages.check.code);
    expect(code.filter((k) => !/^(toolchain|package):/.test(k))).to.deep.equal(['mod/gate.ts', 'mod/lib.ts']);
    expect(code).to.include.members(['toolchain:node', 'toolchain:platform']);
    const bundle = readdirSync(ws.path('.pipeline/build')).filter((f) => f.endsWith('.mjs'));
    expect(bundle).to.have.length(1);
    expect(readFileSync(ws.path(`.pipeline/build/${bundle[0]}`), 'utf8')).to.match(/from "pipeline-dag\/stage"/);
  });

  it('a GateVerdict thrown through the package is the gate\'s reason, exit 3', async function () {
    const r = await ws.run(['run', '--json', '--set', 'check.min=10'], { env: { PIPELINE_DEBUG: '1' } });
    expect(r.exitCode, r.stderr + r.stdout).to.equal(3);
    const stage = (r.json as { stages: { name: string; status: string; reason: string }[] }).stages[0];
    expect([stage.status, stage.reason]).to.deep.equal(['failed', 'score 6 < min 10']);
  });

  it('a CommandError thrown by a workspace command prints its message and hint and exits with its code', async function () {
    const ok = await ws.run(['score', '4']);
    expect([ok.exitCode, ok.stdout, ok.stderr]).to.deep.equal([0, '8\n', '']);
    const bad = await ws.run(['score']);
    expect([bad.exitCode, bad.stderr]).to.deep.equal([2, 'error: score: which value? none given\nhint: run `pipeline score 3`\n']);
    const busy = await ws.run(['score', 'busy']);
    expect([busy.exitCode, busy.stderr]).to.deep.equal([4, 'error: score: busy\n']);
  });
});

describe('engine boundary: editing the engine re-runs nothing', function () {
  this.timeout(180_000);
  const dataFile = path.resolve(repoRoot, '../shared/data/cal_housing.data');
  let ws: Workspace;
  before(() => {
    expect(existsSync(dataFile), `the data set ${dataFile}`).to.equal(true);
    ws = makeWorkspace({ yaml: readFileSync(path.join(repoRoot, 'pipeline.yaml'), 'utf8'), prefix: 'pipeline-boundary-' });
    for (const f of ['package.json', 'tsconfig.json']) cpSync(path.join(repoRoot, f), ws.path(f));
    for (const d of ['stages', 'runner']) cpSync(path.join(repoRoot, d), ws.path(d), { recursive: true });
    // As in a checkout: node_modules installed, the engine built into dist/ (where `pipeline-dag/stage` resolves).
    for (const d of ['node_modules', 'dist']) symlinkSync(path.join(repoRoot, d), ws.path(d), 'dir');
  });
  after(() => ws?.cleanup());

  it('the real pipeline\'s stages hold no runner/ file; a comment appended to every runner/ file leaves all fresh', async function () {
    const source = ['--set', `load.source=${dataFile}`];
    const first = await ws.run(['run', '--json', ...source], { timeoutMs: 170_000 });
    expect(first.exitCode, first.stderr).to.equal(0);
    const lock = ws.lock() as { stages: Record<string, { code: Record<string, string>; fingerprint: string }> };
    expect(Object.keys(lock.stages)).to.have.length(7);
    for (const [name, entry] of Object.entries(lock.stages)) {
      expect(Object.keys(entry.code).filter((f) => !f.startsWith('stages/') && !/^(toolchain|package):/.test(f)), `${name}'s code`).to.deep.equal([]);
    }
    const edited = tsFiles(ws.path('runner'));
    expect(edited.map((f) => path.relative(ws.dir, f))).to.include.members(['runner/core/errors.ts', 'runner/public/stage.ts']);
    for (const f of edited) ws.write(path.relative(ws.dir, f), `${readFileSync(f, 'utf8')}\n// edited\n`);

    const status = await ws.run(['status', '--json', ...source]);
    expect(status.exitCode, status.stderr).to.equal(0);
    const states = (status.json as { stages: { name: string; state: string }[] }).stages.map((s) => `${s.name}:${s.state}`);
    expect(states).to.deep.equal(['load', 'train', 'gate', 'quantize-8', 'quantize-16', 'compare', 'predict'].map((s) => `${s}:fresh`));
    const again = await ws.run(['run', '--json', ...source]);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(new Set((again.json as { stages: { status: string }[] }).stages.map((s) => s.status))).to.deep.equal(new Set(['cached']));
    const after = ws.lock() as typeof lock;
    for (const [name, entry] of Object.entries(after.stages)) expect(entry.fingerprint, name).to.equal(lock.stages[name].fingerprint);
  });
});
