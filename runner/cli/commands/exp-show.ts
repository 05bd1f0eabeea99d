// `pipeline exp show` and `pipeline exp diff`: the experiments recorded under .pipeline/experiments/ and the
// workspace's current state as rows of params and metrics (text, CSV, Markdown or JSON), and two of them side by side.
import type { GlobalOptions } from '../options.js';
import { didYouMean, UsageError } from '../../core/errors.js';
import { printable } from '../../core/printable.js';
import { configFor } from './common.js';
import { scopeParams } from '../../plan/params.js';
import { openEngine } from '../../plan/engine.js';
import { readMetrics } from '../../report/metrics.js';
import { EXPERIMENT_SCHEMA_VERSION, readExperiment, statRecordFiles, type ExperimentRecord, type RecordFiles } from '../../store/experiments.js';
import { listExperimentSummaries, listedMetrics, type FlatMetrics } from '../../store/experiments-index.js';
import { gitCommit } from '../exp/variants.js';
import { fmt } from './info.js';
import { keepOutput, outputKey, readOutput, type ShownOutput } from '../../store/experiments-output.js';

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

/** An own property's value (a param named `__proto__` or `constructor` is a param like any other). */
const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

/** The params whose values are not the same in every row, sorted. */
function differingParams(rows: Row[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.params)) keys.add(k);
  const differs: string[] = [];
  for (const k of keys) {
    const first = keyOf(own(rows[0].params, k));
    if (rows.some((r) => keyOf(own(r.params, k)) !== first)) differs.push(k);
  }
  return differs.sort();
}

/** A row's metrics as (column, value) pairs in its record's order: as listed, or flattened here. */
function pairsOf(r: Row): FlatMetrics {
  const listed = listedMetrics(r);
  if (listed) return listed;
  const names: string[] = [];
  const values: number[] = [];
  for (const [file, byKey] of Object.entries(r.metrics)) {
    for (const [k, v] of Object.entries(byKey)) {
      names.push(`${file}:${k}`);
      values.push(v);
    }
  }
  return { names, cols: names.map((_, i) => i), values };
}

/** Every row's metrics as one table: a column per `FILE:KEY`, a row of values (undefined where it has none) per row. */
class MetricTable {
  private readonly numbers = new Map<string, number>();
  private readonly cells = new Map<Row, (number | undefined)[]>();

  constructor(rows: Row[]) {
    // Rows of one listing share their column names: each list is mapped to this table's columns once.
    const mapped = new Map<string[], number[]>();
    for (const r of rows) {
      const { names, cols, values } = pairsOf(r);
      let to = mapped.get(names);
      if (!to) mapped.set(names, (to = []));
      const cells: (number | undefined)[] = [];
      for (let i = 0; i < cols.length; i++) {
        let n: number | undefined = to[cols[i]];
        if (n === undefined) {
          n = this.numbers.get(names[cols[i]]);
          if (n === undefined) this.numbers.set(names[cols[i]], (n = this.numbers.size));
          to[cols[i]] = n;
        }
        cells[n] = values[i];
      }
      this.cells.set(r, cells);
    }
  }

  /** Every column, sorted. */
  columns(): string[] {
    return [...this.numbers.keys()].sort();
  }

  /** The columns whose values differ between the rows that have one, sorted. */
  differing(rows: Row[]): string[] {
    const differs: string[] = [];
    for (const [column, n] of this.numbers) {
      let first: number | undefined;
      for (const r of rows) {
        const v = this.cells.get(r)![n];
        if (v === undefined) continue;
        if (first === undefined) first = v;
        else if (v !== first) {
          differs.push(column);
          break;
        }
      }
    }
    return differs.sort();
  }

  get(r: Row, column: string): number | undefined {
    const n = this.numbers.get(column);
    return n === undefined ? undefined : this.cells.get(r)![n];
  }
}

