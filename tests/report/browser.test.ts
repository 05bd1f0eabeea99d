// The report in a real browser: headless Chromium loads reports/index.html from a synthetic workspace; the page must
// load without errors or network requests, draw every plot and the DAG, and show the expected table rows.
// The page functions given to page.$eval/$$eval run in the browser: the DOM types describe their arguments.
/// <reference lib="dom" />
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import report from '../../stages/report.js';
import { runCommand } from './helpers/run.js';
import { SCHEMES, STAGES, writeSyntheticWorkspace } from './helpers/synthetic.js';

// Debian's Chromium here; elsewhere (a GitHub runner's Chrome) set PIPELINE_CHROMIUM to the browser's path.
const CHROMIUM = process.env.PIPELINE_CHROMIUM ?? '/usr/bin/chromium';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCREENSHOT = path.join(repoRoot, 'reports/screenshots/report.png');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/**
 * Debian's Chromium, installed the way the Docker test installs its engine: with apt-get when it is missing and
 * this process may (root), saying so. Elsewhere the suite is skipped with the reason; PIPELINE_CHROMIUM names
 * another browser (a GitHub runner's Chrome) and is never installed.
 */
async function ensureChromium(ctx: Mocha.Context): Promise<void> {
  if (existsSync(CHROMIUM)) return;
  if (process.env.PIPELINE_CHROMIUM !== undefined) throw new Error(`PIPELINE_CHROMIUM=${CHROMIUM} does not exist`);
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    process.stderr.write(`      skipped: ${CHROMIUM} is missing and installing it needs root and apt-get; install it with \`apt-get install chromium\`\n`);
    ctx.skip();
  }
  process.stderr.write(`      installing Debian's chromium with apt-get (the browser test needs ${CHROMIUM})…\n`);
  const { execa } = await import('execa');
  const apt = (args: string[]) =>
    execa('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], { reject: false, all: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  const update = await apt(['update']);
  const install = update.exitCode === 0 ? await apt(['install', '-y', '--no-install-recommends', 'chromium']) : update;
  if (install.exitCode !== 0 || !existsSync(CHROMIUM)) {
    throw new Error(`apt-get could not install chromium (exit ${install.exitCode}):\n${String(install.all ?? '').trimEnd().split('\n').slice(-20).join('\n')}`);
  }
}

interface PlotInfo {
  name: string;
  svgLength: number;
  width: number;
  height: number;
  marks: number;
}

describe('report in headless Chromium', function () {
  this.timeout(120_000);
  let dir: string;
  let profile: string;
  let context: BrowserContext | undefined;
  let page: Page;
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const requests: string[] = [];

  before(async function () {
    // apt-get on a fresh machine: a few minutes at most.
    this.timeout(15 * 60 * 1000);
    await ensureChromium(this);
    dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-report-browser-'));
    profile = mkdtempSync(path.join(os.tmpdir(), 'pipeline-chromium-profile-'));
    writeSyntheticWorkspace(dir, { statuses: { load: 'cached', train: 'cached', gate: 'ran' } });
    const run = await runCommand(report, dir, []);
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);

    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(path.join(dir, 'reports/index.html')).href, { waitUntil: 'load' });
  });

  after(async function () {
    await context?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('loads with no console errors, no page errors and no requests besides the page itself', function () {
    expect(consoleErrors).to.deep.equal([]);
    expect(pageErrors).to.deep.equal([]);
    expect(requests).to.deep.equal([pathToFileURL(path.join(dir, 'reports/index.html')).href]);
  });

  it('draws every plot: a non-empty SVG with a non-zero box and marks', async function () {
    const plots: PlotInfo[] = await page.$$eval('figure.plot', (figs) =>
      figs.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          name: f.getAttribute('data-plot') ?? '',
          svgLength: svg?.innerHTML.length ?? 0,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: svg ? svg.querySelectorAll('g.role-mark > path, g.role-mark > rect, g.role-mark > circle').length : 0,
        };
      }),
    );
    expect(plots.map((p) => p.name)).to.deep.equal(['predicted-vs-actual', 'coefficients', 'error-distribution']);
    for (const p of plots) {
      expect(p.svgLength, p.name).to.be.greaterThan(1000);
      expect(p.width, p.name).to.be.greaterThan(200);
      expect(p.height, p.name).to.be.greaterThan(150);
    }
    const marks = Object.fromEntries(plots.map((p) => [p.name, p.marks]));
    // 4,128 dots + the y = x line; 2 schemes × (float, 8-bit, 16-bit) lines; 8 features × 5 models bars.
    expect(marks).to.deep.equal({ 'predicted-vs-actual': 4129, coefficients: 40, 'error-distribution': 6 });
  });

  it('draws the DAG with one node per stage and one path per edge it does not imply, coloured by status', async function () {
    const nodes = await page.$$eval('svg.dag g.dag-node', (gs) =>
      gs.map((g) => {
        const box = (g as SVGGElement).getBBox();
        return { stage: g.getAttribute('data-stage'), status: g.getAttribute('data-status'), w: box.width, h: box.height };
      }),
    );
    expect(nodes.map((n) => n.stage)).to.deep.equal(STAGES);
    expect(nodes.find((n) => n.stage === 'load')!.status).to.equal('cached');
    expect(nodes.find((n) => n.stage === 'predict')!.status).to.equal('ran');
    for (const n of nodes) expect(n.w * n.h, String(n.stage)).to.be.greaterThan(0);
    // The 14 `needs` edges less the 7 another path implies (load → gate, train → compare, …): they are named in the
    // stages' tooltips, not drawn.
    expect(await page.$$eval('svg.dag g.dag-edge path', (ps) => ps.length)).to.equal(7);
  });

  it('shows the tables with the expected rows', async function () {
    const rows = (sel: string) => page.$$eval(`${sel} tbody tr`, (trs) => trs.map((tr) => tr.querySelector('td')!.textContent));
    expect(await rows('#gate-metrics')).to.deep.equal(['R²', 'MSE', 'MAE', 'MAPE']);
    expect(await rows('#compare')).to.deep.equal(['float', ...SCHEMES.flatMap((s) => [`${s}-8`, `${s}-16`])]);
    expect(await rows('#coefficients')).to.deep.equal([
      'MedInc', 'HouseAge', 'AveRooms', 'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude', 'intercept',
    ]);
    expect(await rows('#stages')).to.deep.equal(STAGES);
    const cacheHits = await page.$$eval('#stages tbody tr td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
    expect(cacheHits).to.deep.equal(['yes', 'yes', 'no', 'no', 'no', 'no', 'no']);
  });

  it('saves a screenshot of the whole page', async function () {
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString()).to.equal('PNG');
    expect(existsSync(SCREENSHOT)).to.equal(true);
  });
});
