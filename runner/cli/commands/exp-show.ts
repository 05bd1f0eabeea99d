// `pipeline exp show` and `pipeline exp diff`: the experiments recorded under .pipeline/experiments/ and the
// workspace's current state as rows of params and metrics (text, CSV, Markdown or JSON), and two of them side by side.
import type { GlobalOptions } from '../options.js';
import { UsageError } from '../../core/errors.js';
import { printable } from '../../core/printable.js';
import { configFor } from './common.js';
import { scopeParams } from '../../plan/params.js';
import { openEngine } from '../../plan/engine.js';
import { readMetrics } from '../../report/metrics.js';
import { EXPERIMENT_SCHEMA_VERSION, readExperiment, type ExperimentRecord } from '../../store/experiments.js';
import { listExperimentSummaries } from '../../store/experiments-index.js';
import { gitCommit } from '../exp/variants.js';
import { fmt } from './info.js';

export interface ExpShowFlags {
  json?: boolean;
  csv?: boolean;
  md?: boolean;
  sort?: string;
  onlyChanged?: boolean;
}

/** A row: an experiment, or the workspace as it is now. */
export type Row = Pick<ExperimentRecord, 'name' | 'status' | 'commit' | 'params' | 'changed' | 'metrics'> & Partial<ExperimentRecord> & { workspace?: true };

/**
 * The workspace's row: its params (as `exp run` records them) and the metrics in its files now. `asRun`: each
 * stage's params as pipeline.lock records its last run (what the metrics in the files come from; cheap: no schema
 * is probed), else as pipeline.yaml says now, checked and scoped (what `exp apply` compares with).
 */
export async function workspaceRow(globals: GlobalOptions, asRun = false): Promise<Row> {
  const loaded = await configFor(globals);
  const config = asRun ? loaded : await scopeParams(loaded, { readOnly: true });
  const engine = openEngine(config);
  const params: Record<string, unknown> = {};
  for (const s of config.stages) {
    const values = (asRun ? engine.lock.get(s.name)?.definition.params : undefined) ?? s.params;
    for (const [k, v] of Object.entries(values)) params[`${s.name}.${k}`] = v;
  }
  const metrics = readMetrics(engine).snapshot;
  return { name: 'workspace', workspace: true, status: 'ok', commit: gitCommit(config.root), params, changed: {}, metrics };
}

/** A value as a key for comparing (scalars as they are, the rest as JSON). */
const keyOf = (v: unknown): unknown => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v);

type Values = Map<string, unknown>;
const paramsOf = (r: Row): Values => new Map(Object.entries(r.params));

/** The keys whose values are not the same in every row (`present`: among the rows that have one, as metrics). */
function differing(rows: Row[], pick: (r: Row) => Values, present = false): string[] {
  const maps = rows.map(pick);
  const keys = new Set<string>();
  for (const m of maps) for (const k of m.keys()) keys.add(k);
  const differs: string[] = [];
  for (const k of keys) {
    let first: unknown;
    let seen = false;
    for (const m of maps) {
      const v = m.get(k);
      if (present && v === undefined) continue;
      const key = keyOf(v);
      if (!seen) [first, seen] = [key, true];
      else if (key !== first) {
        differs.push(k);
        break;
      }
    }
  }
  return differs.sort();
}

const flat = new WeakMap<Row, Map<string, number>>();
/** `FILE:KEY` made once per pair, not once per row (a thousand rows share a hundred columns). */
const columnNames = new Map<string, Map<string, string>>();

function columnOf(file: string, key: string): string {
  let byKey = columnNames.get(file);
  if (!byKey) columnNames.set(file, (byKey = new Map<string, string>()));
  let name = byKey.get(key);
  if (name === undefined) byKey.set(key, (name = `${file}:${key}`));
  return name;
}

/** Metrics as one flat map, `FILE:KEY` (made once per row). */
export function flatMetrics(r: Row): Map<string, number> {
  let out = flat.get(r);
  if (out) return out;
  out = new Map();
  flat.set(r, out);
  for (const [file, values] of Object.entries(r.metrics)) for (const [k, v] of Object.entries(values)) out.set(columnOf(file, k), v);
  return out;
}

/** Every metric column of the rows, sorted. */
function metricColumns(rows: Row[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of flatMetrics(r).keys()) keys.add(k);
  return [...keys].sort();
}

function sortRows(rows: Row[], metric: string): Row[] {
  const columns = metricColumns(rows);
  const column = columns.find((c) => c === metric) ?? columns.filter((c) => c.endsWith(`:${metric}`))[0];
  if (!column) throw new UsageError(`--sort ${metric}: no metric of that name`, columns.length > 0 ? `metrics: ${columns.join(', ')}` : 'no row has metrics');
  const value = (r: Row) => flatMetrics(r).get(column) ?? -Infinity;
  return [...rows].sort((a, b) => value(b) - value(a));
}

