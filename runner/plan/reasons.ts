// Why a stage runs, is fresh, is restored or is blocked — as data. Each reason has a stable `code` (the JSON
// documents and the tests match codes) and the fields it needs; `formatReason` is the one place that turns a
// reason into the sentence people read. New reasons are added here, to the README's table, and to the formatter's
// table (SENTENCES, keyed by every code: a reason without a sentence does not compile).

export type Reason =
  /** pipeline.lock has no entry for the stage. */
  | { code: 'never-run' }
  | { code: 'param-changed'; name: string; from?: unknown; to?: unknown; overriddenIn?: string }
  | { code: 'env-changed'; name: string; from?: string; to?: string }
  | { code: 'command-changed'; from?: unknown; to?: unknown }
  /** From `cmd:` to `module:` or back. */
  | { code: 'kind-changed' }
  | { code: 'module-changed'; from?: string; to?: string }
  | { code: 'outs-changed'; from?: string[]; to?: string[] }
  | { code: 'code-changed' | 'code-added' | 'code-removed'; file: string }
  | { code: 'input-changed' | 'input-added' | 'input-removed'; path: string }
  /** A needed stage's outs differ from the ones this stage last read. */
  | { code: 'upstream-changed'; stage: string }
  /** The stage last read outs of a stage it no longer needs. */
  | { code: 'upstream-removed'; stage: string }
  | { code: 'out-missing'; path: string }
  | { code: 'out-modified'; path: string }
  /**
   * An out's bytes are not in the store: a restore found an object missing, or (with `recordedIn`) the plan saw that
   * the outs recorded in pipeline.lock or the run-cache cannot be restored (a fresh clone with an empty store).
   * `pullable`: a remote store has them.
   */
  | { code: 'not-in-store'; path: string; recordedIn?: 'lock' | 'run-cache'; pullable?: boolean }
  /** A restore found a stored object whose bytes no longer match its hash (it was discarded). */
  | { code: 'object-corrupt'; path: string }
  /** A dep that does not exist, at its entry in `deps`; `suggestion` is a path like it that exists or a stage writes. */
  | { code: 'dep-missing'; path: string; position: string; suggestion?: string }
  /** A `module:` stage's code does not build; `message` says where and why. */
  | { code: 'module-error'; message: string }
  /** A dep may not be read (a symlink, a special file, outside the workspace); `message` says which and why. */
  | { code: 'dep-refused'; message: string }
  | { code: 'forced' }
  | { code: 'always-runs' }
  | { code: 'up-to-date' }
  /** Inputs differ from pipeline.lock but match a run whose outputs are in place. */
  | { code: 'seen-before' }
  | { code: 'restorable'; from: 'lock' | 'run-cache' }
  /** The remote cache has a result for this fingerprint (`status --remote`, `run --pull`). */
  | { code: 'restorable-from-remote' }
  /** `run --pull`: the remote's result could not be used (unreachable, refused, incomplete); `detail` says why. */
  | { code: 'remote-unusable'; detail: string }
  /** A stored out that may not be restored (a manifest with unsafe paths, an I/O error): the stage runs. */
  | { code: 'restore-refused'; path: string; message: string }
  /** A lock entry or run record whose outs are not exactly the declared outs: refused, the stage runs. */
  | { code: 'record-refused'; from: 'lock' | 'run-cache'; message: string }
  /** Dry run: the stage waits on stages that will run; it runs only if their outs change. */
  | { code: 'upstream-will-run'; stages: string[] }
  | { code: 'upstream-has-no-outs'; stage: string }
  /** Dry run: a dep that is not there yet, written by an upstream stage; it is read once that stage ran. */
  | { code: 'dep-produced'; path: string; stage: string }
  /** Nothing to compare with: the lock entry was written by another fingerprint format. */
  | { code: 'fingerprint-format-changed' }
  | { code: 'blocked-by'; stage: string; gate: boolean }
  | { code: 'not-started'; failed: string }
  | { code: 'not-selected' }
  | { code: 'interrupted' };

export type ReasonCode = Reason['code'];

function show(value: unknown): string {
  return value === undefined ? 'unset' : JSON.stringify(value);
}

const quote = (name: string) => `\`${name}\``;

/** The member of the union that carries code `C` (some members share one shape between several codes). */
type ReasonOf<C extends ReasonCode> = Reason extends infer R ? (R extends { code: infer K } ? (C extends K ? R : never) : never) : never;

