// Deciding what a stage needs: fresh (nothing to do), restore (its outputs for these exact inputs are in the
// run-cache), or run — and saying why, by comparing what it would read now with what pipeline.lock recorded.
import { readFileSync } from 'node:fs';
import { checkRecordedOuts, type Cache, type OutRecord, type RunRecord } from '../store/cache.js';
import { hashBytes, type DirManifest } from '../store/hash.js';
import type { ModuleCode } from './code.js';
import type { Reason } from './reasons.js';
import { ModuleBuildError, UsageError } from '../core/errors.js';
import { displayUrl } from '../core/url-credentials.js';
import { definitionOf, fingerprintOf, upstreamKey, type StageInputs } from './fingerprint.js';
import type { LockEntry, LockFile } from '../store/lockfile.js';
import type { StageConfig } from '../config/types.js';
import { WorkspaceError, type Workspace } from '../store/workspace.js';

export type Action = 'fresh' | 'restore' | 'run';

export interface Decision {
  action: Action;
  fingerprint: string;
  inputs: StageInputs;
  /** Why: `param-changed`, `up-to-date`, … (formatReason turns them into sentences). */
  reasons: Reason[];
  /** Where a restore takes the outputs from. */
  source?: OutRecord[];
}

/** Why a stage's inputs cannot be read: a dep that does not exist, or a module that does not build. */
export type InputsProblem =
  | { kind: 'dep-missing'; path: string }
  | { kind: 'module-error'; message: string }
  /** A dep that may not be read: a symlink, a special file, a path outside the workspace. */
  | { kind: 'dep-refused'; message: string };

/**
 * What a stage reads right now, or why that cannot be read. `pending`: deps that do not exist yet but that an upstream
 * will write (only when the caller asked for them to be set aside), left out of `inputs`.
 */
