// `pipeline predict`: the command function called directly, on a workspace built by running the stages.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { expect } from 'chai';
import predictCommand from '../../stages/predict-cli.js';
import { parseCsvRows, parseJsonRows } from '../../stages/lib/rows.js';
import { ref } from './reference.js';
import { runPipeline } from './run.js';
import { repoRoot } from '../helpers/workspace.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(workspace: string, argv: string[], stdin = ''): Promise<Result> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const code = await predictCommand({ workspace, argv, stdin: Readable.from([stdin]), stdout: out, stderr: err });
  return { code, stdout: Buffer.concat(chunks.out).toString(), stderr: Buffer.concat(chunks.err).toString() };
}

const F = ref.features;
// The first test row (float prediction 0.7191228416021644 in scikit-learn).
const row0 = ref.split.test_first3.X[0];
const row1 = ref.split.test_first3.X[1];
const csv = (rows: number[][], cols = F) => `${cols.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`;

describe('pipeline predict (command function)', function () {
  this.timeout(120000);
  let ws: string;
  let tmp: string;
  before(async () => {
    ws = mkdtempSync(path.join(os.tmpdir(), 'pipeline-predict-'));
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pipeline-predict-in-'));
    await runPipeline(ws);
  });
  after(() => {
    rmSync(ws, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('scores a CSV file with the float model: scikit-learn’s predictions', async () => {
    const file = path.join(tmp, 'rows.csv');
    writeFileSync(file, csv([row0, row1]));
    const r = await run(ws, ['--input', file]);
    expect(r.code).to.equal(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).to.equal('row,prediction');
    expect(Number(lines[1].split(',')[1])).to.be.closeTo(ref.linear_regression.test_pred_first10[0], 1e-12);
    expect(Number(lines[2].split(',')[1])).to.be.closeTo(ref.linear_regression.test_pred_first10[1], 1e-12);
  });

  it('takes columns by name in any order, ignores extra columns, accepts CRLF and quoted names', async () => {
    const cols = [...F].reverse();
    const text = `extra,${cols.map((c) => `"${c}"`).join(',')}\r\n7,${[...row0].reverse().join(',')}\r\n`;
    const r = await run(ws, ['--input', '-'], text);
    expect(r.code).to.equal(0);
    expect(r.stdout.split('\n')[0]).to.equal('row,prediction');
    expect(Number(r.stdout.split('\n')[1].split(',')[1])).to.be.closeTo(ref.linear_regression.test_pred_first10[0], 1e-12);
  });

  it('keeps the `id` column in the output (CSV and JSON); --id-column names another one', async () => {
    const text = `${['id', ...F].join(',')}\nhouse-7,${row0.join(',')}\nhouse-8,${row1.join(',')}\n`;
    const r = await run(ws, ['--input', '-'], text);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).to.equal('row,id,prediction');
    expect(lines[1]).to.match(/^1,house-7,/);
    expect(Number(lines[1].split(',')[2])).to.be.closeTo(ref.linear_regression.test_pred_first10[0], 1e-12);
    const json = await run(ws, ['--input', '-', '--format', 'json', '--id-column', 'house'], JSON.stringify([{ house: 12, ...Object.fromEntries(F.map((f, j) => [f, row1[j]])) }]));
    expect(json.code, json.stderr).to.equal(0);
    const [only] = JSON.parse(json.stdout) as { row: number; house: number; prediction: number }[];
    expect(only.row).to.equal(1);
    expect(only.house).to.equal(12);
    expect(only.prediction).to.be.closeTo(ref.linear_regression.test_pred_first10[1], 1e-12);
    // An identifier with a comma or a quote is quoted in CSV output.
    const quoted = await run(ws, ['--input', '-'], JSON.stringify([{ id: 'a,"b"', ...Object.fromEntries(F.map((f, j) => [f, row1[j]])) }]));
    expect(quoted.stdout.split('\n')[1]).to.match(/^1,"a,""b""",\d/);
  });

  it('--id-column naming a column the rows lack: exit 2 with a suggestion', async () => {
    const r = await run(ws, ['--input', '-', '--id-column', 'houseid'], `${['house_id', ...F].join(',')}\nx,${row0.join(',')}\n`);
    expect(r.code).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/^error: <stdin>:1: --id-column houseid: the rows have no column houseid \(did you mean `house_id`\?\); columns: house_id, MedInc/);
  });

  it('warns on stderr about values far outside the training range, and still predicts', async () => {
    const far = [...row0];
    far[F.indexOf('Population')] = 400000;
    far[F.indexOf('Latitude')] = 60;
    const r = await run(ws, ['--input', '-'], `${['id', ...F].join(',')}\nok,${row0.join(',')}\nodd,${far.join(',')}\n`);
    expect(r.code).to.equal(0);
    expect(r.stdout.trimEnd().split('\n')).to.have.length(3);
    expect(r.stderr).to.match(/^warning: <stdin>: 1 of 2 rows have values far outside the training range \(beyond its min or max by more than 10% of its width\); their predictions are extrapolations:\n/);
    expect(r.stderr).to.match(/\n {2}row 2 \(id odd\): Population 400000 \(trained on 3 to 35682\)\n/);
    expect(r.stderr).to.match(/\n {2}row 2 \(id odd\): Latitude 60 \(trained on 32\.5\d* to 41\.95\)\n$/);
    // Slightly outside (within 10% of the width) is no warning.
    const near = [...row0];
    near[F.indexOf('HouseAge')] = 53;
    expect((await run(ws, ['--input', '-'], csv([near]))).stderr).to.equal('');
  });

  it('scores examples/rows.csv (the README’s example) with its ids and no warning', async () => {
    const r = await run(ws, ['--input', path.join(repoRoot, 'examples/rows.csv')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).to.equal('row,id,prediction');
    expect(lines.slice(1).map((l) => l.split(',')[1])).to.deep.equal(['berkeley-1', 'berkeley-2', 'oakland-1', 'los-angeles-1', 'san-diego-1']);
    for (const l of lines.slice(1)) expect(Number(l.split(',')[2])).to.be.within(0, 6);
  });

  it('scores JSON from stdin with the 8-bit pow2 model and writes JSON', async () => {
    const rows = [Object.fromEntries(F.map((f, j) => [f, row0[j]]))];
    const r = await run(ws, ['--model', 'q8', '--input', '-', '--format', 'json'], JSON.stringify(rows));
    expect(r.code).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out).to.have.length(1);
    expect(out[0].row).to.equal(1);
    const expected = Number(readFileSync(path.join(ws, 'build/predict/predictions.csv'), 'utf8').split('\n')[1].split(',')[6]);
    expect(out[0].prediction).to.be.closeTo(expected, 1e-12);
  });

  it('q16 minmax from a .json file, written to --output (format from its extension)', async () => {
    const file = path.join(tmp, 'rows.json');
    writeFileSync(file, JSON.stringify([Object.fromEntries(F.map((f, j) => [f, row1[j]]))]));
    const outFile = path.join(tmp, 'out.json');
    const r = await run(ws, ['--model', 'q16', '--scheme', 'minmax', '--input', file, '--output', outFile]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.contain(`wrote 1 predictions (q16 minmax) to ${outFile}`);
    const expected = Number(readFileSync(path.join(ws, 'build/predict/predictions.csv'), 'utf8').split('\n')[2].split(',')[4]);
    expect(JSON.parse(readFileSync(outFile, 'utf8'))[0].prediction).to.be.closeTo(expected, 1e-12);
  });

  it('a bad row: exit 2, a message with its row and column, nothing written', async () => {
    const bad = [row0, row1.map((v, j) => (j === 2 ? Number.NaN : v))];
    const file = path.join(tmp, 'bad.csv');
    writeFileSync(file, csv(bad).replace('NaN', 'abc'));
    const outFile = path.join(tmp, 'never.csv');
    const r = await run(ws, ['--input', file, '--output', outFile]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(`error: ${file}:3: row 2, column AveRooms: "abc" is not a finite number\n`);
    expect(existsSync(outFile)).to.equal(false);
    const j = await run(ws, ['--input', '-', '--format', 'json'], JSON.stringify([{ ...Object.fromEntries(F.map((f) => [f, 1])), Latitude: 'x' }]));
    expect(j.code).to.equal(2);
    expect(j.stderr).to.contain('<stdin>: row 1, column Latitude: "x" is not a finite number');
  });

  it('a missing column suggests the closest name; other malformed inputs exit 2', async () => {
    const r = await run(ws, ['--input', '-'], csv([row0], F.map((f) => (f === 'AveOccup' ? 'AvgOccup' : f))));
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('<stdin>:1: the header has no column AveOccup (did you mean `AvgOccup`?)');
    for (const [text, msg] of [
      ['', 'empty input'],
      [`${F.join(',')}\n`, 'no rows after the header'],
      [`${F.join(',')}\n1,2\n`, 'row 1 has 2 fields but the header names 8 columns'],
      ['{"MedInc": 1}', 'expected a JSON array of objects'],
      ['[1]', 'row 1 is 1; each row must be an object'],
      ['[{"MedInc": 1', 'not valid JSON'],
    ] as const) {
      const x = await run(ws, ['--input', '-'], text);
      expect(x.code, JSON.stringify(text)).to.equal(2);
      expect(x.stderr, JSON.stringify(text)).to.contain(msg);
    }
  });

  it('usage errors exit 2: unknown model, a width not built, --scheme with the float model, unreadable input', async () => {
    for (const model of ['q1', 'q17', 'int8', 'q', 'Q8']) {
      const u = await run(ws, ['--model', model]);
      expect([u.code, u.stderr], model).to.deep.equal([2, `error: --model ${model}: expected \`float\` or \`q<bits>\` (a quantized model, e.g. q8)\n`]);
    }
    for (const args of [['--model', 'q4'], ['--model', 'q4', '--input', '-']]) {
      const q = await run(ws, args, csv([row0]));
      expect(q.code, args.join(' ')).to.equal(2);
      expect(q.stderr, args.join(' ')).to.equal(
        `error: ${path.join(ws, 'build/quant/q4/pow2.bin')} does not exist; the quantized models built here are q8, q16: add 4 to \`bits\` in the quantize template's \`matrix:\` in pipeline.yaml and run \`npx pipeline run\`\n`,
      );
    }
    const s = await run(ws, ['--scheme', 'minmax', '--input', '-'], csv([row0]));
    expect([s.code, s.stderr]).to.deep.equal([2, 'error: --scheme applies to a quantized model (--model q8, q16, …), not to the float model\n']);
    const m = await run(ws, ['--input', path.join(tmp, 'missing.csv')]);
    expect(m.code).to.equal(2);
    expect(m.stderr).to.contain('cannot read');
    expect((await run(ws, ['--help'])).code).to.equal(0);
  });

  it('without --input, predicts the test set: metrics and the first 10 rows', async () => {
    const r = await run(ws, []);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^test set, 4128 rows/);
    expect(r.stdout).to.match(/\nfloat +0\.575788 +0\.555892 +0\.533200 +0\.319522\n/);
    expect(r.stdout).to.match(/\nminmax-8 +0\.298994 /);
    expect(r.stdout).to.match(/first 10 rows:\n.*\n.*\n +1 +0\.4770 +0\.7191/);
    expect(r.stdout.trimEnd().split('\n').slice(-10)[9]).to.match(/^ +10 +4\.4660/);
  });

  it('in a workspace that has not run the pipeline: exit 2, saying to run it', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'pipeline-empty-'));
    try {
      const r = await run(empty, []);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('build/model/model.json: cannot read the model (ENOENT). Rebuild it with `npx pipeline run`');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('rows parsing', () => {
  it('CSV and JSON give the same matrix in feature order', () => {
    const a = parseCsvRows('b,a\n2,1\n4,3\n', ['a', 'b'], 'x');
    const b = parseJsonRows('[{"a":1,"b":2},{"b":4,"a":3,"c":"ignored"}]', ['a', 'b'], 'x');
    expect(Array.from(a.X)).to.deep.equal([1, 2, 3, 4]);
    expect(Array.from(b.X)).to.deep.equal([1, 2, 3, 4]);
  });

  it('refuses a repeated column name and Infinity', () => {
    expect(() => parseCsvRows('a,a\n1,2\n', ['a'], 'x')).to.throw(/x:1: column 2 repeats the name "a"/);
    expect(() => parseCsvRows('a\nInfinity\n', ['a'], 'x')).to.throw(/x:2: row 1, column a: "Infinity" is not a finite number/);
    expect(() => parseJsonRows('[{"a": 1e999}]', ['a'], 'x')).to.throw(/x: row 1, column a: Infinity is not a finite number/);
  });
});
