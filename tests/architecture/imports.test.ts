// The import graph of runner/ and stages/, read by dependency-cruiser (type-only imports included: they tie
// modules together as much as value imports do). It must have no cycle, and imports must follow the data flow:
//
//   cli → report, ci → exec → plan → graph → config → store → core
//
// a folder imports only folders to its right (and itself); runner/public/ is the package's public API and imports
// nothing from the rest of runner/, except that `pipeline-dag/report` re-exports the engine's DAG drawing;
// stages/ import nothing of the engine but its public entry points, by the package's own name
// (`pipeline-dag/stage` for stage modules — tests/engine/boundary.test.ts holds stage closures to that one —
// and `/command`, `/report` for the workspace commands) or as a relative path into runner/public/.
import { expect } from 'chai';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import { repoRoot } from '../helpers/workspace.js';

/** The runner/ folders from the top of the data flow to the bottom; a folder may import only later ones. */
export const LAYERS: string[][] = [['cli'], ['report', 'ci'], ['exec'], ['plan'], ['graph'], ['config'], ['store'], ['core']];

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

const RULES: IForbiddenRuleType[] = [
  { name: 'no import cycle', severity: 'error', from: {}, to: { circular: true } },
  ...layeringRules(),
  {
    name: 'runner/public imports nothing from the rest of runner/',
    severity: 'error',
    from: { path: '^runner/public/', pathNot: '^runner/public/report[.]ts$' },
    to: { path: '^runner/', pathNot: '^runner/public/' },
  },
  {
    name: 'runner/public/report.ts re-exports only the DAG drawing',
    severity: 'error',
    from: { path: '^runner/public/report[.]ts$' },
    to: { path: '^runner/', pathNot: ['^runner/public/', '^runner/graph/draw-svg[.]ts$'] },
  },
  {
    name: 'stages import only the public module of the engine',
    severity: 'error',
    from: { path: '^stages/' },
    // The engine's sources, its compiled copy, or the package name with any subpath but its public entry points.
    to: { path: ['^(dist/)?runner/', '^pipeline-dag(/|$)'], pathNot: ['^(dist/)?runner/public/', '^pipeline-dag/(stage|command|report)$'] },
  },
];

let result: ICruiseResult | undefined;

/** Every violation of the rules as `rule: from → to` (a cycle spelled out), cruised once per test run. */
async function violations(rule: (name: string) => boolean): Promise<string[]> {
  if (!result) {
    const out = await cruise(
      ['runner', 'stages'],
      {
        baseDir: repoRoot,
        validate: true,
        ruleSet: { forbidden: RULES },
        tsPreCompilationDeps: true,
        // Imports into node_modules/ and the compiled dist/ are kept as edges but not read further.
        doNotFollow: { path: ['node_modules', '^dist/'] },
      },
      {},
      { tsConfig: { fileName: 'tsconfig.build.json' } },
    );
    if (typeof out.output === 'string') throw new Error(`dependency-cruiser gave text instead of a result:\n${out.output}`);
    result = out.output;
  }
  return result.summary.violations
    .filter((v) => rule(v.rule.name))
    .map((v) => `${v.from} → ${v.to}${v.cycle ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')})` : ''}`);
}

function expectNone(found: string[], what: string): void {
  expect(found, `${what}:\n  ${found.join('\n  ')}\n`).to.deep.equal([]);
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
      const allowed = below.length ? `only ${below.map((b) => `${b}/`).join(', ')} and public/` : 'nothing of runner/ but public/';
      it(`runner/${name}/ imports ${allowed}`, async () => {
        expectNone(await violations((r) => r === `runner/${name} imports only folders below it`), 'imports against the data flow');
      });
    }
  }

  it('runner/public/ imports nothing from the rest of runner/', async () => {
    expectNone(await violations((r) => r.startsWith('runner/public')), 'imports of the engine from runner/public/');
  });

  it('stages/ import nothing of the engine but its public entry points (pipeline-dag/stage, /command, /report)', async () => {
    expectNone(await violations((r) => r.startsWith('stages')), 'imports of engine internals from stages/');
  });
});
