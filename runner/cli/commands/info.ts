// Read-only commands: dag, metrics, validate, fingerprint.
import type { GlobalOptions } from '../options.js';
import { layerSummary, renderDag, type DagFormat } from '../../graph/draw.js';
import { missingDep, missingDepError } from '../../plan/selection.js';
import type { Engine } from '../../plan/engine.js';
import { openEngineWarned as openEngine } from './warnings.js';
import type { OutRecord } from '../../store/cache.js';
import { ConfigError, ExitCode, UsageError } from '../../core/errors.js';
import { formatDiagnostics, type ValidationReport } from '../../core/diagnostic.js';
import { remoteWarnings } from '../../config/remote.js';
import { missingDepWarnings } from '../../plan/dep-check.js';
import { StageGraph } from '../../graph/graph.js';
import { readHistory } from '../../report/history.js';
import { diffMetrics, metricsBaseline, noMetricsMessage, readMetrics } from '../../report/metrics.js';
import { configFor, plannedConfigFor } from './common.js';
import { BASE_SET_SUMMARY, withheldVariables } from '../../exec/environment.js';
import type { PipelineConfig } from '../../config/types.js';

export async function dagCommand(globals: GlobalOptions, flags: { format: DagFormat }): Promise<number> {
  const graph = new StageGraph(await configFor(globals));
  process.stdout.write(`${renderDag(graph, flags.format)}\n`);
  return 0;
}

/**
 * `pipeline validate`: every problem of pipeline.yaml at once. `--env` (and `--json`, as `withheldEnv`) also lists
 * what each stage no longer gets of this environment: a list of the shell's variables, not of the file, so it is
 * printed when asked for, not on every check.
 */
export async function validateCommand(globals: GlobalOptions, flags: { json?: boolean; set?: string[]; env?: boolean } = {}): Promise<number> {
  if (flags.json) {
    let report: ValidationReport;
    try {
      const config = await plannedConfigFor(globals, flags.set);
      const deps = missingDepWarnings(config);
      report = { schemaVersion: 1, ok: true, omitted: deps.omitted, diagnostics: [...remoteWarnings(config), ...deps.items], withheldEnv: withheldEnv(config) };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      report = { schemaVersion: 1, ok: false, omitted: err.omitted, diagnostics: err.diagnostics };
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : ExitCode.usage;
  }
  const config = await plannedConfigFor(globals, flags.set);
  const deps = missingDepWarnings(config);
  const warnings = [...remoteWarnings(config), ...deps.items];
  if (warnings.length > 0) process.stderr.write(formatDiagnostics(warnings));
  if (deps.omitted > 0) process.stderr.write(`… and ${deps.omitted} more missing deps not shown\n`);
  const graph = new StageGraph(config);
  process.stdout.write(`${config.file}: valid, ${graph.order.length} stages (${layerSummary(graph)})\n`);
  const withheld = flags.env ? Object.entries(withheldEnv(config)) : [];
  if (withheld.length > 0) {
    process.stderr.write(
      `note: stages get the base set of the environment (${BASE_SET_SUMMARY}), their \`env\` and their \`passEnv\`; these variables of this environment no longer reach them (add those a stage reads to its \`passEnv\`, or set \`inheritEnv: true\`):\n` +
        withheld.map(([stage, names]) => `  ${stage}: ${names.join(', ')}\n`).join(''),
    );
  }
  return 0;
}

/** For a migration from stages that inherited the runner's whole environment: per stage, what of it they no longer get (names). */
function withheldEnv(config: PipelineConfig): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const stage of config.stages) {
    const names = withheldVariables(stage);
    if (names.length > 0) out[stage.name] = names;
  }
  return out;
}

/**
 * `pipeline fingerprint STAGE`: the stage's fingerprint; for a template's name, `FINGERPRINT  NAME` for each of
 * its expansions.
 */
export async function fingerprintCommand(globals: GlobalOptions, name: string): Promise<number> {
  const engine = openEngine(await plannedConfigFor(globals));
  const stages = engine.graph.expand([name]);
  if (!engine.graph.names.isTemplate(name)) {
    process.stdout.write(`${await fingerprintOf(engine, stages[0])}\n`);
    return 0;
  }
  for (const s of stages) process.stdout.write(`${await fingerprintOf(engine, s)}  ${s}\n`);
  return 0;
}

async function fingerprintOf(engine: Engine, name: string): Promise<string> {
  const stage = engine.graph.stage(name);
  const upstream = new Map<string, OutRecord[]>();
  for (const need of stage.needs) {
    const { records, missing } = await engine.planner.workspaceOuts(engine.graph.stage(need));
    if (missing.length > 0) {
      throw new UsageError(`stage \`${name}\` reads \`${missing[0]}\` (an out of \`${need}\`), which is missing`, `run \`pipeline run ${need}\` or restore its outs first`);
    }
    upstream.set(need, records);
  }
  const read = await engine.planner.inputsOf(stage, upstream);
  if (!read.ok) {
    if (read.problem.kind === 'dep-missing') throw missingDepError(stage, missingDep(engine, stage, read.problem.path));
    throw new UsageError(read.problem.message, read.problem.kind === 'module-error' ? 'fix the module so that it compiles' : 'deps must be regular files or folders inside the workspace');
  }
  const decision = await engine.planner.decide(stage, read.inputs);
  return decision.fingerprint;
}

export function fmt(v: number | undefined): string {
  return v === undefined ? '—' : Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, '');
}

export async function metricsCommand(globals: GlobalOptions, flags: { json?: boolean; diff?: boolean; all?: boolean }): Promise<number> {
  const engine = openEngine(await configFor(globals));
  const read = readMetrics(engine);
  const current = read.snapshot;
  if (!flags.diff) {
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(current, null, 2)}\n`);
      return 0;
    }
    const rows = Object.entries(current).flatMap(([file, values]) => Object.entries(values).map(([k, v]) => [file, k, fmt(v)]));
    if (rows.length === 0) process.stdout.write(`${noMetricsMessage(engine, read)}\n`);
    else {
      printTable(['file', 'metric', 'value'], rows);
      if (read.missing.length + read.unreadable.length > 0) process.stderr.write(`${noMetricsMessage(engine, read)}\n`);
    }
    return 0;
  }
  const compared = metricsBaseline(engine, read, readHistory(engine));
  if ('nothing' in compared) {
    // The JSON answer stays an array of changes: none.
    process.stdout.write(flags.json ? '[]\n' : `${compared.nothing}\n`);
    return 0;
  }
  const changes = diffMetrics(compared.baseline, current, Boolean(flags.all));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(changes, null, 2)}\n`);
    return 0;
  }
  if (changes.length === 0) process.stdout.write('no metric changed\n');
  else
    printTable(
      ['file', 'metric', 'old', 'new', 'change'],
      changes.map((c) => [c.file, c.key, fmt(c.old), fmt(c.new), c.old !== undefined && c.new !== undefined ? `${c.new - c.old >= 0 ? '+' : ''}${fmt(c.new - c.old)}` : '']),
    );
  return 0;
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`);
}
