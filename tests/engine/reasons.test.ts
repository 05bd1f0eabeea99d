// The sentences people read, tested once here: every reason code, every failure cause and the one-line account
// of a stage. Every other test matches codes.
import { expect } from 'chai';
import { formatReason, formatReasons, reasonJson, type Reason, type ReasonCode } from '../../runner/plan/reasons.js';
import { describeResult, formatCause, outcomeJson, statusOf, type FailureCause, type Outcome } from '../../runner/exec/outcome.js';

// A Record over every code: adding a reason without a sentence here fails to type-check.
const SENTENCES: Record<ReasonCode, [Reason, string]> = {
  'never-run': [{ code: 'never-run' }, 'never run'],
  'param-changed': [{ code: 'param-changed', name: 'alpha', from: 0.1, to: 0.2 }, 'changed param `alpha` (0.1 → 0.2)'],
  'env-changed': [{ code: 'env-changed', name: 'MODE', from: undefined, to: 'fast' }, 'changed env `MODE` (unset → "fast")'],
  'command-changed': [{ code: 'command-changed', from: ['node', 'a.js'], to: ['node', 'b.js'] }, 'changed command (["node","a.js"] → ["node","b.js"])'],
  'kind-changed': [{ code: 'kind-changed' }, 'changed stage kind'],
  'module-changed': [{ code: 'module-changed', from: 'a.ts', to: 'b.ts' }, 'changed module ("a.ts" → "b.ts")'],
  'outs-changed': [{ code: 'outs-changed', from: ['a'], to: ['a', 'b'] }, 'changed outs (["a"] → ["a","b"])'],
  'code-changed': [{ code: 'code-changed', file: 'mod/lib.ts' }, 'changed code `mod/lib.ts`'],
  'code-added': [{ code: 'code-added', file: 'mod/extra.ts' }, 'new code `mod/extra.ts`'],
  'code-removed': [{ code: 'code-removed', file: 'mod/old.ts' }, 'removed code `mod/old.ts`'],
  'input-changed': [{ code: 'input-changed', path: 'data/raw.txt' }, 'changed input `data/raw.txt`'],
  'input-added': [{ code: 'input-added', path: 'data/b.csv' }, 'new input `data/b.csv`'],
  'input-removed': [{ code: 'input-removed', path: 'data/b.csv' }, 'removed input `data/b.csv`'],
  'upstream-changed': [{ code: 'upstream-changed', stage: 'prepare' }, 'upstream `prepare` changed its outs'],
  'upstream-removed': [{ code: 'upstream-removed', stage: 'old' }, 'no longer needs `old`'],
  'out-missing': [{ code: 'out-missing', path: 'build/a.txt' }, 'out `build/a.txt` is missing'],
  'out-modified': [{ code: 'out-modified', path: 'build/a.txt' }, 'out `build/a.txt` was modified in the workspace'],
  'not-in-store': [{ code: 'not-in-store', path: 'build/a.txt' }, 'a cached object of `build/a.txt` was missing'],
  'object-corrupt': [{ code: 'object-corrupt', path: 'build/a.txt' }, 'a cached object of `build/a.txt` was corrupt and was discarded'],
  'dep-missing': [{ code: 'dep-missing', path: 'data/x.csv', position: 'pipeline.yaml:5:12' }, 'dep `data/x.csv` does not exist (pipeline.yaml:5:12)'],
  'module-error': [{ code: 'module-error', message: 'mod/lib.ts:2:1: cannot build module `mod/stage.ts`: oops' }, 'mod/lib.ts:2:1: cannot build module `mod/stage.ts`: oops'],
  'dep-refused': [{ code: 'dep-refused', message: 'dep `data/in.txt` is a symlink' }, 'dep `data/in.txt` is a symlink'],
  forced: [{ code: 'forced' }, 'forced (--force)'],
  'always-runs': [{ code: 'always-runs' }, 'always runs (cache: false)'],
  'up-to-date': [{ code: 'up-to-date' }, 'up to date'],
  'seen-before': [{ code: 'seen-before' }, 'same inputs seen before, outputs already in place'],
  restorable: [{ code: 'restorable', from: 'run-cache' }, 'restorable from the run-cache'],
  'restorable-from-remote': [{ code: 'restorable-from-remote' }, 'restorable from the remote'],
  'remote-unusable': [{ code: 'remote-unusable', detail: 'object 1f2e… refused' }, "the remote's result was not used: object 1f2e… refused"],
  'record-refused': [{ code: 'record-refused', from: 'lock', message: 'pipeline.lock lists `x`, which is not an out' }, 'pipeline.lock lists `x`, which is not an out'],
  'restore-refused': [{ code: 'restore-refused', path: 'build/d', message: 'manifest entry `../x` leaves the out' }, 'out `build/d` could not be restored: manifest entry `../x` leaves the out'],
  'dep-produced': [{ code: 'dep-produced', path: 'build/metrics.json', stage: 'fit' }, 'dep `build/metrics.json` is produced by `fit`'],
  'upstream-will-run': [{ code: 'upstream-will-run', stages: ['fit'] }, 'upstream `fit` will run; runs if its outs change'],
  'upstream-has-no-outs': [{ code: 'upstream-has-no-outs', stage: 'prepare' }, 'upstream `prepare` has no outs yet'],
  'fingerprint-format-changed': [{ code: 'fingerprint-format-changed' }, 'fingerprint format changed'],
  'blocked-by': [{ code: 'blocked-by', stage: 'check', gate: true }, 'gate `check` failed'],
  'not-started': [{ code: 'not-started', failed: 'bad' }, 'not started: `bad` failed (--keep-going runs independent stages)'],
  'not-selected': [{ code: 'not-selected' }, 'not selected'],
  interrupted: [{ code: 'interrupted' }, 'not started: the run was interrupted'],
};

