// The import graph of runner/ and stages/, read by dependency-cruiser (type-only imports, re-exports and import()
// included: they tie modules together as much as value imports do). It must have no cycle, and every import must
// follow the data flow, with no exception:
//
//   cli → report, ci → exec → public → plan → graph → config → store → core
//
// a folder imports only folders to its right (and itself); every file of runner/ lies in one of these folders.
// runner/public/ is the package's public face for workspace code (`pipeline-dag/stage`, `/command`, `/report`): it
// sits under the layers that deal with that code (exec runs stage modules, report writes last-run.json, cli runs
// workspace commands, and they use its definitions) and re-exports, from below, what belongs there by concept (the
// exit codes and the schema-issue converter from core/, the DAG drawing from graph/). Each entry point loads a small,
// pinned set of engine files. stages/ import nothing of the engine but its public entry points, by the package's
// own name (tests/engine/boundary.test.ts holds stage closures to `pipeline-dag/stage`) or as a relative path into
// runner/public/.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import { repoRoot } from '../helpers/workspace.js';

/** The runner/ folders from the top of the data flow to the bottom; a folder may import only later ones. */
export const LAYERS: string[][] = [['cli'], ['report', 'ci'], ['exec'], ['public'], ['plan'], ['graph'], ['config'], ['store'], ['core']];

const folders = (names: string[]) => `^runner/(${names.join('|')})/`;

function layeringRules(): IForbiddenRuleType[] {
  return LAYERS.flatMap((layer, i) => {
    const above = LAYERS.slice(0, i).flat();
    const siblings = (name: string) => layer.filter((n) => n !== name);
    return layer.map((name) => ({
      name: `runner/${name} imports only folders below it`,
      severity: 'error' as const,
      from: { path: `^runner/${name}/` },
      to: { path: folders([...above, ...siblings(name)]) },
    }));
  });
}

export const RULES: IForbiddenRuleType[] = [
  { name: 'no import cycle', severity: 'error', from: {}, to: { circular: true } },
  ...layeringRules(),
  {
    name: 'every file of runner/ lies in a folder of the data flow',
    severity: 'error',
    from: {},
    to: { path: '^runner/', pathNot: folders(LAYERS.flat()) },
  },
  {
    name: 'stages import only the public module of the engine',
    severity: 'error',
    from: { path: '^stages/' },
    // The engine's sources, its compiled copy, or the package name with any subpath but its public entry points.
    to: { path: ['^(dist/)?runner/', '^pipeline-dag(/|$)'], pathNot: ['^(dist/)?runner/public/', '^pipeline-dag/(stage|command|report)$'] },
  },
];

/** Cruise `dirs` of `baseDir` with RULES. */
async function cruiseTree(baseDir: string, dirs: string[], tsConfig: string): Promise<ICruiseResult> {
  const out = await cruise(
    dirs,
    {
      baseDir,
      validate: true,
      ruleSet: { forbidden: RULES },
      tsPreCompilationDeps: true,
      // Imports into node_modules/ and the compiled dist/ are kept as edges but not read further.
      doNotFollow: { path: ['node_modules', '^dist/'] },
    },
    {},
    { tsConfig: { fileName: tsConfig } },
  );
  if (typeof out.output === 'string') throw new Error(`dependency-cruiser gave text instead of a result:\n${out.output}`);
  return out.output;
}

let result: ICruiseResult | undefined;

