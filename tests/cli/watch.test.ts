// `pipeline watch` through the real CLI, its `--json` lines as the handshake: an edit runs the stages that read the
// file, a save that keeps the bytes runs nothing, outs the runner writes start nothing, the workspace is free
// between runs (`status`, `run --no-wait`), an edit while a stage runs stops it (previous outs back) and runs it
// again with the new bytes, a config with errors is shown and the next save recovers, a stage that writes what it
// reads is said once and not looped, Ctrl-C exits 130 with the outs as they were.
import { expect } from 'chai';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { STAGE_SCRIPT, executions, makeWorkspace, waitFor, type CliProcess, type Workspace } from '../helpers/workspace.js';

const YAML = `version: 1
stages:
  first:
    cmd: node stage.js build/first.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/first.txt]
    params: {value: one, hold: ''}
  second:
    cmd: node stage.js build/second.txt build/first.txt
    needs: [first]
    deps: [stage.js]
    outs: [build/second.txt]
  other:
    cmd: node stage.js build/other.txt data/other.txt
    deps: [stage.js, data/other.txt]
    outs: [build/other.txt]
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Line = Record<string, any>;

/** The complete JSON lines the CLI has written so far. */
function lines(child: CliProcess): Line[] {
  const text = child.output.stdout;
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);
}

const ofType = (child: CliProcess, type: string) => lines(child).filter((l) => l.type === type);

/** Wait until the CLI has said `type` `n` times. */
async function nth(child: CliProcess, type: string, n: number): Promise<void> {
  await waitFor(() => ofType(child, type).length >= n, 60_000, `${type} #${n}`, child);
}

/** The lines after the n-th `watch-waiting` (up to the next one, or the end). */
function cycle(child: CliProcess, n: number): Line[] {
  const all = lines(child);
  const at: number[] = [];
  all.forEach((l, i) => l.type === 'watch-waiting' && at.push(i));
  return all.slice(n === 0 ? 0 : at[n - 1] + 1, at[n] ?? all.length);
}

/** Wait until `runs` runs have finished and the CLI waits for the next change. */
async function settled(child: CliProcess, runs: number): Promise<void> {
  await waitFor(() => ofType(child, 'run-finished').length >= runs && lines(child).at(-1)?.type === 'watch-waiting', 60_000, `run #${runs} and the wait after it`, child);
}

const startedIn = (ls: Line[]) => ls.filter((l) => l.type === 'stage-started').map((l) => l.name as string);