describe('reasons and outcomes: the sentences', () => {
  for (const [code, [reason, sentence]] of Object.entries(SENTENCES)) {
    it(`${code}: ${sentence}`, () => {
      expect(reason.code).to.equal(code);
      expect(formatReason(reason)).to.equal(sentence);
    });
  }

  it('variants within a code: several upstreams, the lock as the restore source, a failed upstream that is no gate', () => {
    expect(formatReason({ code: 'upstream-will-run', stages: ['fit', 'side'] })).to.equal('upstreams `fit`, `side` will run; runs if their outs change');
    expect(formatReason({ code: 'restorable', from: 'lock' })).to.equal('restorable from the pipeline.lock');
    expect(formatReason({ code: 'code-changed', file: 'toolchain:node' })).to.equal('changed Node major version');
    expect(formatReason({ code: 'code-changed', file: 'package:zod' })).to.equal('changed version of package `zod`');
    expect(formatReason({ code: 'code-added', file: 'package:zod' })).to.equal('now imports package `zod`');
    expect(formatReason({ code: 'code-removed', file: 'toolchain:platform' })).to.equal('changed platform');
    expect(formatReason({ code: 'blocked-by', stage: 'bad', gate: false })).to.equal('upstream `bad` failed');
    expect(formatReasons([{ code: 'never-run' }, { code: 'forced' }])).to.equal('never run; forced (--force)');
  });

  it('a reason in JSON: code, message, then its fields', () => {
    const json = reasonJson({ code: 'param-changed', name: 'alpha', from: 0.1, to: 0.2 });
    expect(json).to.deep.equal({ code: 'param-changed', message: 'changed param `alpha` (0.1 → 0.2)', name: 'alpha', from: 0.1, to: 0.2 });
    expect(Object.keys(json).slice(0, 2)).to.deep.equal(['code', 'message']);
  });

  const CAUSES: [FailureCause, string][] = [
    [{ kind: 'exit', exitCode: 2, message: 'bad row 7' }, 'bad row 7'],
    [{ kind: 'exit', exitCode: 2 }, 'exited with code 2'],
    [{ kind: 'gate', exitCode: 3, message: 'score 3 is below the minimum 5' }, 'score 3 is below the minimum 5'],
    [{ kind: 'signal', signal: 'SIGKILL' }, 'killed by signal SIGKILL'],
    [{ kind: 'signal', signal: 'SIGTERM', message: 'caught SIGTERM, saving' }, 'killed by signal SIGTERM (last line on stderr: caught SIGTERM, saving)'],
    [{ kind: 'timeout', timeoutMs: 500 }, 'timed out after 0.5s'],
    [{ kind: 'interrupted' }, 'interrupted'],
    [{ kind: 'spawn', message: 'Command failed with ENOENT: nope' }, 'Command failed with ENOENT: nope'],
    [{ kind: 'inputs-changed', path: 'data/raw.txt', what: 'input' }, 'input `data/raw.txt` changed while the stage ran; its outputs were not recorded — run again'],
    [{ kind: 'inputs-changed', path: 'mod/lib.ts', what: 'code' }, 'code `mod/lib.ts` changed while the stage ran; its outputs were not recorded — run again'],
    [{ kind: 'outs-missing', paths: ['build/a'] }, 'the stage did not write its out `build/a`'],
    [{ kind: 'outs-missing', paths: ['build/a', 'build/b'] }, 'the stage did not write its outs `build/a`, `build/b`'],
    [{ kind: 'dep-missing', path: 'x', position: 'pipeline.yaml:3:4' }, 'dep `x` does not exist (pipeline.yaml:3:4)'],
    [{ kind: 'module-error', message: 'cannot build' }, 'cannot build'],
    [{ kind: 'workspace', message: 'out `a` is a symlink' }, 'out `a` is a symlink'],
  ];
  for (const [cause, sentence] of CAUSES) {
    it(`failure cause ${cause.kind}: ${sentence}`, () => {
      expect(formatCause(cause)).to.equal(sentence);
      expect(outcomeJson({ kind: 'failed', cause })).to.deep.equal({ kind: 'failed', cause: { ...cause, message: sentence } });
    });
  }

  it('the one-line account of each outcome, and its coarse status', () => {
    const reasons: Reason[] = [{ code: 'param-changed', name: 'n', from: 2, to: 1 }, { code: 'restorable', from: 'run-cache' }];
    const line = (outcome: Outcome) => describeResult({ name: 's', outcome, reasons, durationMs: 0 });
    expect(line({ kind: 'restored' })).to.equal('restored: changed param `n` (2 → 1); restorable from the run-cache');
    expect(line({ kind: 'ran' })).to.equal('changed param `n` (2 → 1); restorable from the run-cache');
    expect(line({ kind: 'failed', cause: { kind: 'timeout', timeoutMs: 1500 } })).to.equal('timed out after 1.5s');
    const status = (['fresh', 'restored', 'ran', 'blocked', 'skipped'] as const).map((kind) => statusOf({ kind }));
    expect(status).to.deep.equal(['cached', 'cached', 'ran', 'blocked', 'skipped']);
    expect(outcomeJson({ kind: 'restored' })).to.deep.equal({ kind: 'restored' });
  });
});
