// A failure you can debug, through the real CLI: a module stage that throws names the place in its TypeScript
// source (mapped from the bundle by the runner after the failure), `--verbose` prints the mapped stack, the stage's
// log keeps it; a host started ahead and a host started for the stage say the same; a `cmd:` stage's failure is as
// before; a missing dep gets a did-you-mean at run time and in `validate`.
import { expect } from 'chai';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

/** `line:col` (1-based) of the first occurrence of `marker` in `text`. */
function positionOf(text: string, marker: string): string {
  const i = text.indexOf(marker);
  if (i < 0) throw new Error(`no ${marker} in the fixture`);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

// The helper a stage imports, in a folder of its own: it throws.
const CHECK_TS = `// Checks a count.
export function check(n: number): number {
  if (n > 1) {
    throw new Error(\`n is \${n}, too big\`);
  }
  return n;
}
`;

// A stage in a subfolder that throws through the helper.
const NESTED_TS = `import { writeFileSync } from 'node:fs';
import { check } from '../lib/check.js';

export default async function nested(ctx: { stage: string; workspace: string }): Promise<void> {
  writeFileSync(\`\${ctx.workspace}/titles/\${ctx.stage}.txt\`, process.title);
  const n: number = 5;
  check(n);
}
`;

// A stage that throws itself, after code the bundle moves around (a class, a closure).
const DIRECT_TS = `class Counter {
  count = 0;
}

export default async function direct(): Promise<void> {
  const c = new Counter();
  const fail = () => { throw new Error(\`direct boom after \${c.count}\`); };
  fail();
}
`;

const YAML = `version: 1
stages:
  nested:
    module: stages/sub/nested.ts
    outs: [nested.txt]
  fresh-host:
    module: stages/sub/nested.ts
    env: {NODE_OPTIONS: --title=fresh-host}
    outs: [fresh.txt]
  direct:
    module: stages/sub/direct.ts
    outs: [direct.txt]
  shell:
    cmd: [node, -e, "process.stderr.write('bad thing\\\\n'); process.exit(3)"]
    outs: [shell.txt]
`;

interface StageJson {
  name: string;
  reason: string;
  outcome: { kind: string; cause?: { kind: string; exitCode?: number; message?: string; at?: string; stack?: string } };
}

describe('engine: a module stage that throws names its source', function () {
  let ws: Workspace;
  const check = positionOf(CHECK_TS, 'new Error');
  const call = positionOf(NESTED_TS, 'check(n)');
  const thrown = positionOf(DIRECT_TS, 'new Error');
  const called = positionOf(DIRECT_TS, 'fail();');
  beforeEach(() => {
    ws = makeWorkspace({ yaml: YAML, files: { 'stages/lib/check.ts': CHECK_TS, 'stages/sub/nested.ts': NESTED_TS, 'stages/sub/direct.ts': DIRECT_TS, 'titles/.keep': '' } });
  });
  afterEach(() => ws.cleanup());

  it('by default: the message and `stages/…ts:LINE:COL` on the stage line, no stack; the log keeps the mapped stack', async () => {
    const r = await ws.run(['run', '--keep-going', '--jobs', '1']);
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(r.stdout).to.match(new RegExp(`^nested +failed +[0-9.]+m?s +n is 5, too big \\(at stages/lib/check\\.ts:${check}\\)$`, 'm'));
    expect(r.stdout).to.match(new RegExp(`^direct +failed +[0-9.]+m?s +direct boom after 0 \\(at stages/sub/direct\\.ts:${thrown}\\)$`, 'm'));
    expect(r.stdout + r.stderr, 'no stack without --verbose').to.not.match(/^\s*│?\s*at /m);
    const log = ws.read('.pipeline/logs/nested.log');
    expect(log).to.include(`at check (stages/lib/check.ts:${check})`);
    expect(log).to.include(`(stages/sub/nested.ts:${call})`);
    expect(log, 'no frame left in the bundle').to.not.include('.pipeline/build');
    expect(ws.read('.pipeline/logs/direct.log')).to.include(`(stages/sub/direct.ts:${thrown})`).and.include(`(stages/sub/direct.ts:${called})`);
    // The bundle has its map beside it, and nothing in the bundle points at it.
    const bundles = ws.snapshot('.pipeline/build');
    const maps = Object.keys(bundles).filter((f) => f.endsWith('.mjs.map'));
    expect(maps.length).to.equal(2);
    for (const m of maps) expect(ws.read(`.pipeline/build/${m.slice(0, -4)}`)).to.not.include('sourceMappingURL');
  });

  it('--verbose: the whole stack, mapped, with the helper module\'s own frame; --json carries `at` and the stack', async () => {
    const r = await ws.run(['run', 'nested', '--verbose']);
    expect(r.exitCode, r.stderr).to.equal(1);
    const frames = r.stdout.split('\n').filter((l) => /^\s*│\s+at /.test(l)).map((l) => l.replace(/^\s*│\s+/, ''));
    expect(frames[0]).to.equal(`at check (stages/lib/check.ts:${check})`);
    expect(frames[1]).to.equal(`at Module.nested (stages/sub/nested.ts:${call})`);
    expect(frames.join('\n'), 'the host\'s own frames are left out').to.not.match(/host\.(js|ts)/);
    const j = await ws.run(['run', 'nested', '--json']);
    const [stage] = (j.json.stages as StageJson[]).filter((s) => s.name === 'nested');
    expect(stage.reason).to.equal(`n is 5, too big (at stages/lib/check.ts:${check})`);
    expect(stage.outcome.cause!.at).to.equal(`stages/lib/check.ts:${check}`);
    expect(stage.outcome.cause!.stack).to.match(new RegExp(`^Error: n is 5, too big\\n    at check \\(stages/lib/check\\.ts:${check}\\)\\n    at Module\\.nested \\(stages/sub/nested\\.ts:${call}\\)\\n`));
  });

  it('a host started ahead of need and a host started for the stage give the same location and stack', async () => {
    const r = await ws.run(['run', 'nested', 'fresh-host', '--keep-going', '--jobs', '1', '--json'], { env: { PIPELINE_DEBUG: '1' } });
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(ws.read('titles/fresh-host.txt')).to.equal('fresh-host');
    expect(ws.read('titles/nested.txt')).to.not.equal('fresh-host');
    const [, , used] = /pipeline: (\d+) stage hosts started ahead, (\d+) of them used/.exec(r.stderr)!.map(Number);
    expect(used, 'the first stage took a waiting host').to.be.at.least(1);
    const causes = Object.fromEntries((r.json.stages as StageJson[]).map((s) => [s.name, s.outcome.cause]));
    expect(causes.nested!.at).to.equal(`stages/lib/check.ts:${check}`);
    expect(causes['fresh-host']).to.deep.equal(causes.nested);
    expect(ws.read('.pipeline/logs/fresh-host.log')).to.equal(ws.read('.pipeline/logs/nested.log'));
  });

  it('a cmd stage that fails is as before: its last line on stderr, no location, nothing added to its log', async () => {
    const r = await ws.run(['run', 'shell', '--json']);
    expect(r.exitCode, r.stderr).to.equal(1);
    const stage = (r.json.stages as StageJson[]).find((s) => s.name === 'shell')!;
    expect(stage.reason).to.equal('bad thing');
    expect(stage.outcome.cause).to.deep.equal({ kind: 'exit', exitCode: 3, message: 'bad thing' });
    expect(ws.read('.pipeline/logs/shell.log')).to.equal('bad thing\n');
  });
});

describe('engine: a missing dep gets a did-you-mean', function () {
  let ws: Workspace;
  afterEach(() => ws.cleanup());

  const yaml = `version: 1
stages:
  prep:
    cmd: [node, -e, "require('fs').mkdirSync('build',{recursive:true}); require('fs').writeFileSync('build/prep.txt','x')"]
    outs: [build/prep.txt]
  fit:
    cmd: [node, -e, "0"]
    deps: [data/house.csv, build/prep.txt]
    needs: [prep]
    outs: [fit.txt]
  other:
    cmd: [node, -e, "0"]
    deps: [dta/houses.csv, build/prp.txt, nothing/like/this.bin]
`;

  it('at run time (exit 2, its place in pipeline.yaml) and in the dry run', async () => {
    ws = makeWorkspace({ yaml, files: { 'data/houses.csv': 'a,b\n' } });
    const r = await ws.run(['run', 'fit']);
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.stderr).to.include('error: pipeline.yaml:8:12: stage `fit`: dep `data/house.csv` does not exist (did you mean `data/houses.csv`?)');
    const dry = await ws.run(['run', '--dry-run', '--json']);
    const reasons = Object.fromEntries((dry.json.stages as { name: string; reasons: { code: string; suggestion?: string }[] }[]).map((s) => [s.name, s.reasons]));
    expect(reasons.fit.find((x) => x.code === 'dep-missing')!.suggestion).to.equal('data/houses.csv');
    expect(reasons.other.find((x) => x.code === 'dep-missing')!.suggestion).to.equal('data/houses.csv');
  });

  it('validate warns at each missing dep no stage writes, with a similar path on disk or among the outs; never at an upstream\'s out', async () => {
    ws = makeWorkspace({ yaml, files: { 'data/houses.csv': 'a,b\n' } });
    const r = await ws.run(['validate']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.include('warning: pipeline.yaml:8:12: stage `fit`: dep `data/house.csv` does not exist and no stage writes it (did you mean `data/houses.csv`?)');
    expect(r.stderr).to.include('warning: pipeline.yaml:13:12: stage `other`: dep `dta/houses.csv` does not exist and no stage writes it (did you mean `data/houses.csv`?)');
    expect(r.stderr).to.include('warning: pipeline.yaml:13:28: stage `other`: dep `build/prp.txt` does not exist and no stage writes it (did you mean `build/prep.txt`?)');
    expect(r.stderr).to.include('warning: pipeline.yaml:13:43: stage `other`: dep `nothing/like/this.bin` does not exist and no stage writes it\n');
    expect(r.stderr, 'an upstream\'s out is checked once that stage ran').to.not.include('dep `build/prep.txt`');
    const j = await ws.run(['validate', '--json']);
    expect(j.exitCode).to.equal(0);
    const diags = j.json.diagnostics as { code: string; severity: string; line: number; col: number }[];
    expect(diags.map((d) => [d.code, d.severity, d.line, d.col])).to.deep.equal([
      ['dep-not-found', 'warning', 8, 12],
      ['dep-not-found', 'warning', 13, 12],
      ['dep-not-found', 'warning', 13, 28],
      ['dep-not-found', 'warning', 13, 43],
    ]);
  });
});