/** Every violation of the rules as `rule: from → to` (a cycle spelled out), cruised once per test run. */
async function violations(rule: (name: string) => boolean, of?: ICruiseResult): Promise<string[]> {
  const r = of ?? (result ??= await cruiseTree(repoRoot, ['runner', 'stages'], 'tsconfig.build.json'));
  return r.summary.violations
    .filter((v) => rule(v.rule.name))
    .map((v) => `${v.from} → ${v.to}${v.cycle ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')})` : ''}`);
}

function expectNone(found: string[], what: string): void {
  expect(found, `${what}:\n  ${found.join('\n  ')}\n`).to.deep.equal([]);
}

/** The files an entry point loads (following every import, type-only ones too: they are in its declarations). */
function closure(r: ICruiseResult, entry: string): { files: string[]; packages: string[] } {
  const byName = new Map(r.modules.map((m) => [m.source, m]));
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const d of byName.get(file)?.dependencies ?? []) {
      if (d.coreModule) continue;
      if (d.resolved.startsWith('node_modules/')) packages.add(d.module.split('/').slice(0, d.module.startsWith('@') ? 2 : 1).join('/'));
      else queue.push(d.resolved);
    }
  }
  return { files: [...seen].sort(), packages: [...packages].sort() };
}

describe('architecture: imports of runner/ and stages/', function () {
  this.timeout(120_000);

  it('reads the whole engine and every stage', async () => {
    await violations(() => false);
    const sources = result!.modules.map((m) => m.source);
    for (const file of ['runner/cli/main.ts', 'runner/exec/scheduler.ts', 'runner/public/stage.ts', 'stages/train.ts']) {
      expect(sources, file).to.include(file);
    }
  });

  it('has no import cycle', async () => {
    expectNone(await violations((r) => r === 'no import cycle'), 'import cycles');
  });

  for (const [i, layer] of LAYERS.entries()) {
    for (const name of layer) {
      const below = LAYERS.slice(i + 1).flat();
      const allowed = below.length ? `only ${below.map((b) => `${b}/`).join(', ')}` : 'nothing of runner/';
      it(`runner/${name}/ imports ${allowed}`, async () => {
        expectNone(await violations((r) => r === `runner/${name} imports only folders below it`), 'imports against the data flow');
      });
    }
  }

  it('every file of runner/ lies in a folder of the data flow', async () => {
    expectNone(await violations((r) => r.startsWith('every file of runner/')), 'imports of files outside the layers');
    const outside = result!.modules.map((m) => m.source).filter((s) => s.startsWith('runner/') && !new RegExp(folders(LAYERS.flat())).test(s));
    expect(outside).to.deep.equal([]);
  });

  it('stages/ import nothing of the engine but its public entry points (pipeline-dag/stage, /command, /report)', async () => {
    expectNone(await violations((r) => r.startsWith('stages')), 'imports of engine internals from stages/');
  });

  it('each public entry point loads only its pinned engine files and packages (a stage module loads two files and no package)', async () => {
    await violations(() => false);
    const entries = Object.fromEntries(['stage', 'command', 'report'].map((e) => [e, closure(result!, `runner/public/${e}.ts`)]));
    expect(entries).to.deep.equal({
      stage: { files: ['runner/core/schema-issues.ts', 'runner/public/diagnostics.ts', 'runner/public/stage.ts'], packages: [] },
      command: { files: ['runner/core/exit-codes.ts', 'runner/public/command.ts'], packages: [] },
      report: {
        files: ['runner/graph/dagre.ts', 'runner/graph/draw-svg.ts', 'runner/graph/reduction.ts', 'runner/public/last-run-file.ts', 'runner/public/last-run.ts', 'runner/public/report.ts'],
        packages: ['@dagrejs/dagre', '@dagrejs/graphlib', 'zod'],
      },
    });
  });
});

describe('architecture: the import rules catch every kind of arrow against the flow', function () {
  this.timeout(120_000);
  let dir: string;
  let planted: ICruiseResult;

  // A tree with one allowed import and back arrows of every form, public/ included.
  const FILES: Record<string, string> = {
    'runner/core/a.ts': "import { B } from '../public/b.js';\nexport const A = B;\n",
    'runner/public/b.ts': "export { C } from '../graph/c.js';\nexport const B = 1;\n",
    'runner/graph/c.ts': "import type { D } from '../public/d.js';\nexport const C: D = 2;\n",
    'runner/public/d.ts': "export type D = number;\nexport const lazy = () => import('../cli/e.js');\n",
    'runner/cli/e.ts': "export * from '../exec/f.js';\n",
    'runner/exec/f.ts': "export const F = 3;\n",
    'runner/config/g.ts': "import { H } from '../misc/h.js';\nexport const G = H;\n",
    'runner/misc/h.ts': 'export const H = 4;\n',
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-arch-'));
    for (const [file, text] of Object.entries(FILES)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true }, include: ['runner/**/*.ts'] }),
    );
    planted = await cruiseTree(dir, ['runner'], 'tsconfig.json');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('flags a value import, a type-only import, a dynamic import() and an import of a folder outside the layers; not the re-exports that go down', async () => {
    const found = await violations(() => true, planted);
    expect(found.sort()).to.deep.equal(
      [
        'runner/core/a.ts → runner/public/b.ts',
        'runner/graph/c.ts → runner/public/d.ts',
        'runner/public/d.ts → runner/cli/e.ts',
        'runner/config/g.ts → runner/misc/h.ts',
      ].sort(),
    );
  });
});
