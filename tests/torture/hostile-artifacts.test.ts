// Hostile artifacts: a tampered build/model/model.json (extra keys, wrong lengths, NaN or infinite coefficients,
// wrong types, a prototype key, a huge file, not JSON) is refused by the model schema through the real
// `pipeline predict` command: exit 2 and a message naming the file and what is wrong; never a prediction.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, projectCopy, realData, runCli } from '../helpers/workspace.js';

type Model = Record<string, unknown> & { coefficients: number[]; features: string[] };

describe('torture: hostile model artifacts through `pipeline predict`', function () {
  let project: string;
  let modelFile: string;
  let original: string;
  let rowsFile: string;

  before(async function () {
    project = projectCopy('artifacts');
    const r = await runCli(project, ['run', '--set', `load.source=${realData}`]);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    modelFile = path.join(project, 'build', 'model', 'model.json');
    original = readFileSync(modelFile, 'utf8');
    rowsFile = path.join(project, 'rows.csv');
    writeFileSync(rowsFile, 'MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude\n8.3252,41,6.98,1.02,322,2.55,37.88,-122.23\n');
  });

  afterEach(() => writeFileSync(modelFile, original));
  after(cleanupAll);

  it('the intact model predicts (exit 0)', async function () {
    const r = await runCli(project, ['predict', '--input', rowsFile]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^row,prediction\n1,4\.\d+\n$/);
  });

  const edit = (f: (m: Model) => void) => () => {
    const m = JSON.parse(original) as Model;
    f(m);
    return JSON.stringify(m, null, 2);
  };
  const cases: [string, () => string, RegExp][] = [
    ['an extra top-level key', edit((m) => (m.evil = 'rm -rf /')), /Unrecognized key.*"evil"|evil/],
    ['an extra key in split', edit((m) => ((m.split as Record<string, unknown>).extra = 1)), /split.*(Unrecognized key|extra)/],
    ['a __proto__ key', () => original.replace('{\n', '{\n  "__proto__": {"polluted": true},\n'), /__proto__/],
    ['7 coefficients for 8 features', edit((m) => m.coefficients.pop()), /coefficients: 7 coefficients for 8 features/],
    ['9 coefficients for 8 features', edit((m) => m.coefficients.push(1)), /coefficients: 9 coefficients for 8 features/],
    ['no coefficients', edit((m) => (m.coefficients = [])), /coefficients/],
    ['a feature missing', edit((m) => m.features.pop()), /8 coefficients for 7 features/],
    ['a duplicate feature', edit((m) => (m.features[1] = m.features[0])), /duplicate feature "MedInc"/],
    ['NaN as a literal', () => original.replace(/("coefficients": \[\s*)[-0-9.e]+/, '$1NaN'), /not valid JSON/],
    ['NaN as null', edit((m) => ((m.coefficients as unknown[])[2] = null)), /coefficients\.2/],
    ['NaN as a string', edit((m) => ((m.coefficients as unknown[])[3] = 'NaN')), /coefficients\.3/],
    ['an infinite coefficient (1e999)', () => original.replace(/("coefficients": \[\s*)[-0-9.e]+/, '$11e999'), /coefficients\.0/],
    ['an infinite intercept', () => original.replace(/"intercept": [-0-9.e]+/, '"intercept": -1e400'), /intercept/],
    ['a coefficient as a string number', edit((m) => ((m.coefficients as unknown[])[0] = '0.45')), /coefficients\.0/],
    ['the wrong format', edit((m) => (m.format = 'pickle')), /format/],
    ['version 2', edit((m) => (m.version = 2)), /version/],
    ['negative train_rows', edit((m) => (m.train_rows = -1)), /train_rows/],
    ['a malformed sha256', edit((m) => (m.data_sha256 = 'abc')), /data_sha256: expected a lowercase hex sha256/],
    ['an array instead of an object', () => '[1, 2, 3]\n', /not a valid model/],
    ['an empty file', () => '', /not valid JSON/],
    ['a 2 MB file', edit((m) => (m.target = 'x'.repeat(2 * 1024 * 1024))), /too large for a model/],
  ];

  for (const [what, make, pattern] of cases) {
    it(`${what}: refused, exit 2`, async function () {
      writeFileSync(modelFile, make());
      for (const args of [['predict', '--input', rowsFile], ['predict']]) {
        const r = await runCli(project, args);
        expect(r.exitCode, `${args.join(' ')}\n${r.stdout}${r.stderr}`).to.equal(2);
        expect(r.stdout, 'no predictions').to.equal('');
        // The file, with the line and column of the offending value where the model is valid JSON.
        expect(r.stderr.startsWith(`error: ${modelFile}:`), r.stderr).to.equal(true);
        expect(r.stderr.slice(`error: ${modelFile}:`.length)).to.match(/^(\d+:\d+:)? /);
        expect(r.stderr).to.match(pattern);
        expect(r.stderr).to.include('Rebuild it with `npx pipeline run`');
        expect(r.stderr).to.not.include('internal error');
      }
    });
  }

  it('a tampered model is noticed by the pipeline too: the next run puts the recorded one back', async function () {
    writeFileSync(modelFile, edit((m) => (m.evil = 1))());
    const r = await runCli(project, ['run', '--json', '--set', `load.source=${realData}`]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(readFileSync(modelFile, 'utf8')).to.equal(original);
  });
});