describe('cli: pipeline watch', function () {
  const spaces: Workspace[] = [];
  const make = (yaml = YAML) => {
    const ws = makeWorkspace({ yaml, files: { 'stage.js': STAGE_SCRIPT, 'data/raw.txt': 'raw 1\n', 'data/other.txt': 'other\n' } });
    spaces.push(ws);
    return ws;
  };
  after(() => spaces.forEach((w) => w.cleanup()));

  it('runs once; an edit runs what reads it; the same bytes saved run nothing; outs written start nothing; the workspace is free between runs; Ctrl-C exits 130', async () => {
    const ws = make();
    const child = ws.spawn(['watch', '--json', 'second']);
    await nth(child, 'watch-waiting', 1);
    expect(startedIn(cycle(child, 0))).to.deep.equal(['first', 'second']);
    expect(ofType(child, 'run-finished')[0].run.exitCode).to.equal(0);
    // `other` is not selected: its file is not watched.
    expect(ofType(child, 'watch-waiting')[0].files).to.equal(6); // pipeline.yaml, .local.yaml, .lock, stage.js, data/raw.txt, and pipeline.yml (looked for)

    // Between runs the lock is free: another command takes the workspace at once.
    const status = await ws.run(['status', '--json']);
    expect(status.exitCode, status.stderr).to.equal(0);
    const other = await ws.run(['run', '--no-wait', 'other']);
    expect(other.exitCode, other.stderr).to.equal(0);

    ws.write('data/raw.txt', 'raw 2\n');
    await settled(child, 2);
    expect(startedIn(lines(child)), child.output.stdout.split('\n').map((l) => l.slice(0, 160)).join('\n')).to.deep.equal(['first', 'second', 'first', 'second']);
    // What the runs wrote (outs, .pipeline/, this run's pipeline.lock) is never a change; `run other` wrote pipeline.lock.
    const changed = ofType(child, 'watch-change').flatMap((l) => l.paths as string[]);
    expect(changed).to.include('data/raw.txt');
    expect(changed.filter((p) => p !== 'data/raw.txt' && p !== 'pipeline.lock')).to.deep.equal([]);
    expect(ws.read('build/second.txt')).to.equal('one\nraw 2\n');

    // A save that keeps the bytes: seen, planned, nothing runs.
    const seen = lines(child).length;
    ws.write('data/raw.txt', 'raw 2\n');
    await waitFor(() => lines(child).slice(seen).some((l) => l.type === 'watch-change' && l.paths.includes('data/raw.txt')) && lines(child).at(-1)?.type === 'watch-waiting', 60_000, 'the save to be planned', child);
    expect(startedIn(lines(child).slice(seen))).to.deep.equal([]);
    expect(ofType(child, 'run-finished')).to.have.length(2);

    child.kill('SIGINT');
    const r = await child.result;
    expect(r.exitCode, r.stderr).to.equal(130);
    expect(ws.read('build/second.txt')).to.equal('one\nraw 2\n');
    expect(executions(ws).filter((s) => s === 'first')).to.have.length(2);
  });

  it('an edit while a stage runs stops it (its previous out back), and runs it again with the new bytes', async () => {
    const ws = make();
    ws.write('go', '');
    const child = ws.spawn(['watch', '--json', 'first', '--set', 'first.hold=go']);
    await nth(child, 'watch-waiting', 1);
    ws.remove('go');
    ws.write('data/raw.txt', 'raw 2\n');
    await waitFor(() => ws.lines('started.log').length === 2, 60_000, 'the edited stage to start', child);
    ws.write('data/raw.txt', 'raw 3\n');
    await waitFor(() => ofType(child, 'watch-change').some((l) => l.cancelled?.includes('first')), 60_000, 'the stage to be stopped', child);
    await waitFor(() => ws.lines('started.log').length === 3, 60_000, 'the stage to start again', child);
    const stopped = ofType(child, 'stage-finished').find((l) => l.stage.outcome.kind === 'failed');
    expect(stopped?.stage.outcome.cause.kind).to.equal('interrupted');
    ws.write('go', '');
    await nth(child, 'watch-waiting', 2);
    expect(ws.read('build/first.txt')).to.equal('one\nraw 3\n');
    const last = ofType(child, 'stage-started').at(-1)!;
    expect(last.reasons.map((r: Line) => r.code)).to.include('input-changed');
    child.kill('SIGINT');
    expect((await child.result).exitCode).to.equal(130);
  });

  it('watches a module stage\'s imports (an editor\'s save by rename too) and pipeline.local.yaml', async () => {
    const yaml = `version: 1
stages:
  m:
    module: mod/m.ts
    outs: [build/m.txt]
  first:
    cmd: node stage.js build/first.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/first.txt]
    params: {value: one}
`;
    const ws = make(yaml);
    ws.write('mod/lib.ts', "export const word = 'one';\n");
    ws.write('mod/m.ts', "import { mkdirSync, writeFileSync } from 'node:fs';\nimport { word } from './lib.js';\nexport default async function (): Promise<void> {\n  mkdirSync('build', { recursive: true });\n  writeFileSync('build/m.txt', word + '\\n');\n}\n");
    const child = ws.spawn(['watch', '--json']);
    await settled(child, 1);
    // Saved as editors do: a new file renamed over the old one (the watched inode is gone).
    ws.write('mod/.lib.ts.tmp', "export const word = 'two';\n");
    renameSync(ws.path('mod/.lib.ts.tmp'), ws.path('mod/lib.ts'));
    await settled(child, 2);
    expect(ws.read('build/m.txt')).to.equal('two\n');
    expect(ofType(child, 'stage-started').at(-1)).to.deep.include({ name: 'm' });
    expect(ofType(child, 'stage-started').at(-1)!.reasons.map((r: Line) => r.code)).to.deep.equal(['code-changed']);
    ws.write('mod/.lib.ts.tmp', "export const word = 'three';\n");
    renameSync(ws.path('mod/.lib.ts.tmp'), ws.path('mod/lib.ts'));
    await settled(child, 3);
    expect(ws.read('build/m.txt')).to.equal('three\n');
    // A machine-local param: only the stage that reads it runs.
    ws.write('pipeline.local.yaml', 'params:\n  first.value: local\n');
    await settled(child, 4);
    expect(startedIn(lines(child)).at(-1)).to.equal('first');
    expect(ws.read('build/first.txt')).to.equal('local\nraw 1\n');
    expect(startedIn(lines(child))).to.have.length(5);
    child.kill('SIGINT');
    expect((await child.result).exitCode).to.equal(130);
  });

  it('watches where a module\'s imports were looked for: a lib.ts added beside lib.js changes what `./lib` means', async () => {
    const ws = make('version: 1\nstages:\n  m:\n    module: mod/m.ts\n    outs: [build/m.txt]\n');
    ws.write('mod/lib.js', "export const word = 'from-js';\n");
    ws.write('mod/m.ts', "import { mkdirSync, writeFileSync } from 'node:fs';\nimport { word } from './lib';\nexport default async function (): Promise<void> {\n  mkdirSync('build', { recursive: true });\n  writeFileSync('build/m.txt', word + '\\n');\n}\n");
    const child = ws.spawn(['watch', '--json']);
    await settled(child, 1);
    expect(ws.read('build/m.txt')).to.equal('from-js\n');
    ws.write('mod/lib.ts', "export const word = 'from-ts';\n");
    await settled(child, 2);
    expect(ws.read('build/m.txt')).to.equal('from-ts\n');
    expect(startedIn(lines(child))).to.deep.equal(['m', 'm']);
    child.kill('SIGINT');
    expect((await child.result).exitCode).to.equal(130);
  });

  it('watches a dep outside the workspace, and a folder dep with what is below it', async () => {
    const yaml = `version: 1
stages:
  out:
    cmd: node stage.js build/out.txt ../outside.txt
    deps: [stage.js, ../outside.txt]
    outs: [build/out.txt]
  tree:
    cmd: [sh, -c, 'mkdir -p build && cat data/tree/*/* > build/tree.txt']
    deps: [data/tree]
    outs: [build/tree.txt]
`;
    const ws = make(yaml);
    writeFileSync(path.join(ws.base, 'outside.txt'), 'out 1\n');
    ws.write('data/tree/a/1.txt', 'a1\n');
    const child = ws.spawn(['watch', '--json']);
    await settled(child, 1);
    writeFileSync(path.join(ws.base, 'outside.txt'), 'out 2\n');
    await settled(child, 2);
    expect(ofType(child, 'watch-change').at(-1)!.paths).to.deep.equal(['../outside.txt']);
    expect(startedIn(lines(child)).slice(2)).to.deep.equal(['out']);
    expect(ws.read('build/out.txt')).to.equal('out 2\n');
    // A new file deep in a folder dep.
    ws.write('data/tree/b/2.txt', 'b2\n');
    await settled(child, 3);
    expect(startedIn(lines(child)).slice(3)).to.deep.equal(['tree']);
    expect(ws.read('build/tree.txt')).to.equal('a1\nb2\n');
    child.kill('SIGINT');
    expect((await child.result).exitCode).to.equal(130);
  });

  it('a config with errors: its diagnostics, then the next good save runs', async () => {
    const ws = make();
    const child = ws.spawn(['watch', '--json', 'first']);
    await nth(child, 'watch-waiting', 1);
    ws.write('pipeline.yaml', YAML.replace('outs: [build/first.txt]', 'outs: 7'));
    await nth(child, 'watch-invalid', 1);
    const invalid = ofType(child, 'watch-invalid')[0];
    expect(invalid.diagnostics[0]).to.include({ file: 'pipeline.yaml' });
    expect(invalid.diagnostics[0].line).to.equal(6);
    expect(child.output.stderr).to.include('pipeline.yaml:6:');
    expect(child.output.stderr).to.include('waiting for the next save');
    ws.write('pipeline.yaml', YAML.replace('value: one', 'value: two'));
    await waitFor(() => startedIn(lines(child)).length === 2, 20_000, 'the fixed config to run', child).catch((e: Error) => { throw new Error(`${e.message}\n${child.output.stdout}\n${child.output.stderr}`); });
    await nth(child, 'watch-waiting', 3);
    expect(ws.read('build/first.txt')).to.equal('two\nraw 1\n');
    child.kill('SIGINT');
    expect((await child.result).exitCode).to.equal(130);
  });

  it('a dep deleted: said, and its return runs; unknown stage names end it with exit 2', async () => {
    const ws = make();
    const child = ws.spawn(['watch', '--json', 'first']);
    await settled(child, 1);
    ws.remove('data/raw.txt');
    await nth(child, 'watch-invalid', 1);
    expect(ofType(child, 'watch-invalid')[0].message).to.match(/pipeline\.yaml:5:\d+: stage `first`: dep `data\/raw\.txt` does not exist/);
    await waitFor(() => lines(child).at(-1)?.type === 'watch-waiting', 60_000, 'the wait after it', child);
    ws.write('data/raw.txt', 'raw back\n');
    await settled(child, 2);
    expect(ws.read('build/first.txt')).to.equal('one\nraw back\n');
    child.kill('SIGINT');
    expect((await child.result).exitCode).to.equal(130);

    const r = await ws.run(['watch', 'frist']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.include('unknown stage `frist`');
  });

  it('started on a config with errors: its diagnostics, then the fixed file runs; Ctrl-C while waiting exits 130', async () => {
    const ws = make(YAML.replace('needs: [first]', 'needs: [frist]'));
    const child = ws.spawn(['watch', '--json', 'second']);
    await nth(child, 'watch-invalid', 1);
    expect(ofType(child, 'watch-invalid')[0].diagnostics.map((d: Line) => [d.code, d.line])).to.deep.equal([['unknown-need', 10]]);
    expect(child.output.stderr).to.include('pipeline.yaml:10:');
    ws.write('pipeline.yaml', YAML);
    await settled(child, 1);
    expect(startedIn(lines(child))).to.deep.equal(['first', 'second']);
    child.kill('SIGINT');
    expect((await child.result).exitCode).to.equal(130);

    // Ctrl-C while the config is still broken.
    ws.write('pipeline.yaml', 'version: 1\nstages: 7\n');
    const broken = ws.spawn(['watch', '--json']);
    await nth(broken, 'watch-invalid', 1);
    broken.kill('SIGINT');
    expect((await broken.result).exitCode).to.equal(130);
  });

  it('Ctrl-C while a stage runs: exit 130, the outs as they were, pipeline.lock untouched', async () => {
    const ws = make();
    ws.write('go', '');
    const child = ws.spawn(['watch', '--json', 'first', '--set', 'first.hold=go']);
    await nth(child, 'watch-waiting', 1);
    const outs = ws.snapshot('build');
    const lock = ws.read('pipeline.lock');
    ws.remove('go');
    ws.write('data/raw.txt', 'raw 2\n');
    await waitFor(() => ws.lines('started.log').length === 2, 60_000, 'the edited stage to start', child);
    child.kill('SIGINT');
    const r = await child.result;
    expect(r.exitCode, r.stderr).to.equal(130);
    expect(ws.snapshot('build')).to.deep.equal(outs);
    expect(ws.read('pipeline.lock')).to.equal(lock);
    const next = await ws.run(['run', '--no-wait', 'first', '--set', 'first.hold=']);
    expect(next.exitCode, next.stderr).to.equal(0);
  });

  it('a stage that writes a file it reads is said once and not looped', async () => {
    const yaml = `version: 1
stages:
  writer:
    cmd: [node, -e, "const fs=require('fs');fs.appendFileSync('data/own.txt','x');fs.mkdirSync('build',{recursive:true});fs.writeFileSync('build/w.txt','w')"]
    deps: [data/own.txt]
    outs: [build/w.txt]
  other:
    cmd: node stage.js build/other.txt data/other.txt
    deps: [stage.js, data/other.txt]
    outs: [build/other.txt]
`;
    const ws = make(yaml);
    ws.write('data/own.txt', '');
    const child = ws.spawn(['watch', '--json']);
    // Its first run fails (its input changed while it ran) and plans again; the second time it is the stage's doing.
    await waitFor(() => ofType(child, 'warning').length > 0 && lines(child).at(-1)?.type === 'watch-waiting', 60_000, 'the warning', child);
    // An edit elsewhere: one more cycle, in which the writer (its input changed by itself) runs once more.
    const seen = lines(child).length;
    ws.write('data/other.txt', 'other 2\n');
    await waitFor(() => startedIn(lines(child).slice(seen)).includes('other') && lines(child).at(-1)?.type === 'watch-waiting', 60_000, 'the edit to run', child);
    const warnings = ofType(child, 'warning').filter((w) => w.code === 'watch-writes-deps');
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include({ stage: 'writer' });
    expect(warnings[0].paths).to.deep.equal(['data/own.txt']);
    // The edit's cycle is one run, not stopped by the writer's own writes: it runs once, `other` once.
    const after = lines(child).slice(seen);
    expect(after.filter((l) => l.type === 'run-finished')).to.have.length(1);
    expect(startedIn(after).sort()).to.deep.equal(['other', 'writer']);
    child.kill('SIGINT');
    expect((await child.result).exitCode).to.equal(130);
  });
});
