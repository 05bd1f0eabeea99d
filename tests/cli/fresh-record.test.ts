// The fresh record (bin/fresh.js): a `run` that found everything up to date, once every file it consulted is older
// than the racy window, writes .pipeline/state/fresh.json; the same run is then answered by stat alone. Any change
// of what the run consulted (a dep, a glob's folder, the config, the command line, the environment, an out, the
// module's code, pipeline.lock) makes the next run an ordinary one; so does any holder of the run lock.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FRESH_KEY, FRESH_RECORD } from '../../runner/exec/fresh-record.js';
import { ENTRY_NAME, KEEP_ENTRIES } from '../../runner/report/history.js';
import { tempOwner } from '../../runner/core/atomic.js';
import { formatDuration } from '../../runner/report/progress.js';
import { RACY_NS } from '../../runner/store/stat-cache.js';
import { makeWorkspace, repoRoot, waitPastRacyWindow, type Workspace } from '../helpers/workspace.js';

const YAML = `version: 1
params: {n: 1}
stages:
  a:
    cmd: node -e "const fs=require('fs');fs.mkdirSync('build/parts',{recursive:true});fs.writeFileSync('build/parts/p.txt','p');fs.writeFileSync('build/a.txt',fs.readFileSync('data/in.txt','utf8')+fs.readdirSync('data').join(','))"
    deps: [data/in.txt, data/*.csv]
    outs: [build/a.txt, build/parts]
  m:
    module: stages/m.ts
    needs: [a]
    outs: [build/m.txt]
`;

const MODULE = `import { readFileSync, writeFileSync } from 'node:fs';
import { twice } from './lib.js';
export default (ctx: { inputs: Record<string, Record<string, string>>; outs: Record<string, string> }) => {
  writeFileSync(ctx.outs['build/m.txt'], twice(readFileSync(ctx.inputs.a['build/a.txt'], 'utf8')));
};
`;

/** New bytes in `file`, its atime and mtime put back as they were (only its ctime tells). */
function rewriteKeepingTimes(file: string, text: string): void {
  const { atime, mtime } = statSync(file);
  writeFileSync(file, text);
  utimesSync(file, atime, mtime);
}