/** The metric column `--sort` names: a whole column (`FILE:KEY`), or a key that ends exactly one column. */
export function sortColumn(columns: string[], metric: string): string {
  if (columns.includes(metric)) return metric;
  const ending = columns.filter((c) => c.endsWith(`:${metric}`));
  if (ending.length === 1) return ending[0];
  const flag = `--sort ${printable(metric)}`;
  if (ending.length > 1) {
    throw new UsageError(`${flag}: ${ending.length} metrics have that key: ${ending.map((c) => printable(c)).join(', ')}`, `name one with its file, e.g. --sort ${printable(ending[0])}`);
  }
  if (columns.length === 0) throw new UsageError(`${flag}: no metric of that name`, 'no row has metrics');
  const near = didYouMean(metric, [...columns, ...columns.map((c) => c.slice(c.lastIndexOf(':') + 1))]);
  const listed = columns.length <= 12 ? `metrics: ${columns.map((c) => printable(c)).join(', ')}` : `${columns.length} metrics (\`pipeline exp show --json\` lists them), e.g. ${columns.slice(0, 4).map((c) => printable(c)).join(', ')}`;
  throw new UsageError(`${flag}: no metric of that name`, `${near === undefined ? '' : `did you mean \`${printable(near)}\`? `}${listed}`);
}

function sortRows(rows: Row[], table: MetricTable, metric: string): Row[] {
  const column = sortColumn(table.columns(), metric);
  const value = (r: Row) => table.get(r, column) ?? -Infinity;
  return [...rows].sort((a, b) => value(b) - value(a));
}

export async function expShowCommand(globals: GlobalOptions, flags: ExpShowFlags): Promise<number> {
  const formats = [flags.json, flags.csv, flags.md].filter(Boolean).length;
  if (formats > 1) throw new UsageError('choose one of --json, --csv, --md', 'e.g. pipeline exp show --csv');
  const config = await configFor(globals);
  const workspace = await workspaceRow(globals, true);
  // The same records, workspace row and flags as the last time: its output again (store/experiments-output.ts).
  // One readdir and one stat per record serve both the key and, when nothing is kept under it, the listing.
  const look = statRecordFiles(config.root);
  const key = outputKey(config.root, [workspace, flags.json, flags.csv, flags.md, flags.sort, flags.onlyChanged], Date.now(), look);
  let output = key !== undefined ? readOutput(config.root, key) : undefined;
  if (!output) {
    output = showOutput(config.root, workspace, flags, look);
    if (key !== undefined) keepOutput(config.root, key, output);
  }
  process.stderr.write(output.stderr);
  process.stdout.write(output.stdout);
  return 0;
}

/** What `exp show` prints: the table (or JSON) on stdout, the record files skipped on stderr. */
function showOutput(root: string, workspace: Row, flags: ExpShowFlags, look: RecordFiles | undefined): ShownOutput {
  const { records, damaged } = listExperimentSummaries(root, Date.now(), look);
  const stderr = damaged.map((d) => `skipped ${d.file}: ${printable(d.problem)}\n`).join('');
  let rows: Row[] = [workspace, ...records];
  const table = new MetricTable(rows);
  if (flags.sort) rows = sortRows(rows, table, flags.sort);
  const paramKeys = differingParams(rows);
  if (flags.json) {
    // A row's stages (fingerprints and outs) are in its record, not in the table.
    const experiments = rows.map(({ stages: _, ...r }) => (flags.onlyChanged ? { ...r, params: Object.fromEntries(paramKeys.map((k) => [k, r.params[k]])) } : r));
    return { stdout: `${JSON.stringify({ schemaVersion: EXPERIMENT_SCHEMA_VERSION, experiments }, null, 2)}\n`, stderr };
  }
  // The text table shows the metrics that differ between rows (all of them in a pipeline with many would not fit);
  // CSV and Markdown every metric unless --only-changed.
  const changedOnly = flags.onlyChanged || (!flags.csv && !flags.md);
  const metricKeys = changedOnly ? table.differing(rows) : table.columns();
  const header = ['experiment', 'status', ...paramKeys, ...metricKeys.map(shortMetric(metricKeys))];
  const cells = rows.map((r) => [r.name, r.workspace ? 'workspace' : r.status === 'failed' ? `FAILED` : 'ok', ...paramKeys.map((k) => value(own(r.params, k))), ...metricKeys.map((k) => fmt(table.get(r, k)))]);
  return { stdout: flags.csv ? csv(header, cells) : flags.md ? markdown(header, cells) : text(header, cells, rows), stderr };
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
  const params = differingParams([left, right]).map((k) => ({ key: k, a: own(left.params, k), b: own(right.params, k) }));
  const table = new MetricTable([left, right]);
  const metrics = table.columns().map((k) => ({ key: k, a: table.get(left, k), b: table.get(right, k) }));
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
