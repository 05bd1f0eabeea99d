// `pipeline params diff [REV_A [REV_B]]` and `pipeline metrics diff [REV_A [REV_B]]`: params and metrics at two git
// revisions, or at one and the workspace (default: HEAD against the workspace). A revision's params are those its
// pipeline.lock records for each stage (what the stage ran with); its metrics are the objects its lock records for
// the metrics files, read from the store (or the remote cache with --pull). A metric that is available nowhere is
// named with the command that would fetch or rebuild it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import type { Engine } from '../../plan/engine.js';
import { diffMetrics, metricsFromText, readMetrics, type MetricChange, type MetricsSnapshot } from '../../report/metrics.js';
import { remoteFromConfig } from '../../store/remote/open.js';
import type { Remote } from '../../store/remote/remote.js';
import type { GlobalOptions } from '../options.js';
import { configFor, plannedConfigFor } from './common.js';
import { fmt, printTable } from './info.js';
import { gitPlace, revisionSide, sideName, type Side } from './revision.js';
import { openEngineWarned as openEngine } from './warnings.js';

export interface RevDiffFlags {
  json?: boolean;
  all?: boolean;
  set?: string[];
  pull?: boolean;
}

/** Both sides of the diff: REV_A (default HEAD) and REV_B (default the workspace). */
async function sides(engine: Engine, revs: string[]): Promise<[Side, Side]> {
  if (revs.length > 2) throw new UsageError(`expected at most two revisions, got ${revs.length}: ${revs.join(' ')}`, 'e.g. `HEAD~1 HEAD`, or one revision to compare with the workspace');
  const place = await gitPlace(engine.root);
  const configName = path.basename(engine.config.file);
  const a = await revisionSide(place, revs[0] ?? 'HEAD', configName);
  const b: Side = revs[1] === undefined ? { kind: 'workspace' } : await revisionSide(place, revs[1], configName);
  return [a, b];
}

const sideJson = (side: Side) => (side.kind === 'revision' ? { rev: side.rev, commit: side.commit } : { rev: 'workspace' });

// ---- params ----

/** One param of one stage that differs; `old`/`new` absent where the stage (or the param) is not there. */
export interface ParamChange {
  stage: string;
  key: string;
  old?: unknown;
  new?: unknown;
}

/** Nested params as dotted keys (objects only: a list is one value). */
function flattenParams(value: unknown, prefix: string, into: Record<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flattenParams(v, prefix ? `${prefix}.${k}` : k, into);
  } else if (prefix) into[prefix] = value;
}

/** stage → dotted key → value: as the lock at a revision records them, or as the workspace's pipeline.yaml (with --set) gives them. */
async function paramsOf(side: Side, globals: GlobalOptions, sets: string[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const add = (stage: string, params: unknown) => {
    const flat: Record<string, unknown> = {};
    flattenParams(params, '', flat);
    out.set(stage, flat);
  };
  if (side.kind === 'revision') {
    for (const stage of side.lock.names()) add(stage, side.lock.get(stage)!.definition.params);
  } else {
    // As `status` and `run` judge them: each stage's params as it sees them (global and its own, scoped to what it reads).
    const config = await plannedConfigFor(globals, sets, { readOnly: true });
    for (const stage of config.stages) add(stage.name, stage.params);
  }
  return out;
}

export function diffParams(a: Map<string, Record<string, unknown>>, b: Map<string, Record<string, unknown>>, all: boolean): ParamChange[] {
  const rows: ParamChange[] = [];
  const stages = [...a.keys(), ...[...b.keys()].filter((s) => !a.has(s))];
  for (const stage of stages) {
    const x = a.get(stage) ?? {};
    const y = b.get(stage) ?? {};
    for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      const same = Object.hasOwn(x, key) === Object.hasOwn(y, key) && JSON.stringify(x[key]) === JSON.stringify(y[key]);
      if (!all && same) continue;
      const row: ParamChange = { stage, key };
      if (Object.hasOwn(x, key)) row.old = x[key];
      if (Object.hasOwn(y, key)) row.new = y[key];
      rows.push(row);
    }
  }
  return rows;
}

const show = (v: unknown, present: boolean) => (present ? (typeof v === 'string' ? v : JSON.stringify(v)) : '—');