describe('cli: the fresh record (a no-op run answered by stat)', function () {
  this.timeout(120_000);
  let ws: Workspace;
  let log: string;

  /** `run ARGS`, and whether the fresh record answered it. */
  const run = async (args: string[] = [], env: Record<string, string> = {}) => {
    const before = existsSync(log) ? readFileSync(log, 'utf8').length : 0;
    const r = await ws.run(['run', ...args], { env: { PIPELINE_FRESH_LOG: log, ...env } });
    const answered = (existsSync(log) ? readFileSync(log, 'utf8').length : 0) > before;
    const statuses = Object.fromEntries([...r.stdout.matchAll(/^(\S+) +(ran|cached|failed|blocked|skipped) /gm)].map((m) => [m[1], m[2]]));
    return { ...r, answered, statuses };
  };
  /** Past the racy window: every file of the workspace is older than RACY_NS, so a run may certify them by stat. */
  const settle = () => waitPastRacyWindow(ws.dir, RACY_NS);
  /** Wait out the racy window and run the no-op that writes the record; the next identical run is answered. */
  const certify = async (args: string[] = [], env: Record<string, string> = {}) => {
    await settle();
    const r = await run(args, env);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.answered).to.equal(false);
    expect(ws.exists(FRESH_RECORD), 'the record is written').to.equal(true);
    return r;
  };
  /** Output with every duration (and its padding) as T. */
  const shape = (text: string) => text.replace(/ +\d+(\.\d+)?m?s {2}/g, ' T  ').replace(/\(\d+(\.\d+)?m?s\)/, '(T)');
  const history = () => readdirSync(ws.path('.pipeline/history')).filter((n) => n.endsWith('.json')).length;

  beforeEach(async () => {
    ws = makeWorkspace({ yaml: YAML, files: { 'data/in.txt': 'one\n', 'data/x.csv': '1\n', 'stages/m.ts': MODULE, 'stages/lib.ts': 'export const twice = (s: string) => s + s;\n' } });
    log = path.join(os.tmpdir(), `pipeline-fresh-${process.pid}-${Date.now()}.log`);
    const first = await run();
    expect(first.exitCode, first.stdout + first.stderr).to.equal(0);
    expect(first.statuses).to.deep.equal({ a: 'ran', m: 'ran' });
  });
  afterEach(() => {
    ws.cleanup();
    rmSync(log, { force: true });
  });

  it('an edit to pipeline.local.yaml after a certified no-op makes the next run an ordinary one that sees the new value', async () => {
    ws.write('pipeline.local.yaml', 'params:\n  n: 1\n');
    await certify();
    expect((await run()).answered).to.equal(true);
    ws.write('pipeline.local.yaml', 'params:\n  n: 2\n');
    const changed = await run();
    expect(changed.answered).to.equal(false);
    expect(changed.exitCode, changed.stderr).to.equal(0);
    expect(changed.statuses.a).to.equal('ran');
    expect(changed.stdout).to.include('changed param `n` (1 → 2), overridden in pipeline.local.yaml');
  });

  it('is written by a no-op once its files are past the racy window; the same run is then answered: same lines, exit 0, last-run.json and history written', async () => {
    // A dep rewritten with the same bytes just now: still fresh, but too new to be certified by stat (however slow
    // the machine, which a wait after the first run could not promise).
    ws.write('data/in.txt', 'one\n');
    const young = await run();
    expect(young.statuses).to.deep.equal({ a: 'cached', m: 'cached' });
    expect(ws.exists(FRESH_RECORD), 'not while a file it consulted is younger than the racy window').to.equal(false);
    const plain = await certify();
    const entries = history();
    const lastRun = ws.read('.pipeline/last-run.json');
    const answer = await run();
    expect(answer.answered).to.equal(true);
    expect(answer.exitCode).to.equal(0);
    expect(answer.stderr).to.equal('');
    expect(shape(answer.stdout)).to.equal(shape(plain.stdout));
    expect(answer.stdout).to.match(/^a +cached +0ms {2}up to date\nm +cached +0ms {2}up to date\n2 stages: 0 ran, 2 cached, 0 failed, 0 blocked \(\d+ms\)\n$/);
    expect(history()).to.equal(entries + 1);
    const [was, now] = [JSON.parse(lastRun) as { startedAt: string; stages: unknown[] }, JSON.parse(ws.read('.pipeline/last-run.json')) as { startedAt: string; stages: unknown[] }];
    expect(now.startedAt > was.startedAt).to.equal(true);
    expect(now.stages.map((s) => ({ ...(s as object), durationMs: 0 }))).to.deep.equal(was.stages.map((s) => ({ ...(s as object), durationMs: 0 })));
    expect((await run()).answered, 'and again').to.equal(true);
  });

  const changes: [string, (ws: Workspace) => void | Promise<unknown>, string[], Record<string, string>][] = [
    ['a dep rewritten with its size and mtime kept', (w) => rewriteKeepingTimes(w.path('data/in.txt'), 'two\n'), [], { a: 'ran', m: 'ran' }],
    ['a new file matching a glob dep', (w) => w.write('data/y.csv', '2\n'), [], { a: 'ran', m: 'ran' }],
    ['a file inside a folder out rewritten with its size and mtime kept', (w) => rewriteKeepingTimes(w.path('build/parts/p.txt'), 'q'), [], { a: 'cached', m: 'cached' }],
    ['a new file in a folder out', (w) => w.write('build/parts/extra.txt', 'x'), [], { a: 'cached', m: 'cached' }],
    ['pipeline.yaml edited', (w) => w.write('pipeline.yaml', YAML.replace("data/in.txt','utf8')", "data/in.txt','utf8')+'!'")), [], { a: 'ran', m: 'ran' }],
    ['a module-local import edited', (w) => w.write('stages/lib.ts', 'export const twice = (s: string) => s + s + s;\n'), [], { a: 'cached', m: 'ran' }],
    ['an out removed', (w) => w.remove('build/m.txt'), [], { a: 'cached', m: 'cached' }],
    ['pipeline.lock touched', (w) => utimesSync(w.path('pipeline.lock'), new Date(), new Date()), [], { a: 'cached', m: 'cached' }],
    ['another holder of the run lock (gc)', (w) => w.run(['gc']), [], { a: 'cached', m: 'cached' }],
  ];
  for (const [what, change, args, statuses] of changes) {
    it(`${what}: the next run is an ordinary one`, async () => {
      await certify(args);
      await change(ws);
      const r = await run(args);
      expect(r.answered).to.equal(false);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.statuses).to.deep.equal(statuses);
    });
  }

  it('another command line, folder or environment is an ordinary run; --json, --verbose and --force runs write no record', async () => {
    await certify();
    expect((await run(['--set', 'n=1'])).answered).to.equal(false);
    expect((await run(['a'])).answered).to.equal(false);
    expect((await run([], { HOME_EXTRA: '1' })).answered).to.equal(false);
    expect((await ws.run(['run'], { cwd: 'stages', env: { PIPELINE_FRESH_LOG: log } })).exitCode).to.equal(0);
    expect(existsSync(log), 'from a subfolder').to.equal(false);
    for (const flag of ['--json', '--verbose', '--force']) {
      rmSync(ws.path(FRESH_RECORD), { force: true });
      await settle();
      expect((await run([flag])).exitCode).to.equal(0);
      expect(ws.exists(FRESH_RECORD), flag).to.equal(false);
    }
  });

  it('an answer into a closed pipe: no stack trace, exit 0, the history still written', async () => {
    // Both through bash, whose environment (SHLVL, PWD) is part of the record's key.
    const bash = (pipe: string) => ws.run(['run'], { env: { PIPELINE_FRESH_LOG: log }, via: ['bash', '-c', `"$@" ${pipe}; echo "exit \${PIPESTATUS[0]}" >&2`, 'bash'] });
    await settle();
    expect((await bash('| cat > /dev/null')).stderr).to.equal('exit 0\n');
    expect(ws.exists(FRESH_RECORD)).to.equal(true);
    const entries = history();
    const r = await bash('| head -c 0');
    expect(readFileSync(log, 'utf8')).to.equal('run\n');
    expect(r.stderr).to.equal('exit 0\n');
    expect(history()).to.equal(entries + 1);
  });

  /** The record's text without its HMAC line, parsed. */
  const recordOf = () => JSON.parse(ws.read(FRESH_RECORD).split('\n').slice(1).join('\n')) as Record<string, unknown> & { view: { stages: string[][] } };
  /** A record signed with `key` (by default the workspace's own, as a stage that read it could). */
  const sign = (body: string, key: Buffer = readFileSync(ws.path(FRESH_KEY))) => `${createHmac('sha256', key).update(body).digest('hex')}\n${body}`;

  it('a damaged, foreign, unsigned or mis-signed record changes nothing a run prints or does', async () => {
    const plain = await certify();
    const record = recordOf();
    const body = JSON.stringify(record);
    const bad = [
      '', '{', 'null', '[]', body, // no HMAC line
      sign(JSON.stringify({ ...record, format: 1 })), sign(JSON.stringify({ ...record, files: null })), sign(JSON.stringify({ ...record, argv: 'run' })), sign(JSON.stringify({ ...record, view: 1 })),
      sign(body, Buffer.alloc(32, 7)), // another workspace's key
      sign(body).replace(/^./, (c) => (c === '0' ? '1' : '0')), // one character of the HMAC changed
    ];
    for (const text of bad) {
      ws.write(FRESH_RECORD, text);
      const r = await run();
      expect(r.answered, text.slice(0, 30)).to.equal(false);
      expect(r.exitCode).to.equal(0);
      expect(shape(r.stdout)).to.equal(shape(plain.stdout));
    }
  });

  it('a record edited by hand after an input changed (`files: {}`) answers nothing, even signed with another key', async () => {
    await certify();
    const record = recordOf();
    rewriteKeepingTimes(ws.path('data/in.txt'), 'two\n');
    ws.write(FRESH_RECORD, `${'0'.repeat(64)}\n${JSON.stringify({ ...record, files: {} })}`);
    const r = await run();
    expect(r.answered).to.equal(false);
    expect(r.statuses).to.deep.equal({ a: 'ran', m: 'ran' });
  });

  it('a record copied from another workspace, key and all, answers nothing there', async () => {
    await certify();
    const other = makeWorkspace({ yaml: YAML, files: { 'data/in.txt': 'one\n', 'data/x.csv': '1\n', 'stages/m.ts': MODULE, 'stages/lib.ts': 'export const twice = (s: string) => s + s;\n' } });
    try {
      expect((await other.run(['run'])).exitCode).to.equal(0);
      await waitPastRacyWindow(other.dir, RACY_NS);
      expect((await other.run(['run'])).exitCode).to.equal(0);
      // The other workspace's record (its own key) placed here: its folder and files are not this one's.
      ws.write(FRESH_RECORD, other.read(FRESH_RECORD));
      expect((await run()).answered).to.equal(false);
    } finally {
      other.cleanup();
    }
  });

  it('a record a stage plants during a run does not outlive the run, signed with the key or not', async () => {
    await certify();
    const good = ws.read(FRESH_RECORD);
    // A stage that runs (the param changed) and writes the record it read before, and a forged one, as the run ends.
    ws.write('plant.js', `const fs = require('fs'); fs.writeFileSync('${FRESH_RECORD}', fs.readFileSync('good.txt', 'utf8')); fs.writeFileSync('build/p.txt', 'p');`);
    ws.write('good.txt', good);
    ws.write('pipeline.yaml', YAML + '  p:\n    cmd: node plant.js\n    deps: [plant.js]\n    outs: [build/p.txt]\n');
    const r = await run();
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.statuses.p).to.equal('ran');
    expect(ws.exists(FRESH_RECORD), 'no record after a run that executed a stage').to.equal(false);
  });

  it('rendered from data: a reason holding terminal escapes, a status or a name that is not one, answer nothing', async () => {
    await certify();
    const record = recordOf();
    const [first] = record.view.stages;
    for (const stage of [[first[0], first[1], 'up to date\u001b]0;owned\u0007'], [first[0], 'ran', first[2]], ['../x', first[1], first[2]], [first[0], first[1], 'a\nb']]) {
      ws.write(FRESH_RECORD, sign(JSON.stringify({ ...record, view: { ...record.view, stages: [stage, ...record.view.stages.slice(1)] } })));
      const r = await run();
      expect(r.answered, JSON.stringify(stage)).to.equal(false);
      expect(r.stdout).to.not.include('\u001b');
    }
  });

  it('never writes or removes outside .pipeline/: a symlinked history folder answers nothing and its target is untouched', async () => {
    await certify();
    const outside = mkdtempSync(path.join(os.tmpdir(), 'pipeline-fresh-outside-'));
    try {
      for (let i = 0; i < 250; i++) writeFileSync(path.join(outside, `${String(i).padStart(4, '0')}.json`), '{}');
      rmSync(ws.path('.pipeline/history'), { recursive: true, force: true });
      symlinkSync(outside, ws.path('.pipeline/history'));
      const r = await run();
      expect(r.answered).to.equal(false);
      expect(r.stderr).to.include('`.pipeline/history` is a symlink: the run history is kept only in a folder of the workspace\'s own');
      expect(readdirSync(outside).filter((n) => /^\d{4}\.json$/.test(n))).to.have.length(250);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('the key is a 0600 file of 32 bytes; a key others may read answers nothing and is replaced at the next record', async () => {
    await certify();
    const st = statSync(ws.path(FRESH_KEY));
    expect([st.mode & 0o777, st.size]).to.deep.equal([0o600, 32]);
    chmodSync(ws.path(FRESH_KEY), 0o644);
    // Not answered; the ordinary run writes a new record with a new key.
    expect((await run()).answered).to.equal(false);
    expect(statSync(ws.path(FRESH_KEY)).mode & 0o777).to.equal(0o600);
    expect((await run()).answered).to.equal(true);
  });

  it('bin/fresh.js and the engine name the same record, and its copies of the engine agree with the engine', async () => {
    const fresh = (await import(path.join(repoRoot, 'bin', 'fresh.js'))) as {
      RECORD: string;
      KEY: string;
      HISTORY_KEEP: number;
      HISTORY_ENTRY: RegExp;
      RACY_NS: bigint;
      formatDuration: (ms: number) => string;
      tempPathFor: (target: string) => string;
    };
    expect(fresh.RECORD).to.equal(FRESH_RECORD);
    expect(fresh.KEY).to.equal(FRESH_KEY);
    expect(fresh.HISTORY_KEEP).to.equal(KEEP_ENTRIES);
    expect(fresh.HISTORY_ENTRY.source).to.equal(ENTRY_NAME.source);
    expect(fresh.RACY_NS).to.equal(RACY_NS);
    for (const ms of [0, 0.4, 6, 999.4, 999.6, 1000, 1234.5, 61_000]) expect(fresh.formatDuration(ms), String(ms)).to.equal(formatDuration(ms));
    const tmp = fresh.tempPathFor('/w/.pipeline/last-run.json');
    expect(path.dirname(tmp)).to.equal('/w/.pipeline');
    expect(tempOwner(path.basename(tmp))).to.equal(process.pid);
  });
});
