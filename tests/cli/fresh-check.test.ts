// The fresh record is written from the engine's own list of what its decisions read (engine.reads), and obeyed only
// when it covers the decision's inputs; PIPELINE_FRESH_CHECK=1 holds that list against a trace of Node's fs and
// decides in full every run the record would answer, failing loudly on any disagreement.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { FRESH_KEY, FRESH_RECORD } from '../../runner/exec/fresh-record.js';
import { REQUIRED_KINDS } from '../../runner/core/read-set.js';
import { RACY_NS } from '../../runner/store/stat-cache.js';
import { makeWorkspace, repoRoot, waitPastRacyWindow, type Workspace } from '../helpers/workspace.js';

const YAML = `version: 1
stages:
  a:
    cmd: node -e "require('fs').mkdirSync('build',{recursive:true});require('fs').writeFileSync('build/a.txt',require('fs').readFileSync('data/in.txt','utf8'))"
    deps: [data/in.txt, data/*.csv]
    outs: [build/a.txt]
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

type Record_ = Record<string, unknown> & { files: Record<string, string>; inputs: Record<string, string[]> };

/** New bytes in `file`, its atime and mtime put back as they were (only its ctime tells). */
function rewriteKeepingTimes(file: string, text: string): void {
  const { atime, mtime } = statSync(file);
  writeFileSync(file, text);
  utimesSync(file, atime, mtime);
}

describe('cli: the fresh record names what the engine read, and PIPELINE_FRESH_CHECK holds it to that', function () {
  this.timeout(120_000);
  let ws: Workspace;
  let log: string;

  /** `run`, with check mode on or off whatever the suite's environment, and whether the record answered it. */
  const run = async (check: boolean) => {
    const before = existsSync(log) ? readFileSync(log, 'utf8').length : 0;
    const r = await ws.run(['run'], { env: { PIPELINE_FRESH_LOG: log, PIPELINE_FRESH_CHECK: check ? '1' : undefined } });
    const answered = (existsSync(log) ? readFileSync(log, 'utf8').length : 0) > before;
    const statuses = Object.fromEntries([...r.stdout.matchAll(/^(\S+) +(ran|cached|failed|blocked|skipped) /gm)].map((m) => [m[1], m[2]]));
    return { ...r, answered, statuses };
  };
  const recordOf = () => JSON.parse(ws.read(FRESH_RECORD).split('\n').slice(1).join('\n')) as Record_;
  /** A record signed with the workspace's own key (as a stage that read it could sign one). */
  const sign = (record: Record_) => {
    const body = JSON.stringify(record);
    return `${createHmac('sha256', readFileSync(ws.path(FRESH_KEY))).update(body).digest('hex')}\n${body}`;
  };
  const certify = async (check: boolean) => {
    await waitPastRacyWindow(ws.dir, RACY_NS);
    const r = await run(check);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(ws.exists(FRESH_RECORD), 'the record is written').to.equal(true);
  };

  beforeEach(async () => {
    ws = makeWorkspace({ yaml: YAML, files: { 'data/in.txt': 'one\n', 'data/x.csv': '1\n', 'stages/m.ts': MODULE, 'stages/lib.ts': 'export const twice = (s: string) => s + s;\n' } });
    log = path.join(os.tmpdir(), `pipeline-fresh-check-${process.pid}-${Date.now()}.log`);
    const first = await run(false);
    expect(first.exitCode, first.stderr).to.equal(0);
  });
  afterEach(() => {
    ws.cleanup();
    rmSync(log, { force: true });
  });

  it("lists the decision's inputs by kind, each among its files: the config, pipeline.lock, deps, outs, code and packages", async () => {
    await certify(true);
    const record = recordOf();
    expect(Object.keys(record.inputs).sort()).to.deep.equal([...REQUIRED_KINDS].sort());
    const root = ws.dir;
    expect(record.inputs.config).to.include(path.join(root, 'pipeline.yaml'));
    expect(record.inputs.config).to.include(path.join(root, 'pipeline.local.yaml'));
    expect(record.inputs.lock).to.deep.equal([path.join(root, 'pipeline.lock')]);
    expect(record.inputs.dep).to.include.members([path.join(root, 'data/in.txt'), path.join(root, 'data/x.csv')]);
    expect(record.inputs.out).to.include.members([path.join(root, 'build/a.txt'), path.join(root, 'build/m.txt')]);
    expect(record.inputs.code).to.include.members([path.join(root, 'stages/m.ts'), path.join(root, 'stages/lib.ts')]);
    for (const list of Object.values(record.inputs)) for (const file of list) expect(record.files, file).to.have.property(file);
    // The lookups a module's imports made (`./lib.js` tried as lib.js before lib.ts) and the glob's folder.
    expect(record.files).to.have.property(path.join(root, 'stages/lib.js'), '-');
    expect(record.files).to.have.property(path.join(root, 'data'));
    expect((await run(false)).answered).to.equal(true);
  });

  it('a signed record lacking a required file is not obeyed (pipeline.lock, the config, a dep it lists as an input)', async () => {
    await certify(false);
    const record = recordOf();
    const without = (file: string): Record_ => {
      const files = { ...record.files };
      delete files[file];
      return { ...record, files };
    };
    const lock = path.join(ws.dir, 'pipeline.lock');
    const cases: [string, Record_][] = [
      ['pipeline.lock not among its files', without(lock)],
      ['pipeline.lock not among its inputs nor its files', { ...without(lock), inputs: { ...record.inputs, lock: [] } }],
      ['pipeline.yaml not among its files', without(path.join(ws.dir, 'pipeline.yaml'))],
      ['a dep it names as an input not among its files', without(path.join(ws.dir, 'data/in.txt'))],
      ['no inputs', { ...record, inputs: undefined as unknown as Record<string, string[]> }],
      ['a kind of input missing', { ...record, inputs: { ...record.inputs, code: undefined as unknown as string[] } }],
    ];
    // The control: the record as written answers.
    ws.write(FRESH_RECORD, sign(record));
    expect((await run(false)).answered, 'the record as written').to.equal(true);
    for (const [what, forged] of cases) {
      ws.write(FRESH_RECORD, sign(forged));
      const r = await run(false);
      expect(r.answered, what).to.equal(false);
      expect(r.exitCode, what).to.equal(0);
    }
  });

  it('check mode decides in full a run the record would answer: agreeing, it prints the same answer; a record that misses a dep fails loudly, naming the stage', async () => {
    await certify(false);
    const agreed = await run(true);
    expect(agreed.exitCode, agreed.stderr).to.equal(0);
    expect(agreed.answered, 'logged as answered: the engine agreed').to.equal(true);
    expect(agreed.stdout).to.match(/^a +cached +0ms {2}up to date\nm +cached +0ms {2}up to date\n2 stages: 0 ran, 2 cached/);
    await waitPastRacyWindow(ws.dir, RACY_NS);
    await run(false); // the record again (the checked run rewrote it; a file it wrote may be too young)
    expect(ws.exists(FRESH_RECORD)).to.equal(true);
    // A record that does not name data/in.txt at all (files and inputs alike), signed: the lie the check must catch.
    const record = recordOf();
    const dep = path.join(ws.dir, 'data/in.txt');
    const files = { ...record.files };
    delete files[dep];
    const lying = { ...record, files, inputs: { ...record.inputs, dep: record.inputs.dep.filter((f) => f !== dep) } };
    ws.write(FRESH_RECORD, sign(lying));
    rewriteKeepingTimes(dep, 'two\n');
    // Without check mode the lie is obeyed (only the HMAC stands between it and a run): what the check exists to find.
    expect((await run(false)).answered).to.equal(true);
    const caught = await run(true);
    expect(caught.exitCode).to.equal(1);
    expect(caught.stderr).to.include('PIPELINE_FRESH_CHECK');
    expect(caught.stderr).to.match(/^ {2}a: the record answered `a cached \(up to date\)`, the engine decided `a ran/m);
    expect(caught.answered).to.equal(false);
    expect(caught.statuses).to.deep.equal({ a: 'ran', m: 'ran' });
  });

  it("bin/fresh.js requires the kinds of input the engine names (its copy of REQUIRED_KINDS)", async () => {
    const fresh = (await import(path.join(repoRoot, 'bin', 'fresh.js'))) as { REQUIRED_KINDS: string[] };
    expect(fresh.REQUIRED_KINDS).to.deep.equal([...REQUIRED_KINDS]);
  });

  it("check mode fails a run that writes a record when the traced run consulted a path the engine's list lacks, naming it", () => {
    // bin/fresh.js's recorder in a process of its own (it wraps fs): a file read during the run that the engine's
    // list leaves out is named and the run's exit code becomes 1; the same list with it passes.
    const script = `
      const fs = require('node:fs'), path = require('node:path');
      const fresh = require(${JSON.stringify(path.join(repoRoot, 'bin', 'fresh.js'))});
      const bundle = ${JSON.stringify(path.join(repoRoot, 'dist', 'cli', 'main.cjs'))};
      const root = process.cwd();
      const rec = fresh.recorder(['run'], bundle);
      fs.readFileSync(path.join(root, 'pipeline.yaml'));
      fs.statSync(path.join(root, 'data', 'in.txt'));
      const view = { width: 1, color: false, stages: [['a', 'cached', 'up to date']] };
      const stdout = fresh.render(view, 0);
      const inputs = { config: [path.join(root, 'pipeline.yaml')], lock: [path.join(root, 'pipeline.lock')], dep: [], out: [], code: [], package: [] };
      const files = [path.join(root, 'pipeline.yaml'), path.join(root, 'pipeline.lock')];
      if (process.argv[1] === 'complete') files.push(path.join(root, 'data', 'in.txt'));
      rec.decided(view.stages);
      rec.certify(root, { stdout, view, lastRun: {}, history: {}, files, inputs });
      process.exitCode = rec.finish(0);
    `;
    const child = (list: string) => spawnSync(process.execPath, ['-e', script, list], { cwd: ws.dir, encoding: 'utf8', env: { ...process.env, PIPELINE_FRESH_CHECK: '1' } });
    const short = child('short');
    expect(short.status, short.stderr).to.equal(1);
    expect(short.stderr).to.include("PIPELINE_FRESH_CHECK: the run consulted 1 path(s) the engine's list lacks");
    expect(short.stderr).to.include(`  ${path.join(ws.dir, 'data', 'in.txt')}\n`);
    const complete = child('complete');
    expect(complete.status, complete.stderr).to.equal(0);
    expect(complete.stderr).to.equal('');
  });
});
