// The report's Experiments section and the provenance of its numbers: the experiments `pipeline exp run` recorded
// (.pipeline/experiments/*.json, schema pipeline-dag/schemas/experiment.schema.json: read as data, a file that does
// not fit is skipped), a table of them with one metric plotted per experiment, and the params and the data source
// (with its sha256) of the run the report's numbers come from, as pipeline.lock records it.
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

export interface Provenance {
  /** The load stage's params as its last run saw them. */
  params: Record<string, unknown>;
  /** Its data source (a path or URL) and the sha256 (or server state) pipeline.lock records for it. */
  source?: { dep: string; hash: string };
}

const lockSchema = z.object({ stages: z.record(z.string(), z.object({ definition: z.object({ params: z.record(z.string(), z.unknown()) }).partial(), deps: z.record(z.string(), z.string()).optional() }).partial()) });

/** What pipeline.lock records of the load stage, or undefined without one. */
export function loadProvenance(root: string): Provenance | undefined {
  try {
    const lock = lockSchema.parse(JSON.parse(readFileSync(path.join(root, 'pipeline.lock'), 'utf8')));
    const load = lock.stages.load;
    if (!load) return undefined;
    const params = load.definition?.params ?? {};
    const dep = Object.keys(load.deps ?? {}).find((d) => d === params.source) ?? Object.keys(load.deps ?? {})[0];
    return { params, ...(dep ? { source: { dep, hash: load.deps![dep] } } : {}) };
  } catch {
    return undefined;
  }
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

/** The section's HTML: provenance, then the table and the plot (or why there is none). */
export function experimentsHtml(rows: ExperimentRow[], provenance: Provenance | undefined, svg: string | undefined, escape: (s: string) => string): string {
  const prov = provenance
    ? `<p class="note" id="provenance">The numbers above come from the run pipeline.lock records: data source <code>${escape(provenance.source?.dep ?? 'unknown')}</code>${provenance.source ? ` (sha256 <code>${escape(provenance.source.hash)}</code>)` : ''}; load params ${Object.entries(provenance.params).map(([k, v]) => `<code>${escape(k)}=${cell(v, escape)}</code>`).join(', ')}.</p>`
    : '<p class="note" id="provenance">No pipeline.lock: the run these numbers come from is not recorded.</p>';
  if (rows.length === 0) return `${prov}\n<p class="note">No experiments recorded: <code>pipeline exp run --grid gate.r2_min=0.3,0.4</code> records some.</p>`;
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.changed)))].sort();
  const head = `<tr><th>experiment</th><th>status</th>${keys.map((k) => `<th>${escape(k)}</th>`).join('')}<th>${escape(EXPERIMENT_METRIC.title)}</th></tr>`;
  const body = rows
    .map((r) => `<tr><td>${escape(r.name)}</td><td>${r.status === 'ok' ? 'ok' : `failed${r.reason ? `: ${escape(r.reason)}` : ''}`}</td>${keys.map((k) => `<td>${k in r.changed ? cell(r.changed[k], escape) : '—'}</td>`).join('')}<td>${metricOf(r)?.toFixed(4) ?? '—'}</td></tr>`)
    .join('\n');
  return `${prov}\n<table id="experiments-table">\n${head}\n${body}\n</table>\n${svg ? `<div class="plots"><figure id="experiments-plot">${svg}</figure></div>` : ''}`;
}
