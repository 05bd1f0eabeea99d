// Every machine-readable output against its published schema (schemas/), and a golden example of each
// (tests/fixtures/golden/), from real runs of the CLI in temp workspaces: stages that run, are fresh, restored,
// skipped, blocked, fail (exit code, gate verdict, timeout); `status`, `run --dry-run`, `validate` (valid and
// invalid), `metrics` and `metrics --diff`, `dag`, `cache verify` (clean and damaged), and the files a run leaves:
// .pipeline/last-run.json, pipeline.lock, the store's run records, the history, a remote's run records.
//
// A real output that breaks its schema fails here; so does one that still fits but differs from its golden
// example (after volatile values are normalised): a change of shape is then a deliberate edit of the schema and
// the golden file, never drift. UPDATE_GOLDEN=1 rewrites the golden files from the real outputs (the command is in
// schemas/README.md, with the rule for versions: an added optional field keeps `schemaVersion`, a rename or a
// removal bumps it).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { lastRunSchema } from '../../runner/public/last-run.js';
import { STAGE_SCRIPT, makeWorkspace, waitFor, repoRoot, runRecords, storeObject, tempDir, cleanupAll, type CliResult, type Workspace } from '../helpers/workspace.js';
import { describeErrors, goldenFiles, loadSchemas, normalise, readGolden, schemaFiles, updating, validator, writeGolden } from './golden.js';

const PIPELINE = `version: 1
params: {seed: 1}
stages:
  prep:
    cmd: node stage.js build/clean.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/clean.txt]
    params: {value: 1}
  fit:
    module: stages/fit.ts
    needs: [prep]
    outs: [build/model.json, build/parts, build/run.sh]
    metrics: [build/model.json]
    params: {alpha: 0.5}
  score:
    cmd: [node, -e, "require('fs').mkdirSync('build',{recursive:true});require('fs').writeFileSync('build/score.yaml','r2: 0.75\\\\nmae: 1.5\\\\n')"]
    needs: [fit]
    outs: [build/score.yaml]
    metrics: [build/score.yaml]
  gate:
    cmd: node gate.js
    needs: [fit]
    deps: [gate.js]
    gate: true
    params: {min: 0}
  report:
    cmd: node stage.js build/report.txt build/model.json
    needs: [gate]
    deps: [stage.js]
    outs: [build/report.txt]
  side:
    cmd: node stage.js build/side.txt
    deps: [stage.js]
    outs: [build/side.txt]
    params: {value: s, fail: ''}
  slow:
    # a shell stage (it starts at once even on a loaded machine); with hold=never it outlasts its timeout
    cmd: 'case "$PIPELINE_PARAMS" in *never*) exec sleep 60;; esac; mkdir -p build && echo slow > build/slow.txt'
    shell: true
    outs: [build/slow.txt]
    params: {hold: ''}
    timeout: 3
`;

/** A module stage with a JSON metrics file, a folder out and an executable out. */
const FIT = `import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
export default (ctx: { params: { alpha: number }; outs: Record<string, string> }) => {
  writeFileSync(ctx.outs['build/model.json'], JSON.stringify({ r2: 1 - ctx.params.alpha / 2, coef: [ctx.params.alpha, 2] }));
  mkdirSync(path.join(ctx.outs['build/parts'], 'sub'), { recursive: true });
  writeFileSync(path.join(ctx.outs['build/parts'], 'a.txt'), 'a');
  writeFileSync(path.join(ctx.outs['build/parts'], 'sub', 'b.txt'), 'b');
  writeFileSync(ctx.outs['build/run.sh'], '#!/bin/sh\\necho run\\n');
  chmodSync(ctx.outs['build/run.sh'], 0o755);
};
`;

/** A gate: fails with its verdict when the model's r2 is below the param `min`. */
const GATE = `const fs = require('node:fs');
const { min } = JSON.parse(process.env.PIPELINE_PARAMS);
const { r2 } = JSON.parse(fs.readFileSync('build/model.json', 'utf8'));
if (r2 < min) {
  fs.writeFileSync(process.env.PIPELINE_VERDICT_FILE, 'r2 ' + r2 + ' is below ' + min + '\\n');
  process.exit(1);
}
`;

