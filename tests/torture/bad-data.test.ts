// Bad data corpus through the real pipeline: `pipeline run load --set load.source=FILE` in a temp copy of the
// project, for broken variants of cal_housing.data. Each either loads correctly (row count asserted, and the
// train/test files identical to the intact data's when the numbers are the same) or fails naming the file, row and
// column (or, for a whole-file problem, what is wrong with the file) — and then the previous artifacts and
// pipeline.lock are byte-for-byte as they were.
//
// Decided: CRLF line ends, a byte-order mark, a missing final newline and blanks around values are accepted; a
// header row, a wrong field count, text, NaN, ±Infinity (also by overflow), households ≤ 0, a blank line, an empty
// file, a truncated archive, an archive without the member and a wrong checksum are errors.
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, filesUnder, projectCopy, realData, runCli, sha256, tempDir } from '../helpers/workspace.js';

const lines = readFileSync(realData, 'utf8').trimEnd().split('\n');
const ROWS = lines.length;

/** 1-based column where field k of a row starts. */
function colOf(row: string, k: number): number {
  return row.split(',').slice(0, k).reduce((c, f) => c + f.length + 1, 1);
}

function withField(rowIndex: number, k: number, value: string): { text: string; col: number } {
  const copy = [...lines];
  const fields = copy[rowIndex].split(',');
  fields[k] = value;
  copy[rowIndex] = fields.join(',');
  return { text: `${copy.join('\n')}\n`, col: colOf(copy[rowIndex], k) };
}

interface Case {
  name: string;
  /** The file's bytes, or a function making it in `dir`. */
  make: (dir: string) => string | Buffer | Promise<Buffer>;
  extraSets?: string[];
  /** Accepted: the row count, and whether train/test must equal the intact data's. */
  rows?: number;
  sameNumbers?: boolean;
  /** Refused: line and column (`:LINE:COL:` after the file name), or a phrase for whole-file problems. */
  at?: [number, number];
  message: string | RegExp;
}

async function archive(dir: string, member: string, data: Buffer): Promise<Buffer> {
  const { create } = await import('tar');
  const src = path.join(dir, `src-${member.replace(/\W/g, '_')}`);
  mkdirSync(path.join(src, path.dirname(member)), { recursive: true });
  writeFileSync(path.join(src, member), data);
  const file = path.join(dir, `a-${member.replace(/\W/g, '_')}.tgz`);
  await create({ gzip: true, file, cwd: src, portable: true }, [member]);
  return readFileSync(file);
}

