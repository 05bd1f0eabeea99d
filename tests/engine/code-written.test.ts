// A code file that a stage of the run writes: the module closure checks share what they read until the run changes
// the workspace (plan/turn-memo.ts); a stage's closure checked after another stage rewrote one of its files is read
// again, never answered from the check made before the write.
import { expect } from 'chai';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { reasonFields, statuses } from './fixtures.js';

// `gen` writes mod/generated.ts from data/n.txt. `peek` imports it without needing `gen` (it is checked at the
// start of the run, before `gen` runs); `use` needs `gen`, so it is checked after `gen` rewrote the file.
const GEN_JS = `const fs = require('node:fs');
const n = fs.readFileSync('data/n.txt', 'utf8').trim();
fs.appendFileSync('runs.log', 'gen\\n');
fs.writeFileSync('mod/generated.ts', 'export const N = ' + n + ';\\n');
`;

const moduleStage = (name: string) => `import { appendFileSync, writeFileSync } from 'node:fs';
import { N } from './generated.js';

export default async function (ctx: any): Promise<void> {
  appendFileSync(\`\${ctx.workspace}/runs.log\`, '${name}\\n');
  writeFileSync(ctx.outs['build/${name}.txt'], \`\${N}\\n\`);
}
`;

const YAML = `version: 1
stages:
  gen:
    cmd: node gen.js
    deps: [gen.js, data/n.txt]
    outs: [mod/generated.ts]
  peek:
    module: mod/peek.ts
    outs: [build/peek.txt]
  use:
    module: mod/use.ts
    needs: [gen]
    outs: [build/use.txt]
`;

describe('engine: a code file written by a stage of the run', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({
      yaml: YAML,
      files: { 'gen.js': GEN_JS, 'data/n.txt': '1\n', 'mod/generated.ts': 'export const N = 1;\n', 'mod/peek.ts': moduleStage('peek'), 'mod/use.ts': moduleStage('use') },
    });
  });
  after(() => ws.cleanup());

  it('a no-op after the first run finds every stage fresh', async () => {
    // `peek` apart: run beside `gen`, it would fail for its code changing while it ran.
    for (const stages of [['gen', 'use'], ['peek']]) {
      const first = await ws.run(['run', ...stages]);
      expect(first.exitCode, first.stderr).to.equal(0);
    }
    const again = await ws.run(['run', '--json']);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(statuses(again.json)).to.deep.equal({ gen: 'cached', peek: 'cached', use: 'cached' });
  });

  it('the stage whose import another stage rewrote during the run re-runs on the new code, in the same run', async () => {
    ws.write('data/n.txt', '2\n');
    const before = ws.lines('runs.log').length;
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(statuses(r.json)).to.include({ gen: 'ran', use: 'ran' });
    expect(reasonFields(r.json).use).to.deep.include({ code: 'code-changed', file: 'mod/generated.ts' });
    expect(ws.read('build/use.txt')).to.equal('2\n');
    expect(ws.lines('runs.log').slice(before)).to.include.members(['gen', 'use']);
    // Nothing is left stale: the next run finds every stage fresh, `peek` included (re-run now if it was checked
    // before `gen` wrote the file, and then on the code it has now).
    const next = await ws.run(['run', '--json']);
    expect(next.exitCode, next.stderr).to.equal(0);
    expect(statuses(next.json).use).to.equal('cached');
    expect(ws.read('build/peek.txt')).to.equal('2\n');
  });
});
