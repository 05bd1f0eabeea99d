// Deciding what a stage needs: fresh (nothing to do), restore (its outputs for these exact inputs are in the
// run-cache), or run — and saying why, by comparing what it would read now with what pipeline.lock recorded.
import { checkRecordedOuts, type Cache, type OutRecord, type RunRecord } from '../store/cache.js';
import type { ModuleCode } from './code.js';
import { UsageError } from '../core/errors.js';
import { definitionOf, fingerprintOf, upstreamKey, type StageInputs } from './fingerprint.js';
import type { LockEntry, LockFile } from '../store/lockfile.js';
import type { StageConfig } from '../config/types.js';
import type { Workspace } from '../store/workspace.js';

export type Action = 'fresh' | 'restore' | 'run';

export interface Decision {
  action: Action;
  fingerprint: string;
  inputs: StageInputs;
  /** Why, in words: `changed param \`alpha\` (0.1 → 0.2)`, `up to date`, … */
  reasons: string[];
  /** Where a restore takes the outputs from. */
  source?: OutRecord[];
}

export interface EvaluateOptions {
  force?: boolean;
}

export class Planner {
  constructor(
    readonly ws: Workspace,
    readonly cache: Cache,
    readonly lock: LockFile,
    readonly code: ModuleCode,
  ) {}

  /**
   * What the stage reads right now. `upstreamOuts` gives, for each needed stage, the records of its outs as they
   * are (or will be) in the workspace.
   */
  async inputsOf(stage: StageConfig, upstreamOuts: Map<string, OutRecord[]>): Promise<StageInputs> {
    const code = stage.kind === 'module' && stage.module ? await this.code.closure(stage.module) : {};
    const { hashes: deps, missing } = await this.ws.hashDeps(stage.deps);
    if (missing.length > 0) {
      throw new UsageError(
        `stage \`${stage.name}\`: dep \`${missing[0]}\` does not exist (${stage.pos.file}:${stage.pos.line}:${stage.pos.col})`,
        'create it, or fix the path in `deps`',
      );
    }
    const upstream: Record<string, string> = {};
    for (const need of stage.needs) {
      for (const rec of upstreamOuts.get(need) ?? []) upstream[upstreamKey(need, rec.path)] = rec.hash;
    }
    return { code, deps, upstream };
  }

  /** The current workspace records of a stage's outs, with the names of those missing. */
  async workspaceOuts(stage: StageConfig): Promise<{ records: OutRecord[]; missing: string[] }> {
    const records: OutRecord[] = [];
    const missing: string[] = [];
    for (const out of stage.outs) {
      const rec = await this.ws.hashOut(out);
      if (rec) records.push(rec);
      else missing.push(out);
    }
    return { records, missing };
  }

  /** A stage's outs as they are in the workspace; for each missing one, its record in pipeline.lock if any. */
  async outsOrRecorded(stage: StageConfig): Promise<{ records: OutRecord[]; missing: { out: string; recorded?: OutRecord }[] }> {
    const { records, missing } = await this.workspaceOuts(stage);
    const entry = this.lock.get(stage.name);
    const trusted = entry && checkRecordedOuts(stage.outs, entry.outs, 'pipeline.lock') === undefined ? entry.outs : [];
    return { records, missing: missing.map((out) => ({ out, recorded: trusted.find((o) => o.path === out) })) };
  }

  async decide(stage: StageConfig, inputs: StageInputs, options: EvaluateOptions = {}): Promise<Decision> {
    const fingerprint = fingerprintOf(stage, inputs);
    const entry = this.lock.get(stage.name);
    const changes = explainChanges(stage, inputs, entry);
    if (!stage.cache) return { action: 'run', fingerprint, inputs, reasons: ['always runs (cache: false)', ...changes] };
    if (options.force) return { action: 'run', fingerprint, inputs, reasons: ['forced (--force)', ...changes] };

    const candidates: { outs: OutRecord[]; via: string }[] = [];
    const refused: string[] = [];
    const consider = (outs: OutRecord[], via: string) => {
      const problem = checkRecordedOuts(stage.outs, outs, via);
      if (problem) refused.push(problem);
      else candidates.push({ outs, via });
    };
    if (entry && entry.fingerprint === fingerprint) consider(entry.outs, 'pipeline.lock');
    const record: RunRecord | undefined = this.cache.readRun(fingerprint);
    if (record) consider(record.outs, 'run-cache');
    if (candidates.length === 0) {
      return { action: 'run', fingerprint, inputs, reasons: [...refused, ...(changes.length > 0 ? changes : refused.length > 0 ? [] : ['fingerprint format changed'])] };
    }
    const outDiff = await this.compareOuts(stage, candidates[0].outs);
    if (outDiff.length === 0) {
      return { action: 'fresh', fingerprint, inputs, reasons: changes.length > 0 ? [...changes, 'same inputs seen before, outputs already in place'] : ['up to date'], source: candidates[0].outs };
    }
    const why = changes.length > 0 ? changes : outDiff;
    return { action: 'restore', fingerprint, inputs, reasons: [...why, `restorable from the ${candidates.at(-1)!.via}`], source: candidates.at(-1)!.outs };
  }

