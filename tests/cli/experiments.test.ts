// `pipeline exp`: sweeps through the real CLI in temp workspaces. Shared stages execute once across variants (a log
// outside the workspace, written by every execution, and the count `exp run --json` reports); a variant whose stage
// fails is recorded as failed and the others go on (exit 1); grid values of the wrong type are refused before any
// stage starts (exit 2, naming the value); the workspace's files, outs and pipeline.lock are byte for byte what they
// were, even when a stage rewrites one of its inputs in place; names; `exp show` in every format; `exp diff`;
// `exp apply` (the param edited in place with its comment, status fresh, git diff exactly the param line);
// `exp remove`; and gc keeping an experiment's objects until it is removed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { cleanupAll, makeWorkspace, repoRoot, tempDir, type Workspace } from '../helpers/workspace.js';

// Appends one line per execution to $EXP_LOG (outside every workspace and scratch copy), then writes its out.
const PREP = `const fs = require('node:fs');
fs.appendFileSync(process.env.EXP_LOG, 'prep\\n');
fs.mkdirSync('build', { recursive: true });
fs.writeFileSync('build/prep.txt', fs.readFileSync('data/raw.txt', 'utf8').toUpperCase());
`;

const FIT = `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
export const params = z.object({ alpha: z.number(), mode: z.enum(['plain', 'scribble']) });
export default async function (ctx: any): Promise<void> {
  appendFileSync(process.env.EXP_LOG!, \`fit \${ctx.params.alpha} \${ctx.params.mode}\\n\`);
  if (ctx.params.mode === 'scribble') {
    // Rewrites a workspace input in place, then fails: only the variant's copy may change.
    writeFileSync(\`\${ctx.workspace}/data/raw.txt\`, 'scribbled');
    throw new Error('scribbled on its input');
  }
  const prep = readFileSync(ctx.inputs.prep['build/prep.txt'], 'utf8');
  writeFileSync(ctx.outs['build/fit.json'], JSON.stringify({ score: ctx.params.alpha * 2, n: prep.length }));
}
`;

const YAML = `version: 1
stages:
  prep:
    cmd: node prep.js
    deps: [prep.js, data/raw.txt]
    passEnv: [EXP_LOG]
    outs: [build/prep.txt]
  fit:
    module: mod/fit.ts
    needs: [prep]
    passEnv: [EXP_LOG]
    params:
      alpha: 0.5 # the learning rate
      mode: plain
    outs: [build/fit.json]
    metrics: [build/fit.json]
`;