/** One sentence per reason code: a mapped type over the union, so a new reason without its sentence does not compile. */
const SENTENCES: { [C in ReasonCode]: (reason: ReasonOf<C>) => string } = {
  'never-run': () => 'never run',
  'param-changed': (r) => `changed param ${quote(r.name)} (${show(r.from)} → ${show(r.to)})${r.overriddenIn !== undefined ? `, overridden in ${r.overriddenIn}` : ''}`,
  'env-changed': (r) => `changed env ${quote(r.name)} (${show(r.from)} → ${show(r.to)})`,
  'command-changed': (r) => `changed command (${show(r.from)} → ${show(r.to)})`,
  'kind-changed': () => 'changed stage kind',
  'module-changed': (r) => `changed module (${show(r.from)} → ${show(r.to)})`,
  'outs-changed': (r) => `changed outs (${show(r.from)} → ${show(r.to)})`,
  'code-changed': (r) => toolchainChange(r.file) ?? `changed code ${quote(r.file)}`,
  'code-added': (r) => toolchainChange(r.file, 'now imports package') ?? `new code ${quote(r.file)}`,
  'code-removed': (r) => toolchainChange(r.file, 'no longer imports package') ?? `removed code ${quote(r.file)}`,
  'input-changed': (r) => `changed input ${quote(r.path)}`,
  'input-added': (r) => `new input ${quote(r.path)}`,
  'input-removed': (r) => `removed input ${quote(r.path)}`,
  'upstream-changed': (r) => `upstream ${quote(r.stage)} changed its outs`,
  'upstream-removed': (r) => `no longer needs ${quote(r.stage)}`,
  'out-missing': (r) => `out ${quote(r.path)} is missing`,
  'out-modified': (r) => `out ${quote(r.path)} was modified in the workspace`,
  'not-in-store': (r) =>
    r.recordedIn === undefined
      ? `a cached object of ${quote(r.path)} was missing`
      : `out ${quote(r.path)} is recorded in ${r.recordedIn === 'lock' ? 'pipeline.lock' : 'the run-cache'} but not in the store${r.pullable ? '; it can be pulled from the remote' : ''}`,
  'object-corrupt': (r) => `a cached object of ${quote(r.path)} was corrupt and was discarded`,
  'dep-missing': (r) => `dep ${quote(r.path)} does not exist (${r.position})${r.suggestion ? `; did you mean ${quote(r.suggestion)}?` : ''}`,
  'module-error': (r) => r.message,
  'dep-refused': (r) => r.message,
  forced: () => 'forced (--force)',
  'always-runs': () => 'always runs (cache: false)',
  'up-to-date': () => 'up to date',
  'seen-before': () => 'same inputs seen before, outputs already in place',
  restorable: (r) => `restorable from the ${r.from === 'lock' ? 'pipeline.lock' : 'run-cache'}`,
  'restorable-from-remote': () => 'restorable from the remote',
  'remote-unusable': (r) => `the remote's result was not used: ${r.detail}`,
  'record-refused': (r) => r.message,
  'restore-refused': (r) => `out \`${r.path}\` could not be restored: ${r.message}`,
  'upstream-will-run': (r) =>
    r.stages.length === 1
      ? `upstream ${quote(r.stages[0])} will run; runs if its outs change`
      : `upstreams ${r.stages.map(quote).join(', ')} will run; runs if their outs change`,
  'upstream-has-no-outs': (r) => `upstream ${quote(r.stage)} has no outs yet`,
  'dep-produced': (r) => `dep ${quote(r.path)} is produced by ${quote(r.stage)}`,
  'fingerprint-format-changed': () => 'fingerprint format changed',
  'blocked-by': (r) => `${r.gate ? 'gate' : 'upstream'} ${quote(r.stage)} failed`,
  'not-started': (r) => `not started: ${quote(r.failed)} failed (--keep-going runs independent stages)`,
  'not-selected': () => 'not selected',
  interrupted: () => 'not started: the run was interrupted',
};

/** The sentence for one reason (the wording `run`, `status` and `--dry-run` print). */
export function formatReason(reason: Reason): string {
  const sentence = SENTENCES[reason.code] as ((r: Reason) => string) | undefined;
  return sentence ? sentence(reason) : unreachable(reason as never);
}

/** A changed toolchain entry of a module stage's code (runner/plan/code.ts), in words. */
function toolchainChange(key: string, packageVerb = 'changed version of package'): string | undefined {
  if (key === 'toolchain:node') return 'changed Node major version';
  if (key === 'toolchain:platform') return 'changed platform';
  if (key.startsWith('package:')) return `${packageVerb} ${quote(key.slice('package:'.length))}`;
  return undefined;
}

export function formatReasons(reasons: readonly Reason[]): string {
  return reasons.map(formatReason).join('; ');
}

/** A reason as it appears in every `--json` document: its code, its sentence, and its fields. */
export function reasonJson(reason: Reason): { code: ReasonCode; message: string } & Record<string, unknown> {
  const { code, ...fields } = reason;
  return { code, message: formatReason(reason), ...fields };
}

/** The exhaustiveness check of every switch over a union. */
export function unreachable(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
