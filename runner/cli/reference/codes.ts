// What each code of the reference's tables means: diagnostics (docs/pipeline-yaml.md), outcomes, causes and
// reasons (docs/cli.md). The codes and their fields come from the code itself — DIAGNOSTIC_CODES and the unions in
// exec/outcome.ts and plan/reasons.ts, read by scripts/docs-tables.ts — and every record here is keyed by its union, so a new
// outcome, cause or reason without a meaning does not compile; a diagnostic code missing from the groups below
// stops `npm run docs`.
import type { DiagnosticCode } from '../../core/diagnostic.js';
import type { FailureCause, OutcomeKind } from '../../exec/outcome.js';
import type { StageStatus } from '../../public/last-run.js';
import type { Reason } from '../../plan/reasons.js';

/** Diagnostic codes, grouped as the table shows them: each code in exactly one group. */
export const DIAGNOSTIC_GROUPS: [DiagnosticCode[], string][] = [
  [['file-too-large'], 'the file is over 8 MiB (refused before it is parsed)'],
  [['yaml-syntax', 'empty-file', 'yaml-alias', 'not-a-mapping'], 'not a readable YAML mapping (an alias bomb is `yaml-alias`)'],
  [['duplicate-key', 'duplicate-stage'], 'a key or a stage name given twice (related: the first one)'],
  [['reserved-name'], '`__proto__`, `constructor` or `prototype` as a stage name or a param name at any depth'],
  [
    ['unknown-key', 'missing-key', 'wrong-type', 'invalid-value', 'invalid-name'],
    'shapes: a key that does not exist (did-you-mean), a required one missing, a value of the wrong type or out of range, a stage, command or variable name that is not allowed',
  ],
  [['cmd-and-module', 'no-cmd-or-module', 'cmd-syntax', 'cmd-empty', 'shell-misuse'], "a stage's command"],
  [['missing-module', 'module-not-file', 'module-escapes'], 'a `module:` (or workspace command) file that is missing, a folder, or resolves outside the workspace'],
  [
    ['bad-path', 'path-escapes', 'glob-not-allowed', 'reserved-out'],
    'a path that is empty, absolute, has a NUL or `~`, leaves the workspace (`..`), is a glob where only `deps` may use one, or is reserved for the runner',
  ],
  [['dep-unhashable'], 'a dep under `/proc`, `/sys` or `/dev` (not `/dev/shm`): nothing there can be hashed'],
  [['dep-is-out', 'metrics-not-out', 'metrics-format', 'self-need', 'unknown-need', 'reserved-env'], "one stage's deps, metrics, needs, env"],
  [['pass-env-declared', 'pass-env-duplicate'], 'a `passEnv` name also in `env`, or listed twice'],
  [
    ['bad-remote'],
    'a `remote:` URL with an unknown scheme, an `s3://` without a bucket or with credentials, one the URL parser does not take, or one with an `@` after a `/`, `?` or `#` (it cannot be told whether that ends a password)',
  ],
  [['dep-not-found'], '(warning) a dep that does not exist and that no stage writes, with a similar path when there is one (`run` refuses it if it is still missing)'],
  [
    ['remote-credentials'],
    '(warning) `user:password@` in the `remote:` URL: pipeline.yaml is committed; set `PIPELINE_REMOTE_USER`/`PIPELINE_REMOTE_PASSWORD` or `PIPELINE_REMOTE_TOKEN` instead',
  ],
  [['sbatch-option'], 'an extra sbatch option under `resources: sbatch:` that the runner sets itself (`--output`, `--wrap`, …)'],
  [
    ['retry-unused'],
    'a retry setting that can never apply: `retryOn` without `retries` or on a gate stage (its exits are verdicts), a `resources.memory` list with more values than attempts',
  ],
  [['out-overlap'], 'two outs are the same path or one lies inside the other (related: the other out)'],
  [['cycle'], '`needs` form a cycle, printed as its path (related: the other needs of the cycle)'],
  [
    ['dep-needs-producer'],
    'a dep (a path, or a glob matching an out or reading inside one, also one a `${param}` produced) is written by a stage it does not need (related: that out, and the `--set` that gave the value)',
  ],
  [['command-builtin'], 'a workspace command named like a built-in one'],
  [
    ['matrix-shape', 'matrix-empty', 'matrix-value'],
    '`matrix:` that is not a mapping of keys to lists (or has no keys, or over 10,000 combinations), a key with an empty list, a value that is not a string, finite number or boolean',
  ],
  [['matrix-param-clash'], 'a matrix key that is also a param the stage reads (its own, or a global one; related: the param)'],
  [['matrix-key-set'], "`--set TEMPLATE.KEY=…` (or an expansion's) of a matrix key: edit the list in `matrix:` instead"],
  [
    ['expansion-name'],
    'a value that cannot be part of a default name (not `[A-Za-z0-9_.-]+`) without a `name:` pattern, a pattern that references no matrix key or gives an invalid stage name, `name:` on a stage with no `matrix:`',
  ],
  [['expansion-clash'], 'two expansions, or an expansion and another stage, with one name (related: the other one)'],
  [
    ['unknown-param'],
    "`--set` of a param the stage or the file does not declare, a `uses:` name that is not a global param, a stage param its module's schema does not read",
  ],
  [
    ['param-type'],
    "a value (in the file or from `--set`) that does not fit the type in the stage module's `params` schema; the position is the value's, or the `--set` argument's (`--set gate.r2_min=abc:1:19`)",
  ],
  [['param-missing'], "a param the module's schema requires is set nowhere"],
  [
    ['param-check'],
    "a value (or the values together) that a check of the module's `params` schema refuses: `.refine()`, `.superRefine()`, `.check()`, a transform; or the check threw. The message is the check's",
  ],
  [['params-schema'], "a module's `params` export is not a zod object schema (or the module cannot be imported)"],
  [
    ['unknown-interpolation'],
    '`${name}` in `deps`, `cmd` or `env` names no param of the stage, in `outs`, `metrics` or `name:` no matrix key, has no `}`, or is a value that is not a string, number or boolean (a literal `${` is written `$${`)',
  ],
  [
    ['unsafe-interpolation'],
    '`${name}` where no quoting makes a value safe (inside `$(…)`, backquotes, `$((…))`, a here-document, …), in the code argument of an interpreter (`sh -c`, `python -c`, `node -e`, …), or a value holding a NUL character (see [Inputs outside the workspace](#inputs-outside-the-workspace))',
  ],
  [['unknown-stage', 'ci-job-id', 'ci-artifact', 'ci-out-name', 'ci-secret-env'], 'the `ci:` settings (`pipeline ci generate`)'],
];