export type InputsResult = { ok: true; inputs: StageInputs; pending?: string[] } | { ok: false; problem: InputsProblem };

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
  async inputsOf(stage: StageConfig, upstreamOuts: Map<string, OutRecord[]>, pending?: (dep: string) => boolean): Promise<InputsResult> {
    let code: Record<string, string> = {};
    try {
      if (stage.kind === 'module' && stage.module) code = await this.code.closure(stage.module);
    } catch (err) {
      // The module graph reader reports a module that does not build as an error; here it is a value.
      if (err instanceof ModuleBuildError && err.remedy) return { ok: false, problem: { kind: 'module-error', message: `${err.message} (${err.remedy})` } };
      if (err instanceof UsageError) return { ok: false, problem: { kind: 'module-error', message: err.message } };
      throw err;
    }
    let read;
    try {
      read = await this.ws.hashDeps(stage.deps);
    } catch (err) {
      if (err instanceof WorkspaceError) return { ok: false, problem: { kind: 'dep-refused', message: err.message } };
      throw err;
    }
    const { hashes: deps } = read;
    const missing = read.missing.filter((d) => !pending?.(d));
    if (missing.length > 0) return { ok: false, problem: { kind: 'dep-missing', path: missing[0] } };
    const upstream: Record<string, string> = {};
    for (const need of stage.needs) {
      for (const rec of upstreamOuts.get(need) ?? []) upstream[upstreamKey(need, rec.path)] = rec.hash;
    }
    const waiting = read.missing.filter((d) => pending?.(d));
    return { ok: true, inputs: { code, deps, upstream }, ...(waiting.length > 0 ? { pending: waiting } : {}) };
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
    const decision = await this.judge(stage, inputs, options);
    // A stage that executes or has its outs restored changes the workspace: code closures are read again from now on.
    if (decision.action !== 'fresh') this.code.workspaceChanging();
    return decision;
  }

  private async judge(stage: StageConfig, inputs: StageInputs, options: EvaluateOptions): Promise<Decision> {
    const fingerprint = fingerprintOf(stage, inputs);
    const entry = this.lock.get(stage.name);
    const changes = explainChanges(stage, inputs, entry);
    if (!stage.cache) return { action: 'run', fingerprint, inputs, reasons: [{ code: 'always-runs' }, ...changes] };
    if (options.force) return { action: 'run', fingerprint, inputs, reasons: [{ code: 'forced' }, ...changes] };

    const candidates: { outs: OutRecord[]; via: 'lock' | 'run-cache' }[] = [];
    const refused: Reason[] = [];
    // Records and lock entries are untrusted: one whose outs are not exactly the declared outs is refused.
    const consider = (outs: OutRecord[], via: 'lock' | 'run-cache') => {
      const problem = checkRecordedOuts(stage.outs, outs, via === 'lock' ? 'pipeline.lock' : 'run-cache');
      if (problem) refused.push({ code: 'record-refused', from: via, message: problem });
      else candidates.push({ outs, via });
    };
    if (entry && entry.fingerprint === fingerprint) consider(entry.outs, 'lock');
    const record: RunRecord | undefined = this.cache.readRun(fingerprint);
    if (record) consider(record.outs, 'run-cache');
    if (candidates.length === 0) {
      const why: Reason[] = changes.length > 0 ? changes : refused.length > 0 ? [] : [{ code: 'fingerprint-format-changed' }];
      return { action: 'run', fingerprint, inputs, reasons: [...refused, ...why] };
    }
    const outDiff = await this.compareOuts(stage, candidates[0].outs);
    if (outDiff.length === 0) {
      return { action: 'fresh', fingerprint, inputs, reasons: changes.length > 0 ? [...changes, { code: 'seen-before' }] : [{ code: 'up-to-date' }], source: candidates[0].outs };
    }
    const why = changes.length > 0 ? changes : outDiff;
    // Promise a restore only when every object it needs is in the store (existence checks, no hashing).
    const usable = candidates.filter((c) => this.missingObject(c.outs) === undefined).at(-1);
    if (usable) return { action: 'restore', fingerprint, inputs, reasons: [...why, { code: 'restorable', from: usable.via }], source: usable.outs };
    const best = candidates.at(-1)!;
    // Each out whose recorded bytes are not in the store is named once, by the reason that says why no restore can
    // help: an out also missing from the workspace (a fresh clone) does not get an `out-missing` line as well.
    const notInStore = this.notInStore(best.outs, best.via);
    const named = new Set(notInStore.map((r) => (r.code === 'not-in-store' ? r.path : '')));
    const rest = why.filter((r) => !(r.code === 'out-missing' && named.has(r.path)));
    return { action: 'run', fingerprint, inputs, reasons: [...rest, ...notInStore] };
  }

  /**
   * The hook for a remote store: true when the remote holds this object. A `not-in-store` reason then says that the
   * outs can be pulled.
   */
  remoteHas?: (hash: string) => boolean;

  /** A `not-in-store` reason for each recorded out whose bytes the store lacks (see lostObjects). */
  notInStore(outs: OutRecord[], recordedIn: 'lock' | 'run-cache'): Reason[] {
    return [...this.lostObjects(outs)].map((l) => ({ code: 'not-in-store', path: l.out, recordedIn, ...(this.remoteHas?.(l.hash) ? { pullable: true } : {}) }));
  }

  /** The first out whose object (or, for a folder, its manifest or one of its files) is not in the store. */
  missingObject(outs: OutRecord[]): { out: string; hash: string } | undefined {
    for (const lost of this.lostObjects(outs)) return lost;
    return undefined;
  }

  /** Each out whose object (or, for a folder, its manifest or one of its files) is not in the store, in order. */
  *lostObjects(outs: OutRecord[]): Generator<{ out: string; hash: string }> {
    for (const rec of outs) {
      if (!this.cache.hasObject(rec.hash)) {
        yield { out: rec.path, hash: rec.hash };
        continue;
      }
      if (rec.type !== 'dir') continue;
      // Checked here without the store's verify, which discards a corrupt object: a manifest whose bytes no longer
      // match its hash is left for the restore to find and name `object-corrupt` (its entries, damaged too, would
      // otherwise point at objects that never existed and read as `not-in-store`).
      let entries: { hash: string }[];
      try {
        const bytes = readFileSync(this.cache.objectPath(rec.hash));
        if (hashBytes(bytes) !== rec.hash) continue;
        entries = (JSON.parse(bytes.toString('utf8')) as DirManifest).entries;
        if (!Array.isArray(entries)) continue;
      } catch {
        continue; // unreadable: the restore re-hashes it and says so
      }
      const gone = entries.find((e) => !this.cache.hasObject(e.hash));
      if (gone) yield { out: rec.path, hash: gone.hash };
    }
  }

  /** Differences between the workspace and recorded outs; empty when they match. */
  async compareOuts(stage: StageConfig, recorded: OutRecord[]): Promise<Reason[]> {
    const diffs: Reason[] = [];
    const byPath = new Map(recorded.map((r) => [r.path, r]));
    for (const out of stage.outs) {
      const want = byPath.get(out);
      const have = await this.ws.hashOut(out);
      if (!have) diffs.push({ code: 'out-missing', path: out });
      else if (!want || want.hash !== have.hash) diffs.push({ code: 'out-modified', path: out });
    }
    return diffs;
  }
}