describe('torture: bad data corpus through `pipeline run load`', function () {
  let project: string;
  let dataDir: string;
  let intact: Map<string, string>;
  let tgz: Buffer;

  before(async function () {
    project = projectCopy('baddata');
    // The optional checksum param is declared (unset), so --set can give it.
    expect(readFileSync(path.join(project, 'pipeline.yaml'), 'utf8')).to.match(/^ {6}sha256: null\b/m);
    dataDir = tempDir('baddata-files');
    const r = await runCli(project, ['run', 'load', '--set', `load.source=${realData}`]);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    intact = filesUnder(project, 'build/data');
    tgz = await archive(dataDir, 'CaliforniaHousing/cal_housing.data', readFileSync(realData));
  });

  after(cleanupAll);

  const bad = (i: number, k: number, v: string) => withField(i, k, v);
  const cases: Case[] = [
    // Accepted.
    { name: 'CRLF line ends', make: () => `${lines.join('\r\n')}\r\n`, rows: ROWS, sameNumbers: true, message: '' },
    { name: 'a byte-order mark and no final newline', make: () => `\ufeff${lines.join('\n')}`, rows: ROWS, sameNumbers: true, message: '' },
    { name: 'blanks around values', make: () => `${lines.map((l) => l.split(',').join(' , ')).join('\n')}\n`, rows: ROWS, sameNumbers: true, message: '' },
    { name: 'the canonical .tgz archive', make: () => tgz, rows: ROWS, sameNumbers: true, message: '' },
    { name: 'the right checksum', make: () => readFileSync(realData), extraSets: [`load.sha256="${sha256(readFileSync(realData))}"`], rows: ROWS, sameNumbers: true, message: '' },
    { name: 'only 10 rows', make: () => `${lines.slice(0, 10).join('\n')}\n`, rows: 10, message: '' },
    // Refused, with row and column.
    { name: 'a header row', make: () => `${['longitude', 'latitude', 'housingMedianAge', 'totalRooms', 'totalBedrooms', 'population', 'households', 'medianIncome', 'medianHouseValue'].join(',')}\n${lines.join('\n')}\n`, at: [1, 1], message: 'must not have a header row' },
    { name: 'a row with 8 fields', make: () => { const c = [...lines]; c[99] = c[99].split(',').slice(0, 8).join(','); return `${c.join('\n')}\n`; }, at: [100, lines[99].split(',').slice(0, 8).join(',').length + 1], message: 'expected 9 comma-separated fields' },
    { name: 'a row with 10 fields', make: () => { const c = [...lines]; c[6] = `${c[6]},1.0`; return `${c.join('\n')}\n`; }, at: [7, lines[6].length + 2], message: 'found 10' },
    { name: 'text in a number', make: () => bad(4, 7, '8.3x').text, at: [5, bad(4, 7, '8.3x').col], message: 'medianIncome is "8.3x", not a number' },
    { name: 'NaN', make: () => bad(9, 3, 'NaN').text, at: [10, bad(9, 3, 'NaN').col], message: 'totalRooms is "NaN", not a finite number' },
    { name: 'Infinity', make: () => bad(10, 8, 'Infinity').text, at: [11, bad(10, 8, 'Infinity').col], message: 'medianHouseValue is "Infinity", not a finite number' },
    { name: '-inf', make: () => bad(19, 0, '-inf').text, at: [20, 1], message: 'longitude is "-inf", not a finite number' },
    { name: 'a number that overflows', make: () => bad(2000, 5, '1e999').text, at: [2001, bad(2000, 5, '1e999').col], message: 'population 1e999 overflows' },
    { name: 'zero households', make: () => bad(11, 6, '0.000000').text, at: [12, bad(11, 6, '0.000000').col], message: 'households is 0; it must be positive' },
    { name: 'negative households', make: () => bad(ROWS - 1, 6, '-3').text, at: [ROWS, bad(ROWS - 1, 6, '-3').col], message: 'households is -3' },
    { name: 'a blank line', make: () => `${lines.slice(0, 50).join('\n')}\n\n${lines.slice(50).join('\n')}\n`, at: [51, 1], message: 'blank line' },
    { name: 'an empty file', make: () => '', at: [1, 1], message: 'the file is empty' },
    { name: 'a lone newline', make: () => '\n', at: [1, 1], message: 'the file is empty' },
    { name: 'binary garbage', make: () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256)), at: [1, 0], message: /expected 9 comma-separated fields|not a number/ },
    // Refused, whole-file problems.
    { name: 'a truncated archive', make: () => tgz.subarray(0, Math.floor(tgz.length / 2)), message: 'the archive is truncated or corrupt' },
    { name: 'an archive without the member', make: (dir) => archive(dir, 'other/cal_housing.data', readFileSync(realData)), message: 'the archive has no member CaliforniaHousing/cal_housing.data (members: other/cal_housing.data)' },
    { name: 'a wrong checksum', make: () => readFileSync(realData), extraSets: [`load.sha256=${'f'.repeat(64)}`], message: `sha256 is ${sha256(readFileSync(realData))}` },
  ];

  it(`has at least 10 broken variants (${cases.filter((c) => c.rows === undefined).length})`, function () {
    expect(cases.filter((c) => c.rows === undefined).length).to.be.at.least(10);
  });

  for (const c of cases) {
    const verdict = c.rows !== undefined ? `loads ${c.rows} rows` : c.at ? 'fails with row and column' : 'fails naming the file';
    it(`${c.name}: ${verdict}`, async function () {
      const file = path.join(dataDir, `${c.name.replace(/\W+/g, '-')}.data`);
      writeFileSync(file, await c.make(dataDir));
      const before = filesUnder(project, 'build/data');
      const lockBefore = readFileSync(path.join(project, 'pipeline.lock'), 'utf8');
      const r = await runCli(project, ['run', 'load', '--set', `load.source=${file}`, ...(c.extraSets ?? []).flatMap((s) => ['--set', s])]);
      const output = r.stdout + r.stderr;
      if (c.rows !== undefined) {
        expect(r.exitCode, output).to.equal(0);
        const summary = JSON.parse(readFileSync(path.join(project, 'build/data/summary.json'), 'utf8')) as { rows: number; train_rows: number; test_rows: number };
        expect(summary.rows).to.equal(c.rows);
        expect(summary.train_rows + summary.test_rows).to.equal(c.rows);
        if (c.sameNumbers) {
          const now = filesUnder(project, 'build/data');
          expect(now.get('build/data/train.bin'), 'train.bin as from the intact data').to.equal(intact.get('build/data/train.bin'));
          expect(now.get('build/data/test.bin'), 'test.bin as from the intact data').to.equal(intact.get('build/data/test.bin'));
        }
        return;
      }
      expect(r.exitCode, output).to.equal(1);
      if (c.at) {
        const [line, col] = c.at;
        // Binary garbage: the row is 1, the column whatever the parser found first.
        if (col === 0) expect(output).to.match(new RegExp(`${escape(file)}:${line}:\\d+: `));
        else expect(output, 'FILE:ROW:COL').to.include(`${file}:${line}:${col}: `);
      } else {
        expect(output, 'names the file').to.include(file);
      }
      if (typeof c.message === 'string') expect(output).to.include(c.message);
      else expect(output).to.match(c.message);
      expect(filesUnder(project, 'build/data'), 'previous artifacts intact').to.deep.equal(before);
      expect(readFileSync(path.join(project, 'pipeline.lock'), 'utf8'), 'pipeline.lock unchanged').to.equal(lockBefore);
    });
  }

  it('the intact data loads again afterwards, restored from the cache', async function () {
    const r = await runCli(project, ['run', 'load', '--json', '--set', `load.source=${realData}`]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(filesUnder(project, 'build/data')).to.deep.equal(intact);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