/** Each outcome: the `status` `--json` gives it, and what it means. */
export const OUTCOME_MEANINGS: Record<OutcomeKind, [StageStatus, string]> = {
  fresh: ['cached', 'its outputs were in place for its inputs; nothing done'],
  restored: ['cached', 'its outputs for these inputs were put back from the store'],
  ran: ['ran', 'executed and recorded'],
  failed: ['failed', 'executed (or tried to) and failed; `cause` says how'],
  blocked: ['blocked', 'not started: a stage it needs failed, or the run stopped first'],
  skipped: ['skipped', 'not selected'],
};

export const CAUSE_MEANINGS: Record<FailureCause['kind'], string> = {
  exit: 'exited non-zero; `message` is its verdict or last line of stderr; a `module:` stage that threw also has `at` (`stages/fit.ts:8:86`) and `stack`, mapped to the TypeScript source',
  gate: 'a `gate: true` stage rejected the result (exit code 3 for the run); `at` and `stack` as for `exit` when it threw something other than a `GateVerdict`',
  signal: 'killed by a signal: `killed by signal SIGTERM`, with its last line on stderr when it wrote one',
  timeout: 'ran over its `timeout` and was stopped',
  interrupted: 'the run was interrupted (Ctrl-C, SIGTERM)',
  'job-ended':
    'a Slurm job ended without writing its exit status: `CANCELLED` outside the run, `TIMEOUT` (its time limit), `NODE_FAIL`, `OUT_OF_MEMORY`, … or `gone` (Slurm no longer knows the job)',
  spawn: 'the command could not be started (for Slurm: sbatch refused the job, with its message)',
  'inputs-changed': 'an input changed while it ran; nothing recorded',
  'outs-missing': 'it succeeded without writing these declared outs',
  'dep-missing': 'a dep vanished after the run started; `suggestion` is a similar path that exists or a stage writes',
  'module-error': "a `module:` stage's code does not build, or throws while it is loaded (never retried)",
  workspace: 'a dep could not be read, or its outs saved or cleared (a symlink, a special file)',
};

