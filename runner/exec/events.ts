// The one stream a run reports through: the scheduler emits what happens to stages, the run session what happens
// around them (waiting for the workspace, stopping what an earlier run left, warnings, what the remote cache moved),
// and the terminal, `--json`, .pipeline/last-run.json and the history are listeners on it (see report/). Nothing in
// exec/ prints. Every member is handled by every listener (the union is checked exhaustively).
import type { Reason } from '../plan/reasons.js';
import type { FailureCause, StageResult } from './outcome.js';
import type { RunningOwner } from './running.js';
import type { Diagnostic } from '../core/diagnostic.js';

export interface RunSummary {
  ok: boolean;
  exitCode: number;
  /** Every stage, in run order; those outside the selection are `skipped`. */
  stages: StageResult[];
  startedAt: Date;
  durationMs: number;
}

/** What happens to the stages of a run. */
export type StageEvent =
  /** A stage starts executing (fresh and restored stages do not start: they only finish). */
  | { type: 'stage-started'; name: string; reasons: Reason[] }
  /**
   * A stage that started failed and is executed again (`attempt` is the one starting now, 2 for the first retry):
   * not an outcome — the stage still finishes once, with the outcome of its last attempt.
   */
  | { type: 'stage-retry'; name: string; attempt: number; cause: FailureCause }
  /** A stage has its outcome, once; `log` is its output (of this run, or replayed with --verbose). */
  | { type: 'stage-finished'; result: StageResult; log?: string }
  | { type: 'run-finished'; summary: RunSummary };

/** Something the user is warned about; `code` says what, the other fields the details. */
export type Warning =
  /** pipeline.lock's entry of a stage has the wrong shape: ignored, the stage is checked again. */
  | { code: 'lock-entry-ignored'; file: string; stage: string; problem: string }
  /** Something an earlier run left running (it was killed) was stopped before this one touched anything. */
  | { code: 'leftover-stopped'; stage: string; executor: RunningOwner; runner: number; processes?: number; jobId?: string }
  /** The scratch copies of an `exp run` that was killed were removed from the temp folder. */
  | { code: 'leftover-scratch'; folder: string; runner: number }
  /** What the remote cache had failed a check (the stage ran instead), or lacked part of a result. */
  | { code: 'remote-refused'; detail: string }
  | { code: 'remote-incomplete'; detail: string }
  /**
   * The remote cache failed (unreachable, an error answer): the run went on without it. One warning, with the stages
   * whose result was therefore not pulled or not pushed.
   */
  | { code: 'remote-failed'; message: string; notPulled: string[]; notPushed: string[] }
  /** `status --remote`: the remote's record of a result could not be used, or the remote could not be asked. */
  | { code: 'remote-lookup'; message: string }
  /** `run --update`: the server of a URL dep did not answer; its recorded state is kept. */
  | { code: 'url-unreachable'; url: string; message: string }
  /**
   * `pipeline watch`: a stage changed files it reads while it ran (`paths`): its own writes start no run; said once
   * per stage.
   */
  | { code: 'watch-writes-deps'; stage: string; paths: string[] };

/** What the user is told around the stages. */
export type Notice =
  /** Another command holds the workspace: this one waits for it. */
  | { type: 'lock-wait'; pid: number; started: string; command: string }
  | { type: 'warning'; warning: Warning }
  /** Results moved between the local store and the remote cache (`run --pull/--push`). */
  | { type: 'remote-transfer'; direction: 'pull' | 'push'; results: number; objects: number; bytes: number; remote: string }
  /** Ctrl-C (or SIGTERM, SIGHUP): what is being stopped; a second one quits at once. */
  | { type: 'interrupt'; signal: string; stopping: 'stages' | 'slurm-jobs' | 'work' }
  /** Shown only with PIPELINE_DEBUG: how many stage hosts were started ahead and used. */
  | { type: 'hosts'; started: number; taken: number }
  /** `run --update`: what the server of a URL dep said (`none`: the selected stages have no URL deps). */
  | { type: 'url-check'; url?: string; result: 'unchanged' | 'first' | 'changed' | 'none'; message: string }
  /** `pipeline watch`: the run is over; `files` paths are watched, the next change starts the next plan. */
  | { type: 'watch-waiting'; files: number }
  /**
   * `pipeline watch`: files changed (workspace-relative, `../` outside it) and the plan is made again; `cancelled`:
   * the running stages that read one of them, stopped to run again with the new inputs.
   */
  | { type: 'watch-change'; paths: string[]; cancelled?: string[] }
  /** `pipeline watch`: the config has errors (`diagnostics`, as `validate` reports them): the next save is awaited. */
  | { type: 'watch-invalid'; diagnostics: Diagnostic[]; text: string };

export type RunEvent = StageEvent | Notice;

export type NoticeType = Notice['type'];

const NOTICE_TYPES = new Set<string>(['lock-wait', 'warning', 'remote-transfer', 'interrupt', 'hosts', 'url-check', 'watch-waiting', 'watch-change', 'watch-invalid'] satisfies NoticeType[]);

export function isNotice(event: RunEvent): event is Notice {
  return NOTICE_TYPES.has(event.type);
}

export interface RunListener {
  event(event: RunEvent): void;
  /** The run is over or was cut short by an error: release what the listener holds (the live terminal area). */
  close?(): void;
}

/** Where exec/ sends what it has to say. */
export type Emit = (event: RunEvent) => void;

export function warn(emit: Emit, warning: Warning): void {
  emit({ type: 'warning', warning });
}