  /** Differences between the workspace and recorded outs, in words; empty when they match. */
  async compareOuts(stage: StageConfig, recorded: OutRecord[]): Promise<string[]> {
    const diffs: string[] = [];
    const byPath = new Map(recorded.map((r) => [r.path, r]));
    for (const out of stage.outs) {
      const want = byPath.get(out);
      const have = await this.ws.hashOut(out);
      if (!have) diffs.push(`out \`${out}\` is missing`);
      else if (!want || want.hash !== have.hash) diffs.push(`out \`${out}\` was modified in the workspace`);
    }
    return diffs;
  }
}

function show(value: unknown): string {
  return value === undefined ? 'unset' : JSON.stringify(value);
}

function keyDiff(prefix: string, before: Record<string, string>, after: Record<string, string>, name: (k: string) => string): string[] {
  const reasons: string[] = [];
  for (const k of Object.keys(after).sort()) {
    if (!(k in before)) reasons.push(`new ${prefix} \`${name(k)}\``);
    else if (before[k] !== after[k]) reasons.push(`changed ${prefix} \`${name(k)}\``);
  }
  for (const k of Object.keys(before).sort()) if (!(k in after)) reasons.push(`removed ${prefix} \`${name(k)}\``);
  return reasons;
}

/** Why a stage's fingerprint differs from the one pipeline.lock recorded, in words. */
export function explainChanges(stage: StageConfig, inputs: StageInputs, entry: LockEntry | undefined): string[] {
  if (!entry) return ['never run'];
  const reasons: string[] = [];
  const def = definitionOf(stage);
  const old = entry.definition;
  if (old.kind !== def.kind || JSON.stringify(old.cmd) !== JSON.stringify(def.cmd) || old.shell !== def.shell) {
    reasons.push(def.kind === 'cmd' ? `changed command (${show(old.cmd)} → ${show(def.cmd)})` : 'changed stage kind');
  }
  if (old.module !== def.module) reasons.push(`changed module (${show(old.module)} → ${show(def.module)})`);
  const paramKeys = [...new Set([...Object.keys(old.params ?? {}), ...Object.keys(def.params)])].sort();
  for (const k of paramKeys) {
    const a = old.params?.[k];
    const b = def.params[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) reasons.push(`changed param \`${k}\` (${show(a)} → ${show(b)})`);
  }
  const envKeys = [...new Set([...Object.keys(old.env ?? {}), ...Object.keys(def.env)])].sort();
  for (const k of envKeys) if (old.env?.[k] !== def.env[k]) reasons.push(`changed env \`${k}\` (${show(old.env?.[k])} → ${show(def.env[k])})`);
  if (JSON.stringify(old.outs) !== JSON.stringify(def.outs)) reasons.push(`changed outs (${show(old.outs)} → ${show(def.outs)})`);
  reasons.push(...keyDiff('code', entry.code ?? {}, inputs.code, (k) => k));
  reasons.push(...keyDiff('input', entry.deps ?? {}, inputs.deps, (k) => k));
  const changedUpstream = new Set<string>();
  const before = entry.upstream ?? {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(inputs.upstream)])) {
    if (before[k] !== inputs.upstream[k]) changedUpstream.add(k.slice(0, k.indexOf(':')));
  }
  for (const need of stage.needs) if (changedUpstream.has(need)) reasons.push(`upstream \`${need}\` changed its outs`);
  for (const gone of changedUpstream) if (!stage.needs.includes(gone)) reasons.push(`no longer needs \`${gone}\``);
  return reasons;
}