export async function paramsDiffCommand(globals: GlobalOptions, revs: string[], flags: RevDiffFlags): Promise<number> {
  const engine = openEngine(await configFor(globals, flags.set ?? [], { readOnly: true }));
  const [a, b] = await sides(engine, revs);
  const changes = diffParams(await paramsOf(a, globals, flags.set ?? []), await paramsOf(b, globals, flags.set ?? []), Boolean(flags.all));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ schemaVersion: 1, a: sideJson(a), b: sideJson(b), changes }, null, 2)}\n`);
    return 0;
  }
  if (changes.length === 0) process.stdout.write(`no param differs between ${sideName(a)} and ${sideName(b)}\n`);
  else
    printTable(
      ['stage', 'param', sideName(a), sideName(b)],
      changes.map((c) => [c.stage, c.key, show(c.old, Object.hasOwn(c, 'old')), show(c.new, Object.hasOwn(c, 'new'))]),
    );
  return 0;
}

// ---- metrics ----

/** A metrics file a side declares whose numbers could not be had, with the command that would get them. */
export interface MissingMetrics {
  side: string;
  stage: string;
  file: string;
  why: string;
  fix: string;
}

interface SideMetrics {
  snapshot: MetricsSnapshot;
  missing: MissingMetrics[];
}

/** A word as a POSIX shell reads it back: as is when it is plain, else in single quotes. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./~^-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The workspace's metrics files as they are now. */
function workspaceMetrics(engine: Engine): SideMetrics {
  const read = readMetrics(engine);
  return {
    snapshot: read.snapshot,
    missing: [
      ...read.missing.map((m) => ({ side: 'workspace', stage: m.stage, file: m.file, why: 'not in the workspace', fix: `pipeline run ${m.stage}` })),
      ...read.unreadable.map((u) => ({ side: 'workspace', stage: u.stage, file: u.file, why: `unreadable: ${u.problem}`, fix: `pipeline run ${u.stage}` })),
    ],
  };
}

/** The objects a revision's lock records for its metrics files, from the store, else (with --pull) the remote. */
async function revisionMetrics(engine: Engine, side: Extract<Side, { kind: 'revision' }>, revs: string[], remote: Remote | undefined): Promise<SideMetrics> {
  const result: SideMetrics = { snapshot: {}, missing: [] };
  // Without the object anywhere, the revision's outs can only be made again there.
  const rebuild = (stage: string) => `git checkout ${shellWord(side.rev)} && pipeline run ${shellWord(stage)}`;
  for (const stage of side.config.stages) {
    for (const file of stage.metrics) {
      const miss = (why: string, fix: string) => result.missing.push({ side: side.rev, stage: stage.name, file, why, fix });
      const out = side.lock.get(stage.name)?.outs.find((o) => o.path === file && o.type === 'file');
      if (!out) {
        miss(`the lock at ${side.rev} has no record of it (stage \`${stage.name}\` had not run)`, rebuild(stage.name));
        continue;
      }
      if (!engine.cache.hasObject(out.hash) && remote) await fetchObject(engine, remote, out.hash);
      if (!engine.cache.hasObject(out.hash)) {
        const where = remote ? 'neither in the store nor in the remote cache' : 'not in the store';
        const pullable = !remote && remoteFromConfig(engine.config.remote?.url, engine.root, process.env) !== undefined;
        miss(`object ${out.hash.slice(0, 12)} is ${where}`, pullable ? ['pipeline metrics diff', ...revs.map(shellWord), '--pull'].join(' ') : rebuild(stage.name));
        continue;
      }
      try {
        result.snapshot[file] = metricsFromText(file, readFileSync(engine.cache.objectPath(out.hash), 'utf8'));
      } catch (err) {
        miss(`unreadable: ${(err as Error).message.split('\n')[0]}`, `pipeline cache verify`);
      }
    }
  }
  return result;
}

/** Download one object into the store (checked against its hash on the way). */
async function fetchObject(engine: Engine, remote: Remote, hash: string): Promise<void> {
  mkdirSync(engine.cache.tmpDir, { recursive: true });
  const dir = mkdtempSync(path.join(engine.cache.tmpDir, 'fetch-'));
  try {
    const file = path.join(dir, hash);
    if (await remote.getObject(hash, file)) await engine.cache.storeFile(file, hash);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function openRemote(engine: Engine): Remote {
  const remote = remoteFromConfig(engine.config.remote?.url, engine.root, process.env);
  if (!remote) throw new UsageError('--pull: no remote cache is set', 'set PIPELINE_REMOTE (s3://bucket/prefix, http(s)://host/prefix, or a folder), or `remote:` in pipeline.yaml');
  return remote;
}

export async function metricsDiffCommand(globals: GlobalOptions, revs: string[], flags: RevDiffFlags): Promise<number> {
  const engine = openEngine(await configFor(globals, [], { readOnly: true }));
  const [a, b] = await sides(engine, revs);
  const remote = flags.pull ? openRemote(engine) : undefined;
  const metricsOf = (side: Side) => (side.kind === 'revision' ? revisionMetrics(engine, side, revs, remote) : Promise.resolve(workspaceMetrics(engine)));
  const [ma, mb] = [await metricsOf(a), await metricsOf(b)];
  const changes: MetricChange[] = diffMetrics(ma.snapshot, mb.snapshot, Boolean(flags.all));
  const missing = [...ma.missing, ...mb.missing];
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ schemaVersion: 1, a: sideJson(a), b: sideJson(b), changes, missing }, null, 2)}\n`);
    return 0;
  }
  if (changes.length === 0) process.stdout.write(`no metric differs between ${sideName(a)} and ${sideName(b)}${missing.length > 0 ? ' (of those that could be read)' : ''}\n`);
  else
    printTable(
      ['file', 'metric', sideName(a), sideName(b), 'change'],
      changes.map((c) => [c.file, c.key, fmt(c.old), fmt(c.new), c.old !== undefined && c.new !== undefined ? `${c.new - c.old >= 0 ? '+' : ''}${fmt(c.new - c.old)}` : '']),
    );
  for (const m of missing) process.stderr.write(`metrics ${m.file} (stage \`${m.stage}\`) at ${m.side}: ${m.why}; to get it: ${m.fix}\n`);
  return 0;
}
