// `pipeline report` as a command function on synthetic workspaces: what it writes, that it is deterministic, and
// how it refuses missing or malformed artifacts (exit code 2, the file named, nothing written).
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import report from '../../stages/report.js';
import { runCommand } from './helpers/run.js';
import { pngSize, PNG_SIGNATURE } from './helpers/svg.js';
import { SOURCE_SHA256, writeSyntheticWorkspace, type SyntheticOptions } from './helpers/synthetic.js';

describe('pipeline report', function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  const workspace = (opts?: SyntheticOptions) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-report-'));
    dirs.push(dir);
    writeSyntheticWorkspace(dir, opts);
    return dir;
  };
  after(function () {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('writes reports/index.html and the PNG copies of the plots', async function () {
    const dir = workspace();
    const run = await runCommand(report, dir, []);
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    expect(run.stdout).to.equal(
      'report: reports/index.html\nplots:  reports/plots/predicted-vs-actual.png, reports/plots/error-distribution.png, reports/plots/coefficients.png\n',
    );
    expect(readdirSync(path.join(dir, 'reports')).sort()).to.deep.equal(['index.html', 'plots']);
    const widths: Record<string, number> = {};
    for (const f of readdirSync(path.join(dir, 'reports/plots')).sort()) {
      const png = readFileSync(path.join(dir, 'reports/plots', f));
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE), f).to.equal(true);
      widths[f] = pngSize(png).width;
    }
    expect(widths).to.deep.equal({ 'coefficients.png': 1100, 'error-distribution.png': 1300, 'predicted-vs-actual.png': 800 });
  });

  it('writes a self-contained page: no scripts, no external URLs, one inline SVG per plot plus the DAG', async function () {
    const dir = workspace();
    expect((await runCommand(report, dir, [])).code).to.equal(0);
    const html = readFileSync(path.join(dir, 'reports/index.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).to.equal(true);
    expect(html).not.to.match(/<script/i);
    expect(html).not.to.match(/<link\b/i);
    expect(html).not.to.match(/\b(src|href)=/i);
    // The only URLs are XML namespaces of the inline SVGs.
    const urls = new Set(html.match(/https?:\/\/[^\s"')]+/g));
    expect([...urls].sort()).to.deep.equal(['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg']);
    expect((html.match(/<svg\b/g) ?? []).length).to.equal(4);
    expect(html).not.to.match(/\sid="[^"]*"[^>]*>[^<]*<\/(clipPath|linearGradient|marker)/);
  });

  it('has an Experiments section: the recorded experiments, one plotted metric each', async function () {
    const dir = workspace();
    const none = await runCommand(report, dir, []);
    expect(none.code).to.equal(0);
    expect(readFileSync(path.join(dir, 'reports/index.html'), 'utf8')).to.contain('No experiments recorded');
    const exp = (name: string, status: string, r2: number | undefined, changed: Record<string, unknown>) => ({
      schemaVersion: 1, name, status, exitCode: status === 'ok' ? 0 : 3, commit: null, params: changed, changed,
      metrics: r2 === undefined ? {} : { 'build/compare/metrics.json': { 'models.minmax-8.r2': r2 } }, stages: [], createdAt: `2026-01-0${name.length}T00:00:00.000Z`, durationMs: 1,
      ...(status === 'failed' ? { reason: 'stage `gate` (gate): R² <0.5' } : {}),
    });
    const expDir = path.join(dir, '.pipeline/experiments');
    mkdirSync(expDir, { recursive: true });
    writeFileSync(path.join(expDir, 'a.json'), JSON.stringify(exp('a', 'ok', 0.29, { 'quantize-8.bias_correction': true })));
    writeFileSync(path.join(expDir, 'bb.json'), JSON.stringify(exp('bb', 'failed', undefined, { 'gate.r2_min': 0.9 })));
    writeFileSync(path.join(expDir, 'junk.json'), '{"name": "junk"}');
    expect((await runCommand(report, dir, [])).code).to.equal(0);
    const html = readFileSync(path.join(dir, 'reports/index.html'), 'utf8');
    const section = html.slice(html.indexOf('<section id="experiments-section">'), html.indexOf('</section>', html.indexOf('experiments-section')));
    expect(section).to.contain('<tr><td>a</td><td>ok</td><td>—</td><td>true</td><td>0.2900</td></tr>');
    expect(section).to.contain('<tr><td>bb</td><td>failed: stage `gate` (gate): R² &lt;0.5</td><td>0.9</td><td>—</td><td>—</td></tr>');
    expect(section).not.to.contain('junk');
    expect((section.match(/<svg\b/g) ?? []).length, 'the plot of one metric per experiment').to.equal(1);
  });

  it('renders the code spans of the stages\' reasons as <code>, escaped, with no raw backticks', async function () {
    const dir = workspace();
    const file = path.join(dir, '.pipeline/last-run.json');
    const lastRun = JSON.parse(readFileSync(file, 'utf8')) as { stages: { reason: string }[] };
    lastRun.stages[0].reason = 'changed param `a<b>&"c"` (1 → 2); out `x.txt` is missing; a lone ` stays';
    writeFileSync(file, JSON.stringify(lastRun));
    expect((await runCommand(report, dir, [])).code).to.equal(0);
    const html = readFileSync(path.join(dir, 'reports/index.html'), 'utf8');
    expect(html).to.include(
      '<td class="text">changed param <code>a&lt;b&gt;&amp;&quot;c&quot;</code> (1 → 2); out <code>x.txt</code> is missing; a lone ` stays</td>',
    );
    const table = html.slice(html.indexOf('<table id="stages">'), html.indexOf('</table>', html.indexOf('<table id="stages">')));
    expect(table.replace('a lone ` stays', '')).to.not.include('`');
  });

  it('its header describes the executions that computed the numbers, not a cached run\'s few milliseconds', async function () {
    const header = (html: string) => html.slice(html.indexOf('<div class="chips">'), html.indexOf('</header>'));
    // Every stage ran: the last run computed everything, its start and duration are the header's.
    const ran = workspace();
    expect((await runCommand(report, ran, [])).code).to.equal(0);
    const ranHeader = header(readFileSync(path.join(ran, 'reports/index.html'), 'utf8'));
    expect(ranHeader).to.include('<span class="chip">started 2025-01-01T12:00:00.000Z</span>\n<span class="chip">took 1.23 s</span>');
    // Every stage from the cache: when the executions that produced them finished and how long their stages took.
    const statuses = Object.fromEntries(['load', 'train', 'gate', 'quantize-8', 'quantize-16', 'compare', 'predict'].map((n) => [n, 'cached' as const]));
    const dir = workspace({ statuses });
    const file = path.join(dir, '.pipeline/last-run.json');
    const lastRun = JSON.parse(readFileSync(file, 'utf8')) as { stages: { computed?: object }[] };
    lastRun.stages.forEach((s, i) => (s.computed = { finishedAt: `2024-12-31T10:0${i}:00.000Z`, durationMs: 10_000 }));
    writeFileSync(file, JSON.stringify(lastRun));
    expect((await runCommand(report, dir, [])).code).to.equal(0);
    const cachedHeader = header(readFileSync(path.join(dir, 'reports/index.html'), 'utf8'));
    expect(cachedHeader).to.include(
      [
        '<span class="chip">computed 2024-12-31T10:00:00.000Z – 2024-12-31T10:06:00.000Z</span>',
        '<span class="chip">stages took 1 min 10 s</span>',
        '<span class="chip">last run 2025-01-01T12:00:00.000Z: 7 of 7 stages from the cache</span>',
      ].join('\n'),
    );
    expect(cachedHeader).to.not.include('took 1.23 s');
  });

  it('is deterministic: the same artifacts give the same bytes', async function () {
    const a = workspace();
    const b = workspace();
    expect((await runCommand(report, a, [])).code).to.equal(0);
    expect((await runCommand(report, b, [])).code).to.equal(0);
    for (const f of ['index.html', 'plots/predicted-vs-actual.png', 'plots/error-distribution.png', 'plots/coefficients.png']) {
      expect(readFileSync(path.join(a, 'reports', f)).equals(readFileSync(path.join(b, 'reports', f))), f).to.equal(true);
    }
  });

  it('--out writes elsewhere, relative to the workspace', async function () {
    const dir = workspace();
    const run = await runCommand(report, dir, ['--out', 'site/r']);
    expect(run.code).to.equal(0);
    expect(existsSync(path.join(dir, 'site/r/index.html'))).to.equal(true);
    expect(existsSync(path.join(dir, 'site/r/plots/coefficients.png'))).to.equal(true);
    expect(existsSync(path.join(dir, 'reports'))).to.equal(false);
  });

  it('--help prints usage and exits 0; an unknown option exits 2', async function () {
    const dir = workspace();
    const help = await runCommand(report, dir, ['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('--out <dir>');
    const bad = await runCommand(report, dir, ['--outt', 'x']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include("unknown option '--outt'");
    expect(existsSync(path.join(dir, 'reports'))).to.equal(false);
  });

  it('says what the numbers come from: the data source with its sha256, and every param of the run, escaped', async function () {
    const dir = workspace();
    const run = await runCommand(report, dir, []);
    expect(run.code, run.stderr).to.equal(0);
    const html = readFileSync(path.join(dir, 'reports', 'index.html'), 'utf8');
    expect(html).to.include(`<code id="data-source">data/cal_housing.data</code>, sha256 <code id="data-sha256">${SOURCE_SHA256}</code>, 20640 rows, split with seed 42 and test size 0.2`);
    expect(html).to.include('<tr data-param="gate.r2_min"><td>gate</td><td class="text">r2_min</td><td class="text"><code>0.5</code></td></tr>');
    expect(html).to.include('<tr data-param="load.note"><td>load</td><td class="text">note</td><td class="text"><code>&lt;b&gt;&amp;</code></td></tr>');
    expect(html).not.to.include('<b>&');
  });

  const missingCases = [
    'build/data/summary.json',
    'build/model/model.json',
    'build/compare/metrics.json',
    'build/compare/test-predictions.csv',
    'build/gate/metrics.json',
    '.pipeline/last-run.json',
    'build/quant/q16/pow2.json',
  ];
  for (const file of missingCases) {
    it(`a missing ${file} exits 2, names it, says to run the pipeline, writes nothing`, async function () {
      const dir = workspace({ omit: [file] });
      const run = await runCommand(report, dir, []);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.include(`missing in ${dir}:\n  ${file}\n`);
      expect(run.stderr).to.include('Run `npx pipeline run` first');
      expect(run.stdout).to.equal('');
      expect(existsSync(path.join(dir, 'reports'))).to.equal(false);
    });
  }

  it('lists every missing file at once', async function () {
    const dir = workspace({ omit: ['build/gate/metrics.json', 'build/quant/q8/minmax.json'] });
    const run = await runCommand(report, dir, []);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include('  build/gate/metrics.json\n  build/quant/q8/minmax.json\n');
  });

  it('malformed JSON names the file, line and column; an earlier report stays as it was', async function () {
    const dir = workspace();
    expect((await runCommand(report, dir, [])).code).to.equal(0);
    const before = readFileSync(path.join(dir, 'reports/index.html'));
    writeFileSync(path.join(dir, 'build/gate/metrics.json'), '{\n  "r2": 0.5\n  "mse": 1\n}\n');
    const run = await runCommand(report, dir, []);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/^pipeline report: build\/gate\/metrics\.json:3:3: not valid JSON \(Expected ',' or '}' after property value\)\n/);
    expect(readFileSync(path.join(dir, 'reports/index.html')).equals(before)).to.equal(true);
    expect(readdirSync(path.join(dir, 'reports')).sort()).to.deep.equal(['index.html', 'plots']);
  });

  it('a JSON file of the wrong shape names the key', async function () {
    const dir = workspace();
    const file = path.join(dir, 'build/quant/q8/minmax.json');
    const q = JSON.parse(readFileSync(file, 'utf8'));
    q.coefficients[3] = 'x';
    writeFileSync(file, JSON.stringify(q));
    const run = await runCommand(report, dir, []);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include('build/quant/q8/minmax.json: coefficients.3: ');
    expect(existsSync(path.join(dir, 'reports'))).to.equal(false);
  });

  it('reads the model with the train stage\'s own schema: a model the stages would refuse is refused, naming the key', async function () {
    const dir = workspace();
    const file = path.join(dir, 'build/model/model.json');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    m.coefficients.pop();
    writeFileSync(file, JSON.stringify(m));
    const short = await runCommand(report, dir, []);
    expect(short.code).to.equal(2);
    expect(short.stderr).to.include('build/model/model.json: coefficients: 7 coefficients for 8 features');
    writeFileSync(file, JSON.stringify({ features: m.features, coefficients: [...m.coefficients, 1], intercept: m.intercept }));
    const partial = await runCommand(report, dir, []);
    expect(partial.code).to.equal(2);
    expect(partial.stderr).to.match(/build\/model\/model\.json: format: /);
    expect(existsSync(path.join(dir, 'reports'))).to.equal(false);
  });

  it('a bad predictions value names the row and the column', async function () {
    const dir = workspace({ rows: 20 });
    const file = path.join(dir, 'build/compare/test-predictions.csv');
    const lines = readFileSync(file, 'utf8').split('\n');
    const fields = lines[5].split(',');
    fields[2] = 'NaN';
    lines[5] = fields.join(',');
    writeFileSync(file, lines.join('\n'));
    const run = await runCommand(report, dir, []);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include('build/compare/test-predictions.csv:6: column 3 (minmax-8): `NaN` is not a finite number');
  });

  it('a coefficient count that does not match the features is refused', async function () {
    const dir = workspace();
    const file = path.join(dir, 'build/quant/q16/minmax.json');
    const q = JSON.parse(readFileSync(file, 'utf8'));
    q.coefficients.pop();
    writeFileSync(file, JSON.stringify(q));
    const run = await runCommand(report, dir, []);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include('build/quant/q16/minmax.json: coefficients: 7 values but the model has 8 features');
    expect(run.stderr).to.include('npx pipeline run quantize`');
  });
});
