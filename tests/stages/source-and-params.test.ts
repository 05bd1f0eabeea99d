// The real pipeline through the CLI: load's source is a dep (`deps: ["${source}"]`), so editing the data file re-runs
// load and changes the metrics; params are typed by the stages' schemas and scoped to the stages that read them.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { cleanupAll, projectCopy, realData, runCli, runJson, tempDir } from '../helpers/workspace.js';

describe('the California-housing pipeline: external source and typed params', function () {
  this.timeout(300000);
  let project: string;
  let data: string;
  const r2 = () => (JSON.parse(readFileSync(path.join(project, 'build/gate/metrics.json'), 'utf8')) as { r2: number }).r2;

  before(async () => {
    project = projectCopy('source');
    data = path.join(tempDir('source-data'), 'cal_housing.data');
    copyFileSync(realData, data);
    const r = await runJson(project, ['--set', `load.source=${data}`]);
    expect(r.exitCode, JSON.stringify(r.codes)).to.equal(0);
  });
  after(cleanupAll);

  it('editing one value of the external data file re-runs load and changes the metrics', async () => {
    const before = r2();
    const lines = readFileSync(data, 'utf8').split('\n');
    const cells = lines[0].split(',');
    cells[8] = '15000.000000'; // the first district's median house value
    lines[0] = cells.join(',');
    writeFileSync(data, lines.join('\n'));
    const r = await runJson(project, ['--set', `load.source=${data}`]);
    expect(r.exitCode).to.equal(0);
    expect(r.statuses.load).to.equal('ran');
    expect(r.codes.load).to.include('input-changed');
    expect(r2()).to.not.equal(before);
  });

  it('a wrongly typed --set exits 2 before anything ran', async () => {
    for (const set of ['gate.r2_min=abc', 'quantize-8.bias_correction=maybe', 'quantize.bias_correction=1']) {
      const r = await runCli(project, ['validate', '--json', '--set', `load.source=${data}`, '--set', set]);
      expect(r.exitCode, set).to.equal(2);
      expect(r.json.diagnostics.map((d: { code: string; file: string }) => [d.code, d.file])).to.deep.equal([['param-type', `--set ${set}`]]);
      const run = await runJson(project, ['--set', `load.source=${data}`, '--set', set]);
      expect(run.exitCode, set).to.equal(2);
      expect(run.statuses, set).to.deep.equal({});
    }
  });

  it('a matrix key of the quantize template cannot be set: exit 2 at the key, saying to edit the matrix', async () => {
    for (const set of ['quantize.bits=4', 'quantize-16.bits=4']) {
      const r = await runCli(project, ['validate', '--json', '--set', `load.source=${data}`, '--set', set]);
      expect(r.exitCode, set).to.equal(2);
      const [d] = r.json.diagnostics;
      // At the matrix key's line in the repository's pipeline.yaml.
      const line = readFileSync(path.join(project, 'pipeline.yaml'), 'utf8').split('\n').indexOf('      bits: [8, 16]') + 1;
      expect(line).to.be.greaterThan(0);
      expect([d.code, d.file, d.line, r.json.diagnostics.length], set).to.deep.equal(['matrix-key-set', 'pipeline.yaml', line, 1]);
      expect(d.message).to.equal(`--set ${set}: \`bits\` is a matrix key of template \`quantize\` (2 expansions); its values are the list under \`matrix:\`, not a param to set`);
    }
  });

  it('`--set seed=7` changes the param of load only (the others re-run because its outs changed)', async () => {
    const r = await runJson(project, ['--set', `load.source=${data}`, '--set', 'seed=7']);
    expect(r.exitCode).to.equal(0);
    expect(r.codes.load).to.include('param-changed');
    for (const name of ['train', 'gate', 'quantize-8', 'compare', 'predict']) expect(r.codes[name], name).to.not.include('param-changed');
  });
});
