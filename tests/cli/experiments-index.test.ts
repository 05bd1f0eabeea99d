// `exp show` through its table index (.pipeline/experiments/.table-index): every format gives byte for byte what
// the records give without the index; the index is read (not rewritten) when every record's stat matches; a record
// edited by hand behind its back (same size, other bytes; with its mtime changed, and with its mtime put back) shows
// the new value; a damaged, truncated, foreign or lying index is ignored and rebuilt, never trusted over the records.
// The racy window (a record written less than 2 s before the index is not indexed) is passed by building the index
// in-process with a later clock, not by waiting.
import { copyFileSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { cleanupAll, makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { listExperimentSummaries, TABLE_INDEX_FILE } from '../../runner/store/experiments-index.js';

const YAML = `version: 1
stages:
  fit:
    cmd: node fit.js
    deps: [fit.js]
    params:
      alpha: 0.5
      mode: plain
    outs: [build/fit.json]
    metrics: [build/fit.json]
`;
const FIT = `const fs = require('node:fs');
fs.mkdirSync('build', { recursive: true });
fs.writeFileSync('build/fit.json', JSON.stringify({ score: 1, n: 4, nested: { a: 1, b: [2, 3] } }));
`;

const FORMATS = [[], ['--json'], ['--csv'], ['--md'], ['--sort', 'score'], ['--only-changed'], ['--csv', '--only-changed'], ['--md', '--sort', 'n'], ['--json', '--only-changed'], ['--json', '--sort', 'score']];

interface Rec {
  name: string;
  params: Record<string, unknown>;
  metrics: Record<string, Record<string, number>>;
  [k: string]: unknown;
}

describe('cli: exp show through its table index', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let dir: string;
  let index: string;
  const later = () => Date.now() + 10_000;

  /** Every format's exit code, stdout and stderr, one string each. */
  async function outputs(): Promise<string[]> {
    const out: string[] = [];
    for (const f of FORMATS) {
      const r = await ws.run(['exp', 'show', ...f]);
      expect(r.stderr).not.to.contain('internal error');
      out.push(`${f.join(' ')} → ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
    }
    return out;
  }

  /** What the records alone give: no index before each command (a CLI's own index is racy here, so never kept). */
  async function fromRecords(): Promise<string[]> {
    const out: string[] = [];
    for (const f of FORMATS) {
      rmSync(index, { force: true });
      const r = await ws.run(['exp', 'show', ...f]);
      out.push(`${f.join(' ')} → ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
    }
    return out;
  }

  const entries = () => (JSON.parse(readFileSync(index, 'utf8')) as { entries: unknown[] }).entries.length;

  before(async () => {
    ws = makeWorkspace({ yaml: YAML, files: { 'fit.js': FIT } });
    expect((await ws.run(['exp', 'run', '--grid', 'fit.alpha=1,2', '--grid', 'fit.mode=plain,fancy'])).exitCode).to.equal(0);
    dir = ws.path('.pipeline/experiments');
    index = path.join(dir, TABLE_INDEX_FILE);
    const seed = JSON.parse(readFileSync(path.join(dir, readdirSync(dir).find((f) => f.endsWith('.json'))!), 'utf8')) as Rec;
    const write = (r: Rec, text = JSON.stringify(r)) => writeFileSync(path.join(dir, `${r.name}.json`), text);
    for (let i = 0; i < 40; i++) {
      write({ ...seed, name: `bulk-${i}`, createdAt: `2020-01-01T00:00:${String(i).padStart(2, '0')}.000Z`, params: { ...seed.params, 'fit.alpha': i / 7 }, metrics: { 'build/fit.json': { score: i % 5, n: 4, [`only${i % 3}`]: i } } });
    }
    write({ ...seed, name: 'failed-one', status: 'failed', reason: 'stage `fit` exited with 1 | "quoted", and, commas', exitCode: 1, metrics: {} });
    write({ ...seed, name: 'odd-keys', params: { ...seed.params, 'fit.__proto__': { x: 1 }, 'fit.label': '=cmd|x' }, metrics: { 'a:b.json': { 'c:d': 1, __proto__x: 2 }, 'build/fit.json': { score: 0.1 + 0.2 } }, extra: { kept: true } });
    // Numbers JSON cannot write back as they were (1e400 is Infinity): shown, never indexed.
    write({ ...seed, name: 'huge' }, JSON.stringify({ ...seed, name: 'huge', metrics: { 'build/fit.json': { score: 7 } } }).replace('"score":7', '"score":1e400'));
    writeFileSync(path.join(dir, 'broken.json'), '{"schemaVersion": 1, "na');
    write({ ...seed, name: 'not-its-file' }, JSON.stringify({ ...seed, name: 'other' }));
  });
  after(cleanupAll);

  it('gives every format byte for byte the same with the index and without, and reads a matching index without rewriting it', async () => {
    const reference = await fromRecords();
    listExperimentSummaries(ws.dir, later());
    // Every record but the one with 1e400 is indexed (the damaged and misnamed files never are).
    const records = readdirSync(dir).filter((f) => f.endsWith('.json')).length;
    expect(entries()).to.equal(records - 3);
    const before = statSync(index, { bigint: true });
    const bytes = readFileSync(index);
    expect(await outputs()).to.deep.equal(reference);
    const after = statSync(index, { bigint: true });
    expect([after.ino, after.mtimeNs]).to.deep.equal([before.ino, before.mtimeNs]);
    expect(readFileSync(index).equals(bytes)).to.equal(true);
    expect(reference[0]).to.match(/^skipped .*broken\.json: /m).and.match(/not-its-file\.json: it records the name `other`/);
    expect(reference.find((o) => o.startsWith('--json →'))).to.contain('"fit.__proto__": {').and.contain('"extra": {');
  });

  it('sees a record edited behind the index: same size, other bytes, its mtime changed or put back', async () => {
    listExperimentSummaries(ws.dir, later());
    const file = path.join(dir, 'bulk-3.json');
    const text = readFileSync(file, 'utf8');
    expect(text).to.contain('"fit.mode":"plain"');
    const { atime, mtime } = statSync(file);
    writeFileSync(file, text.replace('"fit.mode":"plain"', '"fit.mode":"PLAIN"'));
    const shown = async () => (JSON.parse((await ws.run(['exp', 'show', '--json'])).stdout) as { experiments: Rec[] }).experiments.find((e) => e.name === 'bulk-3')!;
    expect((await shown()).params['fit.mode']).to.equal('PLAIN');
    // Same size and the old mtime again: only the ctime (which cannot be set back) tells.
    listExperimentSummaries(ws.dir, later());
    writeFileSync(file, text.replace('"fit.mode":"plain"', '"fit.mode":"PlAiN"'));
    utimesSync(file, atime, mtime);
    expect(statSync(file).size).to.equal(Buffer.byteLength(text));
    expect((await shown()).params['fit.mode']).to.equal('PlAiN');
    writeFileSync(file, text);
    // A record removed, and one added: gone from the table, and there.
    listExperimentSummaries(ws.dir, later());
    rmSync(path.join(dir, 'bulk-4.json'));
    copyFileSync(file, path.join(dir, 'copy.json'));
    writeFileSync(path.join(dir, 'copy.json'), text.replace('"name":"bulk-3"', '"name":"copy"'));
    const names = (JSON.parse((await ws.run(['exp', 'show', '--json'])).stdout) as { experiments: Rec[] }).experiments.map((e) => e.name);
    expect(names).to.include('copy').and.not.include('bulk-4');
  });

  it('ignores a damaged, truncated, foreign or lying index and rebuilds it from the records', async () => {
    const reference = await fromRecords();
    listExperimentSummaries(ws.dir, later());
    const good = readFileSync(index, 'utf8');
    const doc = JSON.parse(good) as { format: string; version: number; columns: [string, string][]; shapes: number[][]; values: string; entries: { f: string; s: string; r: Record<string, unknown>; k: number; o: number }[] };
    const bad: Record<string, string> = {
      garbage: '\x00\xff not json',
      truncated: good.slice(0, good.length / 2),
      empty: '',
      'another format': JSON.stringify({ ...doc, format: 'something else' }),
      'another version': JSON.stringify({ ...doc, version: 99 }),
      'a column out of range': JSON.stringify({ ...doc, shapes: doc.shapes.map((c, i) => (i === 0 ? [...c, doc.columns.length + 3] : c)) }),
      'values cut short': JSON.stringify({ ...doc, values: doc.values.slice(0, 40) }),
      'a row past the values': JSON.stringify({ ...doc, entries: doc.entries.map((e, i) => (i === 5 ? { ...e, o: 1e6 } : e)) }),
      'an unknown shape': JSON.stringify({ ...doc, entries: doc.entries.map((e, i) => (i === 5 ? { ...e, k: doc.shapes.length } : e)) }),
      'a row that is no record': JSON.stringify({ ...doc, entries: doc.entries.map((e, i) => (i === 2 ? { ...e, r: { ...e.r, status: 'maybe' } } : e)) }),
      'a row under another file': JSON.stringify({ ...doc, entries: doc.entries.map((e, i) => (i === 1 ? { ...e, f: doc.entries[0].f } : e)) }),
      // Made elsewhere: the same names, other inodes and times.
      foreign: JSON.stringify({ ...doc, entries: doc.entries.map((e) => ({ ...e, s: `1:${e.s.split(':')[1]}:0:0`, r: { ...e.r, params: {} } })) }),
    };
    for (const [what, text] of Object.entries(bad)) {
      writeFileSync(index, text);
      const first = await ws.run(['exp', 'show', '--json']);
      expect(`--json → ${first.exitCode}\n${first.stdout}\n${first.stderr}`, what).to.equal(reference[1]);
      if (what === 'truncated' || what === 'foreign') {
        writeFileSync(index, text);
        expect(await outputs(), what).to.deep.equal(reference);
      }
    }
    // Rebuilt: with a later clock every settled record is in it again.
    writeFileSync(index, 'garbage');
    listExperimentSummaries(ws.dir, later());
    expect(readFileSync(index, 'utf8')).to.equal(good);
  });
});