function keyDiff(kind: 'code' | 'input', before: Record<string, string>, after: Record<string, string>): Reason[] {
  const reasons: Reason[] = [];
  const reason = (change: 'changed' | 'added' | 'removed', key: string): Reason =>
    // A URL dep is named without its credentials or query: reasons reach the terminal, --json and last-run.json.
    kind === 'code' ? { code: `code-${change}`, file: key } : { code: `input-${change}`, path: displayUrl(key) };
  for (const k of Object.keys(after).sort()) {
    if (!(k in before)) reasons.push(reason('added', k));
    else if (before[k] !== after[k]) reasons.push(reason('changed', k));
  }
  for (const k of Object.keys(before).sort()) if (!(k in after)) reasons.push(reason('removed', k));
  return reasons;
}

/** Why a stage's fingerprint differs from the one pipeline.lock recorded. */
export function explainChanges(stage: StageConfig, inputs: StageInputs, entry: LockEntry | undefined): Reason[] {
  if (!entry) return [{ code: 'never-run' }];
  const reasons: Reason[] = [];
  const def = definitionOf(stage);
  const old = entry.definition;
  if (old.kind !== def.kind || JSON.stringify(old.cmd) !== JSON.stringify(def.cmd) || old.shell !== def.shell) {
    reasons.push(def.kind === 'cmd' ? { code: 'command-changed', from: old.cmd, to: def.cmd } : { code: 'kind-changed' });
  }
  if (old.module !== def.module) reasons.push({ code: 'module-changed', from: old.module, to: def.module });
  const paramKeys = [...new Set([...Object.keys(old.params ?? {}), ...Object.keys(def.params)])].sort();
  for (const k of paramKeys) {
    const a = old.params?.[k];
    const b = def.params[k];
    const overriddenIn = stage.setIn?.[k]?.from;
    if (JSON.stringify(a) !== JSON.stringify(b)) reasons.push({ code: 'param-changed', name: k, from: a, to: b, ...(overriddenIn !== undefined ? { overriddenIn } : {}) });
  }
  const envKeys = [...new Set([...Object.keys(old.env ?? {}), ...Object.keys(def.env)])].sort();
  for (const k of envKeys) if (old.env?.[k] !== def.env[k]) reasons.push({ code: 'env-changed', name: k, from: old.env?.[k], to: def.env[k] });
  if (JSON.stringify(old.outs) !== JSON.stringify(def.outs)) reasons.push({ code: 'outs-changed', from: old.outs, to: def.outs });
  reasons.push(...keyDiff('code', entry.code ?? {}, inputs.code));
  reasons.push(...keyDiff('input', entry.deps ?? {}, inputs.deps));
  const changedUpstream = new Set<string>();
  const before = entry.upstream ?? {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(inputs.upstream)])) {
    if (before[k] !== inputs.upstream[k]) changedUpstream.add(k.slice(0, k.indexOf(':')));
  }
  for (const need of stage.needs) if (changedUpstream.has(need)) reasons.push({ code: 'upstream-changed', stage: need });
  for (const gone of changedUpstream) if (!stage.needs.includes(gone)) reasons.push({ code: 'upstream-removed', stage: gone });
  return reasons;
}
