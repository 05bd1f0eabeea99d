// The report's Experiments section: the experiments `pipeline exp run` recorded (.pipeline/experiments/*.json, schema
// pipeline-dag/schemas/experiment.schema.json: read as data, a file that does not fit is skipped), a table of them
// with one metric plotted per experiment. The params and data source of the report's own numbers are in its "Data
// and params" section (report-html.ts).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { TopLevelSpec } from 'vega-lite';

/** The metric plotted per experiment: the 8-bit min-max model's test-set R² (what quantization params move). */
export const EXPERIMENT_METRIC = { file: 'build/compare/metrics.json', key: 'models.minmax-8.r2', title: '8-bit min-max test R²' };

const experimentSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
  status: z.enum(['ok', 'failed']),
  reason: z.string().optional(),
  changed: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.record(z.string(), z.number())),
  createdAt: z.string(),
});
export type ExperimentRow = z.infer<typeof experimentSchema>;

export function loadExperiments(root: string): ExperimentRow[] {
  const dir = path.join(root, '.pipeline', 'experiments');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const rows: ExperimentRow[] = [];
  for (const f of files) {
    try {
      const parsed = experimentSchema.safeParse(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
      if (parsed.success) rows.push(parsed.data);
    } catch {
      // not JSON: skipped, as `pipeline exp show` names it
    }
  }
  return rows.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
}

const metricOf = (e: ExperimentRow): number | undefined => e.metrics[EXPERIMENT_METRIC.file]?.[EXPERIMENT_METRIC.key];

/** One bar per experiment that has the metric. */
export function experimentsSpec(rows: ExperimentRow[], config: object): TopLevelSpec {
  const values = rows.flatMap((e) => (metricOf(e) === undefined ? [] : [{ experiment: e.name, value: metricOf(e)!, status: e.status }]));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Experiments: ${EXPERIMENT_METRIC.title}` },
    data: { values },
    width: Math.max(200, values.length * 28),
    height: 220,
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'experiment', type: 'nominal', sort: values.map((v) => v.experiment), title: 'experiment' },
      y: { field: 'value', type: 'quantitative', title: EXPERIMENT_METRIC.title },
      color: { field: 'status', type: 'nominal', scale: { domain: ['ok', 'failed'], range: ['#4c78a8', '#e45756'] } },
    },
    config,
  };
}

const cell = (v: unknown, escape: (s: string) => string) => escape(typeof v === 'string' ? v : JSON.stringify(v));

/** The section's HTML: the table and the plot (or why there is none). */
export function experimentsHtml(rows: ExperimentRow[], svg: string | undefined, escape: (s: string) => string): string {
  if (rows.length === 0) return `<p class="note">No experiments recorded: <code>pipeline exp run --grid gate.r2_min=0.3,0.4</code> records some.</p>`;
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.changed)))].sort();
  const head = `<tr><th>experiment</th><th>status</th>${keys.map((k) => `<th>${escape(k)}</th>`).join('')}<th>${escape(EXPERIMENT_METRIC.title)}</th></tr>`;
  const body = rows
    .map((r) => `<tr><td>${escape(r.name)}</td><td>${r.status === 'ok' ? 'ok' : `failed${r.reason ? `: ${escape(r.reason)}` : ''}`}</td>${keys.map((k) => `<td>${k in r.changed ? cell(r.changed[k], escape) : '—'}</td>`).join('')}<td>${metricOf(r)?.toFixed(4) ?? '—'}</td></tr>`)
    .join('\n');
  return `<table id="experiments-table">\n${head}\n${body}\n</table>\n${svg ? `<div class="plots"><figure id="experiments-plot">${svg}</figure></div>` : ''}`;
}
