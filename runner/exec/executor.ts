// Where a stage's command runs. The runner decides, restores and records; an executor only runs the command a
// stage must run and says how it ended, as the same structured result whatever runs it: `local` starts a child
// process on this machine (a `cmd:` stage's own process, process.ts, or a `module:` stage's host, pool.ts), `slurm`
// submits a batch job (slurm.ts). Each kind records what it leaves running while a stage runs and knows how to stop
// what a killed run left (leftovers.ts). Outcomes, events and listeners do not change with the executor.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StageConfig } from '../config/types.js';
import { stageEnvironment } from './environment.js';
import type { FailureCause } from './outcome.js';
import { thrownFileOf } from './thrown.js';

export const EXECUTORS = ['local', 'slurm'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export interface ExecRequest {
  stage: StageConfig;
  /** The folder the command runs in: the workspace, or an experiment variant's scratch copy of it. */
  root: string;
  /** The workspace whose .pipeline/running/ records what the stage leaves running while it runs (running.ts). */
  recordsIn: string;
  /** Absolute paths: upstream outs by stage and out, deps, own outs. */
  inputs: Record<string, Record<string, string>>;
  deps: Record<string, string>;
  outs: Record<string, string>;
  /** The module bundle for `module:` stages. */
  bundle?: string;
  logFile: string;
  verdictFile: string;
  /** Where a module stage's host says that the module could not be loaded (never retried). */
  loadErrorFile: string;
  /** Which execution of the stage in this run this is: 1, then 2, … for its retries. */
  attempt: number;
  signal: AbortSignal;
  /** Called with each chunk of output as it arrives (live output). */
  onOutput?: (chunk: string) => void;
}

/** How the process ended, when it did not succeed. */
export type ProcessFailure = Extract<FailureCause, { kind: 'exit' | 'gate' | 'signal' | 'timeout' | 'interrupted' | 'spawn' | 'job-ended' }>;

export type ExecResult = ({ ok: true } | { ok: false; cause: ProcessFailure }) & {
  durationMs: number;
  log: string;
  /** The cluster job that ran it (executors that submit jobs). */
  jobId?: string;
  /** The job step that ran it (`J.S`; the slurm executor in steps mode). */
  stepId?: string;
};

export interface Executor {
  readonly name: ExecutorName;
  /** Run one stage's command; never throws to mean "the stage failed". */
  execute(req: ExecRequest): Promise<ExecResult>;
  /**
   * The runner is about to exit at once (a second Ctrl-C): stop whatever still runs elsewhere, synchronously.
   * Local stages are process groups of their own and cluster jobs run elsewhere: neither ends with the runner by itself.
   */
  abandon?(): void;
  /** The run is over: release what the executor holds for it (stage hosts waiting for a stage); the run waits for it. */
  close?(): void | Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The host's command line. No `--enable-source-maps` (~25 ms per stage): the runner maps a thrown error's stack
 * after the failure instead (thrown.ts).
 */
export function hostCommand(): string[] {
  const js = path.join(here, 'host.js');
  if (existsSync(js)) return [process.execPath, js];
  return [process.execPath, '--import', 'tsx', path.join(here, 'host.ts')];
}

/**
 * The masking filter (host.ts with `--mask-output`): copies its stdin to its stdout with the values of the named
 * variables of its environment masked (mask.ts). A Slurm job's output goes through it.
 */
export function maskFilterCommand(names: string[]): string[] {
  return [...hostCommand(), '--mask-output', ...names];
}

/**
 * What runs for a stage, wherever it runs: its argv (a module stage through the host) and its whole environment
 * (environment.ts: the base set, `passEnv`, `env`, the engine's variables; not the runner's whole environment).
 */
export function stageCommand(req: ExecRequest): { argv: string[]; env: Record<string, string> } {
  const { stage } = req;
  const engine: Record<string, string> = {
    PIPELINE_STAGE: stage.name,
    PIPELINE_PARAMS: JSON.stringify(stage.params),
    PIPELINE_WORKSPACE: req.root,
    PIPELINE_VERDICT_FILE: req.verdictFile,
    PIPELINE_ATTEMPT: String(req.attempt),
  };
  if (stage.kind !== 'module') return { argv: [...stage.cmd!], env: stageEnvironment(stage, engine) };
  engine.PIPELINE_CONTEXT = JSON.stringify({
    bundle: req.bundle,
    stage: stage.name,
    workspace: req.root,
    params: stage.params,
    inputs: req.inputs,
    deps: req.deps,
    outs: req.outs,
    thrownFile: thrownFileOf(req.verdictFile),
    attempt: req.attempt,
    loadErrorFile: req.loadErrorFile,
  });
  return { argv: hostCommand(), env: stageEnvironment(stage, engine) };
}

/** Why a stage could not start when its environment is over the system's limit (one variable over 128 KiB on Linux). */
export function tooBig(env: Record<string, string>): string {
  const [name, value] = Object.entries(env).reduce((a, b) => (b[1].length > a[1].length ? b : a));
  const kib = Math.ceil(Buffer.byteLength(value) / 1024);
  return (
    `cannot start: its environment is too large for the system (E2BIG; the largest variable, ${name}, is ${kib} KiB). ` +
    'Params and env travel in environment variables, each limited to 128 KiB: pass large data through a file listed in `deps`'
  );
}
