// The report page: one self-contained HTML document (inline CSS and SVG, no scripts, no external URLs).
// Pure: the same inputs give the same bytes.
import { parseModelKey } from './plots.js';
import { formatDuration, STATUS_COLORS } from 'pipeline-dag/report';
import type { ReportInputs } from './report-inputs.js';
import type { OutcomeKind } from 'pipeline-dag/report';

export interface ReportSvgs {
  predictedVsActual: string;
  errorDistribution: string;
  coefficients: string;
  dag: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A reason sentence as HTML: escaped, its `code spans` as <code> (a lone backtick stays as it is). */
export function reasonHtml(s: string): string {
  return escapeHtml(s).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** A metric value: six decimals, or scientific notation when tiny. */
export function fmt(x: number, decimals = 6): string {
  if (x === 0) return '0';
  if (Math.abs(x) < 10 ** -(decimals - 2)) return x.toExponential(2);
  return x.toFixed(decimals);
}

function fmtSigned(x: number, decimals = 6): string {
  const s = fmt(x, decimals);
  return x > 0 ? `+${s}` : s;
}

function fmtBytes(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function fmtCoef(x: number): string {
  return x === 0 ? '0' : x.toPrecision(6);
}

const CSS = `
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --card: #ffffff; --accent: #3b6fb0; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 "DejaVu Sans", -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
header { background: #24292f; color: #fff; padding: 22px 32px 18px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header p { margin: 0; color: #c9d1d9; }
.chips { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 12px; }
.chip { background: rgba(255,255,255,.12); border-radius: 999px; padding: 3px 12px; font-size: 13px; }
.chip.ok { background: #2f8f46; } .chip.bad { background: #c0392b; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 40px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; margin: 18px 0; }
h2 { font-size: 17px; margin: 0 0 4px; }
p.note { color: var(--muted); margin: 0 0 12px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; width: 100%; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: var(--bg); font-weight: 600; font-size: 13px; }
th:first-child, td:first-child { text-align: left; }
td.text, th.text { text-align: left; white-space: normal; }
tr.float td { font-weight: 600; }
td.bad { color: #c0392b; font-weight: 600; } td.good { color: #2f8f46; }
.scroll { overflow-x: auto; }
.metrics { width: auto; min-width: 320px; }
.plots { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 22px 18px; align-items: start; }
.plots figure.wide { grid-column: 1 / -1; }
@media (max-width: 900px) { .plots { grid-template-columns: minmax(0, 1fr); } }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; }
.row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12px; font-weight: 600; border: 1px solid; }
.legend { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 10px; font-size: 13px; color: var(--muted); }
.dag-wrap { overflow-x: auto; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 8px; }
`;

function badge(status: string): string {
  const c = STATUS_COLORS[status] ?? STATUS_COLORS.unknown;
  return `<span class="badge" style="background:${c.fill};border-color:${c.stroke};color:${c.text}">${escapeHtml(status)}</span>`;
}

function modelLabel(key: string): { scheme: string; bits: string } {
  const k = parseModelKey(key);
  return k.scheme ? { scheme: k.scheme, bits: String(k.bits) } : { scheme: 'float64', bits: '64' };
}

function gateTable(inputs: ReportInputs): string {
  const g = inputs.gate;
  const rows: [string, string, number][] = [
    ['R²', 'coefficient of determination', g.r2],
    ['MSE', 'mean squared error', g.mse],
    ['MAE', 'mean absolute error', g.mae],
    ['MAPE', 'mean absolute percentage error (fraction)', g.mape],
  ];
  return `<table class="metrics" id="gate-metrics"><thead><tr><th>metric</th><th class="text">meaning</th><th>value</th></tr></thead><tbody>
${rows.map(([m, d, v]) => `<tr><td>${m}</td><td class="text">${d}</td><td>${fmt(v)}</td></tr>`).join('\n')}
</tbody></table>`;
}

function compareTable(inputs: ReportInputs): string {
  const floatR2 = inputs.compare[0][1].r2;
  const rows = inputs.compare.map(([key, m]) => {
    const { scheme, bits } = modelLabel(key);
    const dr2 = m.r2 - floatR2;
    const cls = key === 'float' ? '' : Math.abs(dr2) <= 0.001 ? 'good' : 'bad';
    return `<tr class="${key === 'float' ? 'float' : ''}" data-model="${escapeHtml(key)}"><td>${escapeHtml(key)}</td><td class="text">${escapeHtml(scheme)}</td><td>${bits}</td><td>${fmt(m.r2)}</td><td class="${cls}">${key === 'float' ? '—' : fmtSigned(dr2)}</td><td>${fmt(m.mse)}</td><td>${fmt(m.mae)}</td><td>${fmt(m.mape)}</td><td>${fmt(m.max_abs_delta)}</td><td>${fmt(m.mean_abs_delta)}</td><td>${fmtBytes(m.size_bytes)}</td></tr>`;
  });
  return `<div class="scroll"><table id="compare"><thead><tr><th>model</th><th class="text">scheme</th><th>bits</th><th>R²</th><th>ΔR² vs float</th><th>MSE</th><th>MAE</th><th>MAPE</th><th>max |Δpred|</th><th>mean |Δpred|</th><th>size (bytes)</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function coefficientTable(inputs: ReportInputs): string {
  const models = [{ key: 'float', coefficients: inputs.model.coefficients, intercept: inputs.model.intercept }, ...inputs.quantized];
  const head = models.map((m) => `<th>${escapeHtml(m.key)}</th>`).join('');
  const body = inputs.model.features.map(
    (f, i) => `<tr><td>${escapeHtml(f)}</td>${models.map((m) => `<td>${fmtCoef(m.coefficients[i])}</td>`).join('')}</tr>`,
  );
  body.push(`<tr><td><em>intercept</em></td>${models.map((m) => `<td>${fmtCoef(m.intercept)}</td>`).join('')}</tr>`);
  return `<div class="scroll"><table id="coefficients"><thead><tr><th>feature</th>${head}</tr></thead><tbody>
${body.join('\n')}
</tbody></table></div>`;
}

/** Whether the stage's outputs came from the cache: in place (fresh) or put back from the store (restored). */
const CACHE_HIT: Record<OutcomeKind, string> = { fresh: 'yes', restored: 'yes (restored)', ran: 'no', failed: 'no', blocked: '—', skipped: '—' };

function stagesTable(inputs: ReportInputs): string {
  const rows = inputs.lastRun.stages.map((s) => {
    const hit = CACHE_HIT[s.outcome.kind];
    return `<tr data-stage="${escapeHtml(s.name)}"><td>${escapeHtml(s.name)}</td><td class="text">${badge(s.status)}</td><td class="text">${hit}</td><td>${escapeHtml(formatDuration(s.durationMs))}</td><td class="text">${reasonHtml(s.reason)}</td><td class="text"><code>${escapeHtml((s.fingerprint ?? '').slice(0, 12))}</code></td></tr>`;
  });
  const counts = new Map<string, number>();
  for (const s of inputs.lastRun.stages) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const summary = [...counts].map(([k, v]) => `${v} ${k}`).join(', ');
  return `<p class="note">${escapeHtml(summary)}; cache hits: ${counts.get('cached') ?? 0} of ${inputs.lastRun.stages.length} stages.</p>
<div class="scroll"><table id="stages"><thead><tr><th>stage</th><th class="text">status</th><th class="text">cache hit</th><th>duration</th><th class="text">reason</th><th class="text">fingerprint</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

/** A param's value as the report shows it: strings as they are, anything else as JSON. */
function paramText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Where the numbers come from: the data source and its sha256 (the load stage's summary), and the params each stage's
 * outs were computed with (`params` in last-run.json, which the stages' fingerprints cover).
 */
function provenance(inputs: ReportInputs): string {
  const d = inputs.data;
  const rows = inputs.lastRun.stages.flatMap((s) =>
    Object.entries(s.params ?? {}).map(([k, v]) => `<tr data-param="${escapeHtml(`${s.name}.${k}`)}"><td>${escapeHtml(s.name)}</td><td class="text">${escapeHtml(k)}</td><td class="text"><code>${escapeHtml(paramText(v))}</code></td></tr>`),
  );
  return `<p class="note">Data: <code id="data-source">${escapeHtml(d.source)}</code>, sha256 <code id="data-sha256">${escapeHtml(d.data_sha256)}</code>, ${d.rows} rows, split with seed ${d.split.seed} and test size ${d.split.test_size}.</p>
${rows.length > 0 ? `<div class="scroll"><table id="params"><thead><tr><th>stage</th><th class="text">param</th><th class="text">value</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>` : '<p class="note">The last run recorded no params (run the pipeline again to record them).</p>'}`;
}

function figure(name: string, svg: string, caption: string, wide = false): string {
  return `<figure class="plot${wide ? ' wide' : ''}" data-plot="${name}">
${svg}
<figcaption>${caption}</figcaption>
</figure>`;
}

/**
 * The header's account of the run that computed the numbers: the last run's start and duration when it executed
 * every stage; otherwise when the executions that produced the cached outs finished and how long their stages took
 * (`computed` in last-run.json), and what the last run itself did.
 */
export function runChips(run: ReportInputs['lastRun']): string {
  const chip = (text: string) => `<span class="chip">${escapeHtml(text)}</span>`;
  const cached = run.stages.filter((s) => s.status === 'cached').length;
  if (cached === 0) return [chip(`started ${run.startedAt}`), chip(`took ${formatDuration(run.durationMs)}`)].join('\n');
  const computed = run.stages.flatMap((s) => (s.computed ? [s.computed] : []));
  const chips: string[] = [];
  if (computed.length > 0) {
    const times = computed.map((c) => c.finishedAt).sort();
    const when = times[0] === times.at(-1) ? times[0] : `${times[0]} – ${times.at(-1)}`;
    chips.push(chip(`computed ${when}`), chip(`stages took ${formatDuration(computed.reduce((t, c) => t + c.durationMs, 0))}`));
  }
  chips.push(chip(`last run ${run.startedAt}: ${cached} of ${run.stages.length} stages from the cache`));
  return chips.join('\n');
}

/** Build the page. `svgs` are the rendered plots and the DAG drawing. */
/** `experiments`: the Experiments section's HTML (report-experiments.ts). */
export function renderReportHtml(inputs: ReportInputs, svgs: ReportSvgs, experiments = ''): string {
  const run = inputs.lastRun;
  const worst = inputs.compare.slice(1).reduce<[string, number] | undefined>(
    (acc, [k, m]) => (acc === undefined || m.r2 < acc[1] ? [k, m.r2] : acc),
    undefined,
  );
  const legend = ['ran', 'cached', 'skipped', 'failed', 'blocked'].map((s) => badge(s)).join(' ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pipeline report</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>California housing pipeline — report</h1>
<p>Linear regression on the California housing test set (${inputs.predictions.actual.length} rows), float vs quantized coefficients.</p>
<div class="chips">
<span class="chip ${run.ok ? 'ok' : 'bad'}" id="run-status">last run: ${run.ok ? 'ok' : `failed (exit ${run.exitCode})`}</span>
${runChips(run)}
<span class="chip">test R² ${fmt(inputs.gate.r2, 4)}</span>
</div>
</header>
<main>
<section id="metrics-section">
<h2>Test-set metrics</h2>
<p class="note">Written by the <code>gate</code> stage for the float model.</p>
${gateTable(inputs)}
</section>
<section id="compare-section">
<h2>Float vs quantized</h2>
<p class="note">Each bit width × scheme on the test set; Δpred is measured against the float model's predictions. ΔR² in green stays within 0.001 of float.${worst ? ` Worst: <strong>${escapeHtml(worst[0])}</strong> (R² ${fmt(worst[1], 4)}).` : ''}</p>
${compareTable(inputs)}
</section>
<section id="plots-section">
<h2>Plots</h2>
<div class="plots">
${figure('predicted-vs-actual', svgs.predictedVsActual, 'Float model: each dot is a test row; the red line is a perfect prediction. The vertical stripe at 5 is the data set’s cap on house values.')}
${figure('coefficients', svgs.coefficients, 'Each feature’s coefficient in the float model and after quantize → dequantize.')}
${figure('error-distribution', svgs.errorDistribution, 'Distribution of prediction − actual per scheme: the float model (grey) against the 8- and 16-bit models.', true)}
</div>
</section>
<section id="coefficients-section">
<h2>Coefficients</h2>
<p class="note">Float coefficients and the dequantized values each quantized model predicts with.</p>
${coefficientTable(inputs)}
</section>
${experiments ? `<section id="experiments-section">\n<h2>Experiments</h2>\n${experiments}\n</section>\n` : ''}<section id="dag-section">
<h2>Pipeline</h2>
<p class="note">The stages and their dependencies, coloured by their status in the last run. An arrow a stage also needs through a longer path is left out (its tooltip names it).</p>
<div class="dag-wrap">
${svgs.dag}
</div>
<div class="legend">${legend}</div>
</section>
<section id="inputs-section">
<h2>Data and params</h2>
<p class="note">What the numbers above were computed from.</p>
${provenance(inputs)}
</section>
<section id="run-section">
<h2>Last run</h2>
${stagesTable(inputs)}
</section>
</main>
<footer>Generated by <code>pipeline report</code> from the artifacts under <code>build/</code> and <code>.pipeline/last-run.json</code>.</footer>
</body>
</html>
`;
}