describe('cli: experiments (pipeline exp)', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let log: string;
  const env = () => ({ EXP_LOG: log });
  const cli = (args: string[]) => ws.run(args, { env: env() });
  const ok = async (args: string[]) => {
    const r = await cli(args);
    expect(r.exitCode, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    return r;
  };
  const logged = () => (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n').filter(Boolean);
  // Everything but the derived state and the experiments' records.
  const snap = () => ws.snapshot('.', ['.pipeline/state', '.pipeline/experiments']);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ws.dir, encoding: 'utf8' });

  before(async () => {
    ws = makeWorkspace({ yaml: YAML, files: { 'prep.js': PREP, 'mod/fit.ts': FIT, 'data/raw.txt': 'abc\n' } });
    symlinkSync(path.join(repoRoot, 'node_modules'), ws.path('node_modules'));
    log = path.join(tempDir('exp-log'), 'executions.log');
    git('init', '-q');
    git('config', 'user.email', 'test@example.com');
    git('config', 'user.name', 'Test');
    ws.write('.gitignore', 'node_modules\n.pipeline/\nbuild/\n');
    await ok(['run', '-q']);
    git('add', '-A');
    git('commit', '-qm', 'first');
  });
  after(cleanupAll);

  it('runs the product of the grids, a stage shared by every variant executing once, the workspace untouched', async () => {
    const before = snap();
    const lines = logged().length;
    const r = await ok(['exp', 'run', '--grid', 'fit.alpha=1,2', '--grid', 'fit.mode=plain', '--json', '-j', '2']);
    const doc = JSON.parse(r.stdout) as { executions: number; experiments: { name: string; status: string; params: Record<string, unknown>; changed: Record<string, unknown>; metrics: Record<string, Record<string, number>>; commit: string; stages: { name: string; outcome: string }[] }[] };
    // prep is fresh in the workspace: restored in both variants, executed by none; fit once per alpha.
    expect(logged().slice(lines).sort()).to.deep.equal(['fit 1 plain', 'fit 2 plain']);
    expect(doc.executions).to.equal(2);
    expect(doc.experiments.map((e) => e.status)).to.deep.equal(['ok', 'ok']);
    expect(doc.experiments.map((e) => e.metrics['build/fit.json'].score).sort()).to.deep.equal([2, 4]);
    expect(doc.experiments[0].params).to.deep.equal({ 'fit.alpha': 1, 'fit.mode': 'plain' });
    expect(doc.experiments[0].changed).to.deep.equal({ 'fit.alpha': 1, 'fit.mode': 'plain' });
    expect(doc.experiments[0].commit).to.equal(git('rev-parse', 'HEAD').trim());
    expect(doc.experiments[0].name).to.match(/^exp-[0-9a-f]{8}$/);
    expect(doc.experiments[0].stages.map((s) => `${s.name}:${s.outcome}`)).to.deep.equal(['prep:restored', 'fit:ran']);
    expect(snap(), 'the workspace (outs, pipeline.lock, inputs) is unchanged').to.deep.equal(before);
  });

  it('executes a stage whose fingerprint several variants share once, when nothing had it before', async () => {
    ws.write('data/raw.txt', 'abcd\n'); // prep must execute in every variant: new input
    const lines = logged().length;
    const r = await ok(['exp', 'run', '--grid', 'fit.alpha=3,4,5', '--json', '-j', '2']);
    const doc = JSON.parse(r.stdout) as { executions: number };
    const ran = logged().slice(lines);
    expect(ran.filter((l) => l === 'prep')).to.have.length(1);
    expect(ran.filter((l) => l.startsWith('fit'))).to.have.length(3);
    expect(doc.executions).to.equal(4);
    ws.write('data/raw.txt', 'abc\n');
  });

  it('records a failing variant as failed with its reason and goes on; a stage rewriting its input changes only its copy', async () => {
    const before = snap();
    const r = await cli(['exp', 'run', '--grid', 'fit.mode=plain,scribble', '--set', 'fit.alpha=7', '--json']);
    expect(r.exitCode, r.stderr).to.equal(1);
    const doc = JSON.parse(r.stdout) as { experiments: { status: string; reason?: string; exitCode: number; changed: Record<string, unknown> }[] };
    const bad = doc.experiments.find((e) => e.changed['fit.mode'] === 'scribble')!;
    const good = doc.experiments.find((e) => e.changed['fit.mode'] === 'plain')!;
    expect(good.status).to.equal('ok');
    expect(bad.status).to.equal('failed');
    expect(bad.exitCode).to.equal(1);
    expect(bad.reason).to.contain('stage `fit`').and.contain('scribbled on its input');
    expect(r.stderr).to.match(/1 ok, 1 failed/);
    expect(ws.read('data/raw.txt')).to.equal('abc\n');
    expect(snap()).to.deep.equal(before);
  });

  it('refuses grid values of the wrong type before any stage starts (exit 2, naming each value)', async () => {
    const lines = logged().length;
    const r = await cli(['exp', 'run', '--grid', 'fit.alpha=0.1,fast,slow']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.contain('fit.alpha=fast').and.contain('fit.alpha=slow').and.contain('expected a number');
    expect(r.stderr).not.to.contain('fit.alpha=0.1 ');
    expect(logged().length, 'nothing executed').to.equal(lines);
    const enumBad = await cli(['exp', 'run', '--grid', 'fit.mode=plain,loud']);
    expect(enumBad.exitCode).to.equal(2);
    expect(enumBad.stderr).to.contain('fit.mode=loud');
  });

  it('validates names: path traversal refused, a name recorded twice refused unless --force', async () => {
    for (const bad of ['../x', 'a/b', '..', 'a b']) {
      const r = await cli(['exp', 'run', '--name', bad, '--set', 'fit.alpha=9']);
      expect(r.exitCode, bad).to.equal(2);
      expect(r.stderr).to.contain(`experiment name \`${bad}\` is not allowed`);
    }
    await ok(['exp', 'run', '--name', 'nine', '--set', 'fit.alpha=9']);
    const again = await cli(['exp', 'run', '--name', 'nine', '--set', 'fit.alpha=9']);
    expect(again.exitCode).to.equal(2);
    expect(again.stderr).to.contain('experiment `nine` already recorded');
    await ok(['exp', 'run', '--name', 'nine', '--set', 'fit.alpha=9', '--force']);
    const twice = await cli(['exp', 'run', '--grid', 'fit.alpha=1,1']);
    expect(twice.exitCode).to.equal(2);
    expect(twice.stderr).to.contain('two variants have the same params');
  });

  it('shows the experiments and the workspace as a table, JSON, CSV and Markdown, sorted by a metric', async () => {
    const json = JSON.parse((await ok(['exp', 'show', '--json'])).stdout) as { schemaVersion: number; experiments: { name: string; status: string; params: Record<string, unknown> }[] };
    expect(json.schemaVersion).to.equal(1);
    expect(json.experiments[0].name).to.equal('workspace');
    expect(json.experiments.some((e) => e.name === 'nine' && e.params['fit.alpha'] === 9)).to.equal(true);
    expect(json.experiments.filter((e) => e.status === 'failed')).to.have.length(1);
    const sorted = JSON.parse((await ok(['exp', 'show', '--json', '--sort', 'score'])).stdout) as typeof json;
    expect(sorted.experiments[0].name).to.equal('nine'); // score 18, the highest
    const text = (await ok(['exp', 'show'])).stdout;
    expect(text.split('\n')[0]).to.match(/^experiment\s+status\s+fit\.alpha\s+fit\.mode\s+n\s+score$/);
    expect(text).to.match(/FAILED/).and.match(/failed:\n {2}exp-[0-9a-f]{8}: stage `fit`/);
    const csv = (await ok(['exp', 'show', '--csv'])).stdout.split('\n');
    expect(csv[0]).to.equal('experiment,status,fit.alpha,fit.mode,build/fit.json:n,build/fit.json:score'.replace('build/fit.json:n,build/fit.json:score', 'n,score'));
    expect(csv[1]).to.equal('workspace,workspace,0.5,plain,4,1');
    const md = (await ok(['exp', 'show', '--md'])).stdout.split('\n');
    expect(md[0]).to.equal('| experiment | status | fit.alpha | fit.mode | n | score |');
    expect(md[1]).to.equal('|---|---|---|---|---|---|');
    const both = await cli(['exp', 'show', '--csv', '--md']);
    expect(both.exitCode).to.equal(2);
    const unknown = await cli(['exp', 'show', '--sort', 'nope']);
    expect(unknown.exitCode).to.equal(2);
    expect(unknown.stderr).to.contain('--sort nope: no metric of that name');
    const near = await cli(['exp', 'show', '--sort', 'scor']);
    expect(near.exitCode).to.equal(2);
    expect(near.stderr).to.contain('hint: did you mean `score`? metrics: build/fit.json:n, build/fit.json:score');
  });

  it('diffs an experiment against the workspace and another experiment', async () => {
    const d = JSON.parse((await ok(['exp', 'diff', 'nine', '--json'])).stdout) as { a: string; b: string; params: unknown[]; metrics: { key: string; a: number; b: number }[] };
    expect(d.a).to.equal('nine');
    expect(d.b).to.equal('workspace');
    expect(d.params).to.deep.equal([{ key: 'fit.alpha', a: 9, b: 0.5 }]);
    expect(d.metrics.find((m) => m.key === 'build/fit.json:score')).to.deep.equal({ key: 'build/fit.json:score', a: 18, b: 1 });
    const text = (await ok(['exp', 'diff', 'nine'])).stdout;
    expect(text).to.match(/fit\.alpha\s+9\s+0\.5/);
    const missing = await cli(['exp', 'diff', 'nope']);
    expect(missing.exitCode).to.equal(2);
    expect(missing.stderr).to.contain('no experiment `nope`');
  });

  it('applies an experiment: outs restored, the param edited in place with its comment, status fresh, git diff only the param', async () => {
    const lines = logged().length;
    await ok(['exp', 'apply', 'nine']);
    expect(logged().length, 'restored, nothing executed').to.equal(lines);
    expect(JSON.parse(ws.read('build/fit.json'))).to.deep.equal({ score: 18, n: 4 });
    expect(ws.read('pipeline.yaml')).to.equal(YAML.replace('alpha: 0.5 # the learning rate', 'alpha: 9 # the learning rate'));
    const diff = git('diff', '-U0', '--', 'pipeline.yaml').split('\n').filter((l) => /^[-+][^-+]/.test(l));
    expect(diff).to.deep.equal(['-      alpha: 0.5 # the learning rate', '+      alpha: 9 # the learning rate']);
    const status = JSON.parse((await ok(['status', '--json'])).stdout) as { stages: { name: string; state: string }[] };
    expect(status.stages.map((s) => s.state)).to.deep.equal(['fresh', 'fresh']);
    expect(ws.exists('pipeline.local.yaml')).to.equal(false);
  });

  it('keeps an experiment\'s objects through gc until it is removed', async () => {
    const doc = JSON.parse((await ok(['exp', 'run', '--name', 'kept', '--set', 'fit.alpha=11', '--json'])).stdout) as { experiments: { stages: { name: string; outs: { hash: string }[] }[] }[] };
    const hash = doc.experiments[0].stages.find((s) => s.name === 'fit')!.outs[0].hash;
    await ok(['gc', '--keep-runs', '0', '--max-age', '0']);
    expect(ws.cacheObjects()).to.include(ws.objectPath(hash));
    await ok(['exp', 'remove', 'kept']);
    await ok(['gc', '--keep-runs', '0', '--max-age', '0']);
    expect(ws.cacheObjects()).not.to.include(ws.objectPath(hash));
    const missing = await cli(['exp', 'remove', 'kept']);
    expect(missing.exitCode).to.equal(2);
    expect(missing.stderr).to.contain('no experiment `kept`');
    await ok(['exp', 'remove', '--all']);
    expect((JSON.parse((await ok(['exp', 'show', '--json'])).stdout) as { experiments: unknown[] }).experiments).to.have.length(1);
  });
});

