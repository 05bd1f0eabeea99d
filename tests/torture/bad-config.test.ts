// Bad config corpus through the real CLI: every broken pipeline.yaml of tests/fixtures/bad-configs, alone in a
// temp workspace, makes `pipeline run` exit 2 with `pipeline.yaml:LINE:COL` and the expected message on stderr,
// and leaves the workspace (and the folder around it) byte-for-byte as it was: no `.pipeline/`, no lock, no outs.
// Bad `--set` forms likewise.
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { corpusCases, corpusDir, expectation } from '../helpers/bad-configs.js';
import { cleanupAll, diffSnapshots, runCli, snapshotDir, tempDir } from '../helpers/workspace.js';

const corpus = corpusDir;
const cases = corpusCases;

/** A workspace in a folder of its own (so writes next to it show too) holding `text` as pipeline.yaml. */
function isolated(name: string, file: string): { parent: string; ws: string } {
  const parent = tempDir(`badcfg-${name}`);
  const ws = path.join(parent, 'ws');
  mkdirSync(ws);
  cpSync(file, path.join(ws, 'pipeline.yaml'));
  // Something for deps and modules to find, so that only the config itself is at fault.
  mkdirSync(path.join(ws, 'data'));
  cpSync(file, path.join(ws, 'data', 'raw.csv'));
  return { parent, ws };
}

async function refused(ws: string, parent: string, args: string[]) {
  const before = snapshotDir(parent, { meta: true });
  const r = await runCli(ws, args);
  expect(diffSnapshots(before, snapshotDir(parent, { meta: true })), 'the workspace is unchanged').to.deep.equal([]);
  expect(existsSync(path.join(ws, '.pipeline')), '.pipeline/ created').to.equal(false);
  return r;
}