/** Each reason: the sentence it reads as (an example where it has fields). */
export const REASON_MESSAGES: Record<Reason['code'], string> = {
  'never-run': 'never run',
  'param-changed': '``changed param `alpha` (0.1 → 0.2)``; with `overriddenIn`, the file or flag that set the new value (``, overridden in pipeline.local.yaml``)',
  'env-changed': '``changed env `MODE` (unset → "fast")``',
  'command-changed': '`changed command (…)`',
  'kind-changed': 'changed stage kind (`cmd:` ↔ `module:`)',
  'module-changed': '`changed module (…)`',
  'outs-changed': '`changed outs (…)`',
  'code-changed': '``changed code `x` ``',
  'code-added': '``new code `x` ``',
  'code-removed': '``removed code `x` ``',
  'input-changed': '``changed input `x` ``',
  'input-added': '``new input `x` ``',
  'input-removed': '``removed input `x` ``',
  'upstream-changed': '``upstream `prepare` changed its outs``',
  'upstream-removed': '``no longer needs `old` ``',
  'out-missing': '``out `x` is missing``',
  'out-modified': '``out `x` was modified in the workspace``',
  'not-in-store':
    "the out's bytes are not in the store: a restore found an object missing, or (with `recordedIn`) the plan saw that the outs `pipeline.lock` or the run cache records are gone; `pullable`: the remote has them",
  'object-corrupt': "a stored object's bytes no longer match (discarded); the stage runs",
  'dep-missing': '``dep `data/house.csv` does not exist (pipeline.yaml:5:12); did you mean `data/houses.csv`?``',
  'module-error': 'the module does not build',
  'dep-refused': 'a dep may not be read (a symlink, a special file, outside the workspace)',
  forced: 'forced (--force)',
  'always-runs': 'always runs (cache: false)',
  'up-to-date': 'up to date',
  'seen-before': 'same inputs seen before, outputs already in place',
  restorable: 'restorable from the run-cache',
  'restorable-from-remote': 'restorable from the remote (`run --pull`, `status --remote`)',
  'remote-unusable': "`run --pull`: the remote's result was not used (refused, incomplete, remote down); the stage runs",
  'restore-refused': '``out `x` could not be restored: …`` (an unsafe folder manifest, an I/O error); the stage runs',
  'record-refused': "a lock entry or run record whose outs are not exactly the stage's declared outs: refused, the stage runs",
  'upstream-will-run': 'dry run: ``upstream `fit` will run; runs if its outs change``',
  'dep-produced': 'dry run: ``dep `build/metrics.json` is produced by `fit` `` (not there yet; read once `fit` ran)',
  'upstream-has-no-outs': 'dry run: ``upstream `x` has no outs yet``',
  'fingerprint-format-changed': 'fingerprint format changed',
  'blocked-by': '``upstream `x` failed`` / ``gate `x` failed``',
  'not-started': 'not started after a failure (without `--keep-going`)',
  interrupted: 'not started: the run was interrupted',
  'not-selected': 'not selected',
};