export async function expShowCommand(globals: GlobalOptions, flags: ExpShowFlags): Promise<number> {
  const formats = [flags.json, flags.csv, flags.md].filter(Boolean).length;
  if (formats > 1) throw new UsageError('choose one of --json, --csv, --md', 'e.g. pipeline exp show --csv');
  const config = await configFor(globals);
  const { records, damaged } = listExperimentSummaries(config.root);
  for (const d of damaged) process.stderr.write(`skipped ${d.file}: ${printable(d.problem)}\n`);
  let rows: Row[] = [await workspaceRow(globals, true), ...records];
  if (flags.sort) rows = sortRows(rows, flags.sort);
  const paramKeys = differing(rows, paramsOf);
  if (flags.json) {
    // A row's stages (fingerprints and outs) are in its record, not in the table.
    const experiments = rows.map(({ stages: _, ...r }) => (flags.onlyChanged ? { ...r, params: Object.fromEntries(paramKeys.map((k) => [k, r.params[k]])) } : r));
    process.stdout.write(`${JSON.stringify({ schemaVersion: EXPERIMENT_SCHEMA_VERSION, experiments }, null, 2)}\n`);
    return 0;
  }
  // The text table shows the metrics that differ between rows (all of them in a pipeline with many would not fit);
  // CSV and Markdown every metric unless --only-changed.
  const changedOnly = flags.onlyChanged || (!flags.csv && !flags.md);
  const metricKeys = changedOnly ? differing(rows, flatMetrics, true) : metricColumns(rows);
  const header = ['experiment', 'status', ...paramKeys, ...metricKeys.map(shortMetric(metricKeys))];
  const cells = rows.map((r) => {
    const m = flatMetrics(r);
    return [r.name, r.workspace ? 'workspace' : r.status === 'failed' ? `FAILED` : 'ok', ...paramKeys.map((k) => value(r.params[k])), ...metricKeys.map((k) => fmt(m.get(k)))];
  });
  process.stdout.write(flags.csv ? csv(header, cells) : flags.md ? markdown(header, cells) : text(header, cells, rows));
  return 0;
}

/** A metric column's heading: its key alone when no other file has that key, else the file's name without folders. */
function shortMetric(keys: string[]): (k: string) => string {
  const key = (k: string) => k.slice(k.indexOf(':') + 1);
  const base = (k: string) => k.slice(k.lastIndexOf('/', k.indexOf(':')) + 1);
  return (k) => (keys.filter((o) => key(o) === key(k)).length === 1 ? key(k) : keys.filter((o) => base(o) === base(k)).length === 1 ? base(k) : k);
}

function value(v: unknown): string {
  return v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
}

function csvCell(c: string): string {
  // A cell a spreadsheet would run as a formula is quoted with a leading apostrophe.
  const safe = /^[=+\-@\t\r]/.test(c) && !/^-?[0-9.]+(e[-+]?[0-9]+)?$/i.test(c) ? `'${c}` : c;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function csv(header: string[], rows: string[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

function markdown(header: string[], rows: string[][]): string {
  const cell = (c: string) => printable(c).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const line = (r: string[]) => `| ${r.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}

function text(header: string[], rows: string[][], records: Row[]): string {
  const safe = rows.map((r) => r.map((c) => printable(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...safe.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const failed = records.filter((r) => r.status === 'failed' && r.reason).map((r) => `${r.name}: ${printable(r.reason!)}`);
  return [line(header), ...safe.map(line), ...(failed.length > 0 ? ['', 'failed:', ...failed.map((f) => `  ${f}`)] : [])].join('\n') + '\n';
}

/** `exp diff A [B]`: the params and metrics that differ, A beside B (the workspace by default). */
export async function expDiffCommand(globals: GlobalOptions, a: string, b: string | undefined, flags: { json?: boolean }): Promise<number> {
  const { root } = await configFor(globals);
  const left: Row = readExperiment(root, a);
  const right: Row = b === undefined ? await workspaceRow(globals, true) : readExperiment(root, b);
  const params = differing([left, right], paramsOf).map((k) => ({ key: k, a: left.params[k], b: right.params[k] }));
  const lm = flatMetrics(left);
  const rm = flatMetrics(right);
  const metrics = metricColumns([left, right]).map((k) => ({ key: k, a: lm.get(k), b: rm.get(k) }));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ schemaVersion: EXPERIMENT_SCHEMA_VERSION, a: left.name, b: right.name, params, metrics }, null, 2)}\n`);
    return 0;
  }
  const header = ['', left.name, right.name, 'change'];
  const rows = [
    ...params.map((p) => [p.key, value(p.a), value(p.b), '']),
    ...metrics.map((m) => [m.key, fmt(m.a), fmt(m.b), m.a !== undefined && m.b !== undefined ? `${m.b - m.a >= 0 ? '+' : ''}${fmt(m.b - m.a)}` : '']),
  ];
  if (params.length === 0) process.stdout.write(`same params\n`);
  process.stdout.write(text(header, rows, []));
  return 0;
}