/** Three independent mistakes (an unknown key, an unknown need, two stages writing one out), with related places. */
const BROKEN = `version: 1
stages:
  prepare:
    cmd: node prep.js
    ouths: [build/a.csv]
  train:
    cmd: node train.js
    needs: [prepar]
    outs: [build/model.json]
  report:
    cmd: node report.js
    outs: [build/model.json]
`;

let watched: Workspace | undefined;

/** The lines of `pipeline watch --json` through a run, an edit and its run, and a config with errors, then Ctrl-C. */
async function watchLines(): Promise<Record<string, unknown>[]> {
  const w = makeWorkspace({
    yaml: 'version: 1\nstages:\n  one:\n    cmd: node stage.js build/one.txt data/in.txt\n    deps: [stage.js, data/in.txt]\n    outs: [build/one.txt]\n',
    files: { 'stage.js': STAGE_SCRIPT, 'data/in.txt': 'a\n' },
  });
  watched = w;
  const child = w.spawn(['watch', '--json']);
  const lines = () => {
    const text = child.output.stdout;
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  const count = (type: string) => lines().filter((l) => l.type === type).length;
  await waitFor(() => count('watch-waiting') === 1, 60_000, 'watch to wait', child);
  w.write('data/in.txt', 'b\n');
  await waitFor(() => count('watch-waiting') === 2, 60_000, 'the edit to run', child);
  w.write('pipeline.yaml', 'version: 1\nstages:\n  one:\n    cmd: node stage.js\n    outs: 7\n');
  await waitFor(() => count('watch-invalid') === 1, 60_000, 'the config errors', child);
  child.kill('SIGINT');
  expect((await child.result).exitCode).to.equal(130);
  return lines();
}

/** One real output: its schema, the scenario it comes from, the document. */
interface Output {
  kind: string;
  scenario: string;
  doc: unknown;
}

describe('schemas: every machine-readable output has a published schema and a golden example', function () {
  this.timeout(300_000);
  let ajv: Ajv2020;
  const outputs: Output[] = [];
  /** Goldens pinned: kind.scenario → the normalised real document. */
  const pinned = new Map<string, unknown>();
  let ws: Workspace;

  const folders = (w: Workspace) => ({ [w.dir]: '/workspace', [w.cacheDir]: '/store', [w.base]: '/tmp/base' });
  const seen = (kind: string, scenario: string, doc: unknown) => outputs.push({ kind, scenario, doc });
  const pin = (kind: string, scenario: string, doc: unknown, w: Workspace) => {
    seen(kind, scenario, doc);
    pinned.set(`${kind}.${scenario}`, normalise(doc, folders(w)));
  };
  /** The document a command printed on stdout, which must be one JSON value. */
  const json = (r: CliResult, what: string): unknown => {
    expect(r.json, `${what}: stdout is one JSON value\n${r.stdout}\n${r.stderr}`).to.not.equal(undefined);
    return r.json as unknown;
  };
  const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as unknown;
  /** The files a run leaves: last-run.json, pipeline.lock, every history entry and run record so far. */
  const leftBy = (w: Workspace, scenario: string) => {
    seen('last-run', scenario, readJson(w.path('.pipeline/last-run.json')));
    if (w.exists('pipeline.lock')) seen('lock', scenario, readJson(w.path('pipeline.lock')));
    for (const f of readdirSync(w.path('.pipeline/history'))) seen('history-entry', `${scenario} ${f}`, readJson(w.path(`.pipeline/history/${f}`)));
    for (const { file, record } of runRecords(w.cacheDir)) seen('run-record', `${scenario} ${path.basename(file)}`, record);
  };
  const newestHistory = (w: Workspace) => {
    const names = readdirSync(w.path('.pipeline/history')).sort();
    return readJson(w.path(`.pipeline/history/${names.at(-1)!}`));
  };

  before(async () => {
    ajv = loadSchemas();
    ws = makeWorkspace({ yaml: PIPELINE, files: { 'stage.js': STAGE_SCRIPT, 'gate.js': GATE, 'stages/fit.ts': FIT, 'data/raw.txt': 'A\n' } });

    // 1. A first run: every stage runs.
    const first = await ws.run(['run', '--json']);
    expect(first.exitCode, first.stderr).to.equal(0);
    pin('run', 'first-run', json(first, 'run --json'), ws);
    leftBy(ws, 'first-run');
    pin('lock', 'first-run', readJson(ws.path('pipeline.lock')), ws);
    pin('history-entry', 'first-run', newestHistory(ws), ws);
    const fit = runRecords(ws.cacheDir).find((r) => r.record.stage === 'fit')!;
    pin('run-record', 'module-stage', fit.record, ws);
    const fresh = await ws.run(['status', '--json']);
    seen('status', 'all-fresh', json(fresh, 'status --json'));
    pin('metrics', 'json-and-yaml', json(await ws.run(['metrics', '--json']), 'metrics --json'), ws);
    pin('dag', 'fan', json(await ws.run(['dag', '--format', 'json']), 'dag --format json'), ws);
    // withheldEnv names the variables of the environment the tests run in: only the one set here is pinned.
    const valid = json(await ws.run(['validate', '--json'], { env: { GOLDEN_TOKEN: 'x' } }), 'validate --json') as { withheldEnv: Record<string, string[]> };
    for (const stage of Object.keys(valid.withheldEnv)) valid.withheldEnv[stage] = valid.withheldEnv[stage].filter((n) => n.startsWith('GOLDEN_'));
    pin('validate', 'valid', valid, ws);
    pin('cache-verify', 'clean', json(await ws.run(['cache', 'verify', '--json']), 'cache verify --json'), ws);

    // 2. A changed input: stale stages with their reasons.
    ws.write('data/raw.txt', 'B\n');
    pin('status', 'input-changed', json(await ws.run(['status', '--json']), 'status --json'), ws);

    // 3. A changed param: every metric moves; --diff compares with the run before.
    const second = await ws.run(['run', '--json', '--set', 'fit.alpha=0.7']);
    expect(second.exitCode, second.stderr).to.equal(0);
    seen('run', 'param-changed', json(second, 'run --json'));
    leftBy(ws, 'param-changed');
    pin('metrics-diff', 'changed', json(await ws.run(['metrics', '--diff', '--json']), 'metrics --diff --json'), ws);
    seen('metrics-diff', 'all', json(await ws.run(['metrics', '--diff', '--all', '--json']), 'metrics --diff --all --json'));

    // 4. Back to inputs seen before: the plan restores; a changed gate param runs, what waits on it may run; an
    // unselected stage is left out.
    ws.write('data/raw.txt', 'A\n');
    const plan = await ws.run(['run', '--dry-run', '--json', '--set', 'fit.alpha=0.5', '--set', 'gate.min=0.1', 'report']);
    expect(plan.exitCode, plan.stderr).to.equal(0);
    pin('run-dry-run', 'restore-run-maybe', json(plan, 'run --dry-run --json'), ws);
    seen('run-dry-run', 'mixed', json(await ws.run(['run', '--dry-run', '--json', '--set', 'fit.alpha=0.7']), 'run --dry-run --json'));

    // 5. The run: restored from the store.
    const restored = await ws.run(['run', '--json']);
    expect(restored.exitCode, restored.stderr).to.equal(0);
    pin('run', 'restored', json(restored, 'run --json'), ws);
    leftBy(ws, 'restored');

    // 6. Failures: a gate verdict, downstream blocked, an exit code, a timeout; an unselected stage skipped.
    const failed = await ws.run(['run', '--json', '--keep-going', '--set', 'gate.min=2', '--set', 'side.fail=boom', '--set', 'slow.hold=never', 'report', 'side', 'slow']);
    expect(failed.exitCode, failed.stderr).to.equal(1);
    pin('run', 'failures', json(failed, 'run --json'), ws);
    pin('last-run', 'failures', readJson(ws.path('.pipeline/last-run.json')), ws);
    pin('history-entry', 'failures', newestHistory(ws), ws);
    leftBy(ws, 'failures');

    // 7. An invalid pipeline.yaml: every diagnostic at once, with hints and related places.
    const broken = makeWorkspace({ yaml: BROKEN });
    const invalid = await broken.run(['validate', '--json']);
    expect(invalid.exitCode, invalid.stderr).to.equal(2);
    pin('validate', 'three-mistakes', json(invalid, 'validate --json'), broken);

    // 8. A damaged store: a corrupt object, a run record whose object is gone; a pipeline.lock entry listing an
    // undeclared out.
    const damaged = makeWorkspace({ yaml: PIPELINE, files: { 'stage.js': STAGE_SCRIPT, 'gate.js': GATE, 'stages/fit.ts': FIT, 'data/raw.txt': 'A\n' } });
    const damagedRun = await damaged.run(['run']);
    expect(damagedRun.exitCode, damagedRun.stderr).to.equal(0);
    const records = runRecords(damaged.cacheDir);
    const byStage = (name: string) => records.find((r) => r.record.stage === name)!;
    writeFileSync(storeObject(damaged.cacheDir, byStage('prep').record.outs[0].hash), 'corrupt');
    const side = byStage('side');
    writeFileSync(side.file, JSON.stringify({ ...side.record, outs: [{ ...side.record.outs[0], hash: 'f'.repeat(64) }] }));
    const lock = readJson(damaged.path('pipeline.lock')) as { stages: Record<string, { outs: { path: string }[] }> };
    lock.stages.report.outs[0].path = 'build/undeclared.txt';
    damaged.write('pipeline.lock', JSON.stringify(lock));
    const verify = await damaged.run(['cache', 'verify', '--json']);
    expect(verify.exitCode, verify.stderr).to.equal(1);
    pin('cache-verify', 'damaged', json(verify, 'cache verify --json'), damaged);

    // 9. A remote's run records, signed and not.
    const signedRemote = tempDir('golden-remote');
    const pushed = await ws.run(['push'], { env: { PIPELINE_REMOTE: signedRemote, PIPELINE_REMOTE_SIGNING_KEY: 'k' } });
    expect(pushed.exitCode, pushed.stderr).to.equal(0);
    const plainRemote = tempDir('golden-remote-plain');
    expect((await ws.run(['push'], { env: { PIPELINE_REMOTE: plainRemote } })).exitCode).to.equal(0);
    for (const [remote, signed] of [[signedRemote, true], [plainRemote, false]] as const) {
      const found = readdirSync(path.join(remote, 'ac'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      expect(found.length, `run records pushed to ${remote}`).to.be.greaterThan(0);
      for (const e of found) {
        const doc = readJson(path.join(e.parentPath, e.name)) as { stage: string; signature?: string };
        expect(doc.signature !== undefined, `signature in ${e.name}`).to.equal(signed);
        seen('remote-run-record', `${signed ? 'signed' : 'unsigned'} ${e.name}`, doc);
        if (signed && doc.stage === 'fit') pin('remote-run-record', 'signed', doc, ws);
      }
    }

    // 10. Git revisions: the workspace committed, a param changed and run, the committed score object removed from
    // the store; params and metrics at HEAD against the workspace (commits are fixed: they hash times and paths).
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ws.base, encoding: 'utf8' });
    ws.write('../.gitignore', 'cache/\nws/.pipeline/\nws/build/\n');
    git('init', '-q');
    git('config', 'user.email', 'test@example.com');
    git('config', 'user.name', 'Test');
    git('add', '-A');
    git('commit', '-qm', 'golden');
    const committed = readJson(ws.path('pipeline.lock')) as { stages: { score: { outs: { hash: string }[] } } };
    expect((await ws.run(['run', '--set', 'fit.alpha=0.7', 'score'])).exitCode).to.equal(0);
    rmSync(storeObject(ws.cacheDir, committed.stages.score.outs[0].hash));
    const fixCommits = (doc: unknown) => {
      for (const side of [(doc as { a: { commit?: string } }).a, (doc as { b: { commit?: string } }).b]) if (side.commit) side.commit = '0'.repeat(40);
      return doc;
    };
    pin('params-diff', 'head-workspace', fixCommits(json(await ws.run(['params', 'diff', '--set', 'side.value=t', '--json']), 'params diff --json')), ws);
    seen('params-diff', 'all', json(await ws.run(['params', 'diff', '--all', '--json']), 'params diff --all --json'));
    pin('metrics-revision-diff', 'head-workspace', fixCommits(json(await ws.run(['metrics', 'diff', '--json']), 'metrics diff --json')), ws);

    // 11. Experiments: a two-variant sweep, one failing at its gate; its records, and the table with the workspace.
    const fixCommit = <T extends { commit: string | null }>(e: T) => ({ ...e, commit: e.commit && '0'.repeat(40) });
    const sweep = await ws.run(['exp', 'run', '--grid', 'gate.min=0,2', '--json']);
    expect(sweep.exitCode, sweep.stderr).to.equal(3);
    const swept = json(sweep, 'exp run --json') as { experiments: { name: string; commit: string | null }[] };
    pin('exp-run', 'gate-failed', { ...swept, experiments: swept.experiments.map(fixCommit) }, ws);
    for (const e of swept.experiments) pin('experiment', e.name, fixCommit(readJson(ws.path(`.pipeline/experiments/${e.name}.json`)) as { commit: string | null }), ws);
    const shown = json(await ws.run(['exp', 'show', '--json']), 'exp show --json') as { experiments: { commit: string | null }[] };
    pin('exp-show', 'two', { ...shown, experiments: shown.experiments.map(fixCommit) }, ws);

    // `pipeline watch --json`: every line of a session (a run, the wait, an edit and its run, a config with errors).
    for (const line of await watchLines()) {
      if (line.type === 'watch-change' || line.type === 'watch-invalid') pin('watch-line', line.type, line, watched!);
      else seen('watch-line', String(line.type), line);
    }
  });

  after(cleanupAll);

  it('every schema is a strict draft 2020-12 schema named by its file, with a title and a description', () => {
    for (const f of schemaFiles()) {
      const s = JSON.parse(readFileSync(path.join(repoRoot, 'schemas', f), 'utf8')) as Record<string, unknown>;
      expect(s.$schema, f).to.equal('https://json-schema.org/draft/2020-12/schema');
      expect(s.$id, f).to.equal(f);
      expect(s.title, f).to.be.a('string').and.not.equal('');
      expect(s.description, f).to.be.a('string').and.not.equal('');
    }
    // loadSchemas compiled them all in strict mode (unknown keywords, untyped keywords are errors).
    for (const f of schemaFiles()) expect(ajv.getSchema(f), f).to.be.a('function');
  });

  it('the package publishes the schemas: listed in `files` and in the `exports` map', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { files: string[]; exports: Record<string, unknown> };
    expect(pkg.files).to.include('schemas/');
    expect(pkg.exports['./schemas/*']).to.equal('./schemas/*');
  });

  it('every real output fits its schema', () => {
    const kinds = new Set(outputs.map((o) => o.kind));
    // Every document schema was exercised by a real output (common.schema.json holds shared definitions only).
    expect([...kinds].sort()).to.deep.equal(schemaFiles().map((f) => f.replace('.schema.json', '')).filter((k) => k !== 'common').sort());
    for (const o of outputs) {
      const v = validator(ajv, o.kind);
      expect(v(o.doc), `${o.kind} (${o.scenario}) does not fit schemas/${o.kind}.schema.json:\n${describeErrors(v.errors)}\n${JSON.stringify(o.doc)}`).to.equal(true);
    }
  });

  it('the outputs cover what the schemas describe: every status and outcome, failures by exit code, gate and timeout', () => {
    const stages = outputs.filter((o) => o.kind === 'run').flatMap((o) => (o.doc as { stages: { status: string; outcome: { kind: string; cause?: { kind: string } } }[] }).stages);
    expect([...new Set(stages.map((s) => s.status))].sort()).to.deep.equal(['blocked', 'cached', 'failed', 'ran', 'skipped']);
    expect([...new Set(stages.map((s) => s.outcome.kind))].sort()).to.deep.equal(['blocked', 'failed', 'fresh', 'ran', 'restored', 'skipped']);
    expect([...new Set(stages.flatMap((s) => (s.outcome.cause ? [s.outcome.cause.kind] : [])))].sort()).to.deep.equal(['exit', 'gate', 'timeout']);
    const plan = outputs.filter((o) => o.kind === 'run-dry-run').flatMap((o) => (o.doc as { stages: { action: string }[] }).stages);
    // `skipped` is in the type of a plan's action, but no plan makes it (a stage not selected is left out).
    expect([...new Set(plan.map((s) => s.action))].sort()).to.deep.equal(['fresh', 'maybe', 'restore', 'run']);
  });

  it('each pinned output equals its golden example (volatile values normalised)', () => {
    for (const [key, doc] of pinned) {
      const [kind, scenario] = [key.slice(0, key.indexOf('.')), key.slice(key.indexOf('.') + 1)];
      if (updating) writeGolden(kind, scenario, doc);
      const golden = readGolden(kind, scenario);
      expect(golden, `tests/fixtures/golden/${key}.json is missing: run with UPDATE_GOLDEN=1 to write it`).to.not.equal(undefined);
      expect(
        doc,
        `the ${kind} document (${scenario}) no longer matches tests/fixtures/golden/${key}.json. If the change is deliberate, ` +
          `edit schemas/${kind}.schema.json (a rename or removal bumps schemaVersion), then rewrite the golden files with UPDATE_GOLDEN=1`,
      ).to.deep.equal(golden);
    }
    // No golden file is left over from an output that is no longer pinned.
    expect(goldenFiles().map((g) => g.file.replace(/\.json$/, '')).sort()).to.deep.equal([...pinned.keys()].sort());
  });

  it('each golden example fits its schema; last-run.json also parses with the reader the report uses', () => {
    for (const g of goldenFiles()) {
      const v = validator(ajv, g.kind);
      expect(v(g.doc), `${g.file}:\n${describeErrors(v.errors)}`).to.equal(true);
    }
    for (const g of goldenFiles().filter((f) => f.kind === 'last-run')) expect(lastRunSchema.safeParse(g.doc).success, g.file).to.equal(true);
  });

  it('the schemas are closed: an extra field, a missing field or a renamed one is refused in every document', () => {
    for (const g of goldenFiles()) {
      const v = validator(ajv, g.kind);
      const doc = g.doc as Record<string, unknown> | Record<string, unknown>[];
      const target = (copy: unknown) => (Array.isArray(copy) ? (copy[0] as Record<string, unknown>) : (copy as Record<string, unknown>));
      const extra = structuredClone(doc) as unknown;
      target(extra).bogus = 1;
      expect(v(extra), `${g.file} with an extra field`).to.equal(false);
      if (g.kind === 'metrics') continue; // a map of files: no field is required
      const first = Object.keys(target(doc))[0];
      const missing = structuredClone(doc) as unknown;
      delete target(missing)[first];
      expect(v(missing), `${g.file} without \`${first}\``).to.equal(false);
      const renamed = structuredClone(doc) as unknown;
      target(renamed)[`${first}s`] = target(renamed)[first];
      delete target(renamed)[first];
      expect(v(renamed), `${g.file} with \`${first}\` renamed`).to.equal(false);
    }
  });
});