describe('pipeline exp run: a swept param reaches the command it is interpolated into', function () {
  this.timeout(300_000);
  after(cleanupAll);

  it("puts each variant's value into its `cmd` and `env` (quoted for the shell), not the workspace's", async () => {
    const ws = makeWorkspace({
      yaml: `version: 1
stages:
  echo:
    cmd: printf '%s|%s' \${word} "$LABEL" > out.txt
    shell: true
    env: {LABEL: "label \${word}"}
    params: {word: plain}
    outs: [out.txt]
`,
    });
    const r = await ws.run(['exp', 'run', '--grid', 'echo.word=alpha,b c;touch pwned', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout) as { experiments: { changed: Record<string, string>; stages: { name: string; outcome: string; outs: { path: string; hash: string }[] }[] }[] };
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    for (const e of doc.experiments) {
      const word = e.changed['echo.word'];
      const out = e.stages[0].outs.find((o) => o.path === 'out.txt')!;
      expect(e.stages[0].outcome, word).to.equal('ran');
      expect(out.hash, `the out of word=${word}`).to.equal(sha(`${word}|label ${word}`));
    }
    expect(ws.exists('pwned'), 'the value was one shell word').to.equal(false);
    expect(ws.exists('out.txt'), 'the workspace was not run').to.equal(false);
  });

  it('runs a command that reads a script it does not declare, in git and outside it', async () => {
    for (const inGit of [false, true]) {
      const ws = makeWorkspace({
        yaml: `version: 1
stages:
  tool:
    cmd: node tool.js \${word}
    params: {word: plain}
    outs: [out.txt]
`,
        files: { 'tool.js': "require('node:fs').writeFileSync('out.txt', 'tool ' + process.argv[2]);\n", 'ignored/big.bin': 'x' },
      });
      if (inGit) {
        ws.write('.gitignore', 'ignored/\n');
        execFileSync('git', ['init', '-q'], { cwd: ws.dir });
      }
      const r = await ws.run(['exp', 'run', '--grid', 'tool.word=a,b', '--json']);
      expect(r.exitCode, `${inGit ? 'in git' : 'outside git'}: ${r.stderr}`).to.equal(0);
      const doc = JSON.parse(r.stdout) as { experiments: { changed: Record<string, string>; stages: { outs: { hash: string }[] }[] }[] };
      for (const e of doc.experiments) expect(e.stages[0].outs[0].hash).to.equal(createHash('sha256').update(`tool ${e.changed['tool.word']}`).digest('hex'));
    }
  });

  it('copies the dep a variant names through a swept param, even one git ignores', async () => {
    const ws = makeWorkspace({
      yaml: `version: 1
stages:
  read:
    cmd: cp data/\${split}.csv out.txt
    params: {split: a}
    deps: ["data/\${split}.csv"]
    outs: [out.txt]
`,
      files: { '.gitignore': 'data/\n', 'data/a.csv': 'A', 'data/b.csv': 'B' },
    });
    execFileSync('git', ['init', '-q'], { cwd: ws.dir });
    const r = await ws.run(['exp', 'run', '--grid', 'read.split=a,b', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout) as { experiments: { changed: Record<string, string>; stages: { outs: { hash: string }[] }[] }[] };
    for (const e of doc.experiments) expect(e.stages[0].outs[0].hash).to.equal(createHash('sha256').update(e.changed['read.split'].toUpperCase()).digest('hex'));
  });

  it("never lets a variant write into the workspace through a link, and a relative link out of it still reads its target", async () => {
    const outside = tempDir('exp-outside');
    writeFileSync(path.join(outside, 'y.txt'), 'Y');
    const ws = makeWorkspace({
      yaml: `version: 1
stages:
  scribble:
    cmd: echo \${word} > data/x.txt && cat data/x.txt ext/y.txt > out.txt
    shell: true
    params: {word: plain}
    outs: [out.txt]
`,
      files: { 'real/x.txt': 'X' },
    });
    symlinkSync(ws.path('real'), ws.path('data')); // absolute, into the workspace
    symlinkSync(path.relative(ws.dir, outside), ws.path('ext')); // relative, out of it
    const r = await ws.run(['exp', 'run', '--grid', 'scribble.word=a,b', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.read('real/x.txt'), "the workspace's file behind the link").to.equal('X');
    const doc = JSON.parse(r.stdout) as { experiments: { changed: Record<string, string>; stages: { outs: { hash: string }[] }[] }[] };
    for (const e of doc.experiments) expect(e.stages[0].outs[0].hash).to.equal(createHash('sha256').update(`${e.changed['scribble.word']}\nY`).digest('hex'));
  });
});
