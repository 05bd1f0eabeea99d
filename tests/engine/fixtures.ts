// Small generic pipelines for the engine tests, built from `cmd:` stages running the generic stage script.
import { expect } from 'chai';
import { STAGE_SCRIPT, makeWorkspace, parseIdentity, type ProcessId, type Workspace } from '../helpers/workspace.js';

/**
 * prepare → fit → report, plus an independent `side` stage.
 *   prepare: build/clean.txt  = value(1) + data/raw.txt          (deps: stage.js, data/raw.txt)
 *   fit:     build/model.txt  = value(10) + build/clean.txt      (deps: fit.js — its own copy of the script)
 *   side:    build/side.txt   = data/raw.txt                     (deps: stage.js, data/raw.txt)
 *   report:  build/report.txt = build/model.txt + build/side.txt (deps: stage.js)
 * fit also has `alpha: 0.1`, a param that changes its fingerprint but not its output.
 */
export const CHAIN_YAML = `version: 1
params:
  seed: 42
stages:
  prepare:
    cmd: node stage.js build/clean.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/clean.txt]
    params: {value: 1}
  fit:
    cmd: node fit.js build/model.txt build/clean.txt
    needs: [prepare]
    deps: [fit.js]
    outs: [build/model.txt]
    params: {alpha: 0.1, value: 10}
  side:
    cmd: node stage.js build/side.txt data/raw.txt
    deps: [stage.js, data/raw.txt]
    outs: [build/side.txt]
  report:
    cmd: node stage.js build/report.txt build/model.txt build/side.txt
    needs: [fit, side]
    deps: [stage.js]
    outs: [build/report.txt]
`;

export const RAW = 'a,b\n1,2\n';

export function chainWorkspace(yaml = CHAIN_YAML): Workspace {
  return makeWorkspace({ yaml, files: { 'stage.js': STAGE_SCRIPT, 'fit.js': STAGE_SCRIPT, 'data/raw.txt': RAW } });
}

/** Stage name → status from a `run --json` result. */
export function statuses(json: { stages: { name: string; status: string }[] }): Record<string, string> {
  return Object.fromEntries(json.stages.map((s) => [s.name, s.status]));
}

/** Stage name → reason from a `run --json` result. */
export function reasons(json: { stages: { name: string; reason: string }[] }): Record<string, string> {
  return Object.fromEntries(json.stages.map((s) => [s.name, s.reason]));
}

/** A reason as the JSON documents give it. */
export interface ReasonJson {
  code: string;
  message: string;
  [field: string]: unknown;
}

/** A reason's code and fields, without its sentence (tests match codes; the sentences are tested once). */
export function reasonData(reason: ReasonJson): Record<string, unknown> {
  const { message, ...data } = reason;
  expect(message, `reason ${reason.code} has a message`).to.be.a('string').and.not.equal('');
  return data;
}

/** Stage name → [state, reasons without sentences] from a `status --json` result. */
export function statusReasons(json: { stages: { name: string; state: string; reasons: ReasonJson[] }[] }): Record<string, [string, Record<string, unknown>[]]> {
  return Object.fromEntries(json.stages.map((s) => [s.name, [s.state, s.reasons.map(reasonData)]]));
}

/** Stage name → reasons without sentences from a `run --json` result. */
export function reasonFields(json: { stages: { name: string; reasons: ReasonJson[] }[] }): Record<string, Record<string, unknown>[]> {
  return Object.fromEntries(json.stages.map((s) => [s.name, s.reasons.map(reasonData)]));
}

/** A failed stage's cause from a `run --json` result, without its sentence. */
export function causeOf(json: { stages: { name: string; outcome: { cause?: { message: string } } }[] }, name: string): Record<string, unknown> | undefined {
  const cause = json.stages.find((s) => s.name === name)?.outcome.cause;
  if (!cause) return undefined;
  const { message, ...data } = cause;
  expect(message).to.be.a('string').and.not.equal('');
  return data;
}

/** Stage name → reason codes from any `--json` document with `stages[].reasons`. */
export function reasonCodes(json: { stages: { name: string; reasons: ReasonJson[] }[] }): Record<string, string[]> {
  return Object.fromEntries(json.stages.map((s) => [s.name, s.reasons.map((r) => r.code)]));
}

/** Stage name → outcome kind (and failure cause kind) from a `run --json` result. */
export function outcomes(json: { stages: { name: string; outcome: { kind: string; cause?: { kind: string } } }[] }): Record<string, string> {
  return Object.fromEntries(json.stages.map((s) => [s.name, s.outcome.cause ? `${s.outcome.kind}:${s.outcome.cause.kind}` : s.outcome.kind]));
}

/** Intervals [start, end] per stage from runs.log lines `STAGE START END`. */
export function intervals(ws: Workspace): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const line of ws.lines('runs.log')) {
    const [name, a, b] = line.split(' ');
    (out[name] ??= []).push([Number(a), Number(b)]);
  }
  return out;
}

export function overlap(x: [number, number], y: [number, number]): boolean {
  return x[0] < y[1] && y[0] < x[1];
}

/** Names of the stages that started (from started.log), in order. */
export function started(ws: Workspace): string[] {
  return ws.lines('started.log').map((l) => l.split(' ')[0]);
}

/** PIDs recorded in started.log for a stage. */
export function pidsOf(ws: Workspace, stage: string): number[] {
  return ws
    .lines('started.log')
    .filter((l) => l.startsWith(`${stage} `))
    .map((l) => Number(l.split(' ')[2]));
}

/** Identities (pid and start time) recorded in started.log for a stage: alive or gone, never a stranger's. */
export function idsOf(ws: Workspace, stage: string): ProcessId[] {
  return ws
    .lines('started.log')
    .filter((l) => l.startsWith(`${stage} `))
    .map((l) => parseIdentity(l.split(' ').slice(2).join(' ')));
}