describe('torture: bad config corpus through `pipeline run`', function () {
  after(cleanupAll);

  it('has at least 30 broken files and 5 bad --set forms', function () {
    const sets = cases.filter((c) => expectation(c).set);
    expect(cases.length - sets.length).to.be.at.least(30);
    expect(sets.length).to.be.at.least(5);
  });

  for (const name of cases) {
    const exp = expectation(name);
    it(`${name}${exp.set ? ` (--set ${exp.set.join(' --set ')})` : ''}: exit 2${exp.at ? ` at ${exp.at}` : ''}, nothing written`, async function () {
      const { parent, ws } = isolated(name, path.join(corpus, `${name}.yaml`));
      const args = ['run', ...(exp.set ?? []).flatMap((s) => ['--set', s])];
      const r = await refused(ws, parent, args);
      expect(r.exitCode, r.stderr).to.equal(2);
      expect(r.stdout, 'nothing on stdout').to.equal('');
      if (exp.at) expect(r.stderr, 'file:line:col').to.include(`error: pipeline.yaml:${exp.at}: `);
      expect(r.stderr).to.include(exp.message);
      expect(r.stderr, 'a hint on how to fix it').to.match(/\nhint: \S/);
    });
  }

  describe('more bad --set forms', function () {
    const valid = path.join(corpus, 'set-no-equals.yaml'); // a valid file with stages load, fit, quantize-8
    const forms: [string[], RegExp][] = [
      [['--set', '.alpha=1'], /--set \.alpha=1: `\.alpha` is not a param name/],
      [['--set', 'fit..alpha=1'], /`fit\.\.alpha` is not a param name/],
      [['--set', 'fit.al pha=1'], /`fit.al pha` is not a param name/],
      [['--set', 'fit.alpha={a: [1'], /the value is not valid YAML/],
      [['--set', 'fit.alpha=1', '--set', 'nosuch.beta=2'], /unknown stage `nosuch`/],
      [['--set', 'quantize-8.bitz=4'], /pipeline\.yaml:17:13: --set quantize-8\.bitz=4: stage `quantize-8` has no param `bitz` \(did you mean `bits`\?\)/],
      [['--set'], /option '-s, --set <stage\.key=value>' argument missing/],
    ];
    for (const [args, pattern] of forms) {
      it(`pipeline run ${args.join(' ')}: exit 2, nothing written`, async function () {
        const { parent, ws } = isolated('set', valid);
        const r = await refused(ws, parent, ['run', ...args]);
        expect(r.exitCode, r.stderr).to.equal(2);
        expect(r.stderr).to.match(pattern);
      });
    }

    it('`pipeline status` and `pipeline run --dry-run` refuse them the same way', async function () {
      for (const cmd of [['status'], ['run', '--dry-run']]) {
        const { parent, ws } = isolated('set-status', valid);
        const r = await refused(ws, parent, [...cmd, '--set', 'fit.alpah=0.2']);
        expect(r.exitCode, r.stderr).to.equal(2);
        expect(r.stderr).to.include('pipeline.yaml:13:7: --set fit.alpah=0.2: stage `fit` has no param `alpah` (did you mean `alpha`?)');
      }
    });
  });

  describe('every mistake at once', function () {
    // Three independent mistakes: an unknown key, an unknown `needs`, two stages writing one out.
    const three = [
      'version: 1',
      'stages:',
      '  prepare:',
      '    cmd: node prep.js',
      '    ouths: [build/a.csv]',
      '  train:',
      '    cmd: node train.js',
      '    needs: [prepar]',
      '    outs: [build/model.json]',
      '  report:',
      '    cmd: node report.js',
      '    outs: [build/model.json]',
      '',
    ].join('\n');

    function threeMistakes(name: string): { parent: string; ws: string } {
      const parent = tempDir(`badcfg-${name}`);
      const ws = path.join(parent, 'ws');
      mkdirSync(ws);
      writeFileSync(path.join(ws, 'pipeline.yaml'), three);
      return { parent, ws };
    }

    it('`pipeline run` reports all three in one run, each with its hint, exit 2, nothing written', async function () {
      const { parent, ws } = threeMistakes('three');
      const r = await refused(ws, parent, ['run']);
      expect(r.exitCode, r.stderr).to.equal(2);
      const places = [...r.stderr.matchAll(/^error: pipeline\.yaml:(\d+:\d+): /gm)].map((m) => m[1]);
      expect(places).to.deep.equal(['5:5', '8:13', '12:12']);
      expect(r.stderr.match(/^hint: \S/gm)).to.have.length(3);
      expect(r.stderr).to.match(/^ {2}related: pipeline\.yaml:9:12: /m);
    });

    it('`pipeline validate --json` lists the three diagnostics with ranges and related locations, exit 2', async function () {
      const { parent, ws } = threeMistakes('three-json');
      const r = await refused(ws, parent, ['validate', '--json']);
      expect(r.exitCode, r.stderr).to.equal(2);
      const doc = JSON.parse(r.stdout) as { schemaVersion: number; ok: boolean; diagnostics: Record<string, unknown>[] };
      expect([doc.schemaVersion, doc.ok]).to.deep.equal([1, false]);
      expect(doc.diagnostics.map((d) => [d.code, d.file, d.line, d.col, d.endLine, d.endCol])).to.deep.equal([
        ['unknown-key', 'pipeline.yaml', 5, 5, 5, 10],
        ['unknown-need', 'pipeline.yaml', 8, 13, 8, 19],
        ['out-overlap', 'pipeline.yaml', 12, 12, 12, 28],
      ]);
      expect(doc.diagnostics[2].related).to.deep.equal([
        { file: 'pipeline.yaml', line: 9, col: 12, endLine: 9, endCol: 28, message: 'stage `train` writes `build/model.json`' },
      ]);
      for (const d of doc.diagnostics) expect(d.hint).to.be.a('string').and.not.equal('');
    });

    it('`pipeline validate --json` of a valid file: ok, no diagnostics, exit 0', async function () {
      const { ws } = isolated('valid-json', path.join(corpus, 'set-no-equals.yaml'));
      const r = await runCli(ws, ['validate', '--json']);
      expect(r.exitCode, r.stderr).to.equal(0);
      // withheldEnv lists the variables of the environment the tests run in that the stages do not get.
      const { withheldEnv, ...report } = JSON.parse(r.stdout);
      expect(report).to.deep.equal({ schemaVersion: 1, ok: true, omitted: 0, diagnostics: [] });
      expect(withheldEnv).to.be.an('object');
    });

    it('a glob dep matching the out of a stage it does not need is refused by `validate`', async function () {
      const parent = tempDir('badcfg-glob');
      const ws = path.join(parent, 'ws');
      mkdirSync(ws);
      writeFileSync(path.join(ws, 'pipeline.yaml'), 'version: 1\nstages:\n  split: {cmd: x, outs: [data/parts]}\n  fit: {cmd: y, deps: ["data/parts/*.csv"]}\n');
      const r = await refused(ws, parent, ['validate', '--json']);
      expect(r.exitCode).to.equal(2);
      const [d] = (JSON.parse(r.stdout) as { diagnostics: { code: string; line: number; col: number }[] }).diagnostics;
      expect([d.code, d.line, d.col]).to.deep.equal(['dep-needs-producer', 4, 24]);
    });
  });

  describe('params too large for the environment', function () {
    it('a stage whose params exceed what exec accepts fails with E2BIG and the advice, not a stack trace', async function () {
      const parent = tempDir('badcfg-e2big');
      const ws = path.join(parent, 'ws');
      mkdirSync(ws);
      const big = 'x'.repeat(200 * 1024);
      writeFileSync(path.join(ws, 'pipeline.yaml'), `version: 1\nstages:\n  a:\n    cmd: node -e "1"\n    params: {blob: ${big}}\n`);
      const r = await runCli(ws, ['run']);
      expect(r.exitCode, r.stderr).to.equal(1);
      const out = r.stdout + r.stderr;
      expect(out).to.contain('E2BIG');
      expect(out).to.contain('pass large data through a file');
      expect(out).to.not.contain('internal error');
    });
  });
});

