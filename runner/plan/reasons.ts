// Why a stage runs, is fresh, is restored or is blocked — as data. Each reason has a stable `code` (the JSON
// documents and the tests match codes) and the fields it needs; `formatReason` is the one place that turns a
// reason into the sentence people read. New reasons are added here, to the README's table, and to the formatter.

export type Reason =
  /** pipeline.lock has no entry for the stage. */
  | { code: 'never-run' }
  | { code: 'param-changed'; name: string; from?: unknown; to?: unknown }
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
  | { code: 'dep-missing'; path: string; position: string }
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

/** The sentence for one reason (the wording `run`, `status` and `--dry-run` print). */
export function formatReason(reason: Reason): string {
  switch (reason.code) {
    case 'never-run':
      return 'never run';
    case 'param-changed':
      return `changed param ${quote(reason.name)} (${show(reason.from)} → ${show(reason.to)})`;
    case 'env-changed':
      return `changed env ${quote(reason.name)} (${show(reason.from)} → ${show(reason.to)})`;
    case 'command-changed':
      return `changed command (${show(reason.from)} → ${show(reason.to)})`;
    case 'kind-changed':
      return 'changed stage kind';
    case 'module-changed':
      return `changed module (${show(reason.from)} → ${show(reason.to)})`;
    case 'outs-changed':
      return `changed outs (${show(reason.from)} → ${show(reason.to)})`;
    case 'code-changed':
      return toolchainChange(reason.file) ?? `changed code ${quote(reason.file)}`;
    case 'code-added':
      return toolchainChange(reason.file, 'now imports package') ?? `new code ${quote(reason.file)}`;
    case 'code-removed':
      return toolchainChange(reason.file, 'no longer imports package') ?? `removed code ${quote(reason.file)}`;
    case 'input-changed':
      return `changed input ${quote(reason.path)}`;
    case 'input-added':
      return `new input ${quote(reason.path)}`;
    case 'input-removed':
      return `removed input ${quote(reason.path)}`;
    case 'upstream-changed':
      return `upstream ${quote(reason.stage)} changed its outs`;
    case 'upstream-removed':
      return `no longer needs ${quote(reason.stage)}`;
    case 'out-missing':
      return `out ${quote(reason.path)} is missing`;
    case 'out-modified':
      return `out ${quote(reason.path)} was modified in the workspace`;
    case 'not-in-store':
      if (reason.recordedIn === undefined) return `a cached object of ${quote(reason.path)} was missing`;
      return `out ${quote(reason.path)} is recorded in ${reason.recordedIn === 'lock' ? 'pipeline.lock' : 'the run-cache'} but not in the store${reason.pullable ? '; it can be pulled from the remote' : ''}`;
    case 'object-corrupt':
      return `a cached object of ${quote(reason.path)} was corrupt and was discarded`;
    case 'dep-missing':
      return `dep ${quote(reason.path)} does not exist (${reason.position})`;
    case 'module-error':
    case 'dep-refused':
      return reason.message;
    case 'forced':
      return 'forced (--force)';
    case 'always-runs':
      return 'always runs (cache: false)';
    case 'up-to-date':
      return 'up to date';
    case 'seen-before':
      return 'same inputs seen before, outputs already in place';
    case 'restorable':
      return `restorable from the ${reason.from === 'lock' ? 'pipeline.lock' : 'run-cache'}`;
    case 'restorable-from-remote':
      return 'restorable from the remote';
    case 'remote-unusable':
      return `the remote's result was not used: ${reason.detail}`;
    case 'record-refused':
      return reason.message;
    case 'restore-refused':
      return `out \`${reason.path}\` could not be restored: ${reason.message}`;
    case 'upstream-will-run':
      return reason.stages.length === 1
        ? `upstream ${quote(reason.stages[0])} will run; runs if its outs change`
        : `upstreams ${reason.stages.map(quote).join(', ')} will run; runs if their outs change`;
    case 'upstream-has-no-outs':
      return `upstream ${quote(reason.stage)} has no outs yet`;
    case 'dep-produced':
      return `dep ${quote(reason.path)} is produced by ${quote(reason.stage)}`;
    case 'fingerprint-format-changed':
      return 'fingerprint format changed';
    case 'blocked-by':
      return `${reason.gate ? 'gate' : 'upstream'} ${quote(reason.stage)} failed`;
    case 'not-started':
      return `not started: ${quote(reason.failed)} failed (--keep-going runs independent stages)`;
    case 'not-selected':
      return 'not selected';
    case 'interrupted':
      return 'not started: the run was interrupted';
    default:
      return unreachable(reason);
  }
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
