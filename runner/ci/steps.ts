// The pieces every job of the generated workflow is made of: the actions it uses, its job ids and artifact names,
// bash quoting, the steps of the `ci:` settings in a stable key order, and the Node setup.
import type { CiStep } from './settings.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Step = Record<string, Json>;
export type Job = Record<string, Json>;

export const CHECKOUT = 'actions/checkout@v4';
export const SETUP_NODE = 'actions/setup-node@v4';
export const CACHE = 'actions/cache@v4';
export const UPLOAD = 'actions/upload-artifact@v4';
export const DOWNLOAD = 'actions/download-artifact@v4';
export const PIPELINE = 'npx --no-install pipeline';
export const JOB_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Per-stage manifest uploaded with the outs: it anchors every artifact at the workspace root. */
export const MANIFEST_DIR = '.pipeline-ci';

/** The artifact that carries a stage's outs from its job to the jobs after it. */
export function artifactName(stage: string): string {
  return `outs-${stage}`;
}

/** The GitHub job id of a stage: its name when that is a valid id, else a sanitized form. */
export function stageJobId(stage: string): string {
  if (JOB_ID.test(stage)) return stage;
  const id = stage.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(id) ? id : `_${id}`;
}

/** Single-quote a word for bash. */
export function sh(word: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The key order of every step in the workflow, whatever order the user wrote. */
const STEP_KEYS = ['name', 'id', 'if', 'uses', 'with', 'shell', 'working-directory', 'env', 'run', 'continue-on-error', 'timeout-minutes'];

/** A step with its keys in the workflow's order (keys that are not step keys are dropped). */
export function ordered(step: Record<string, unknown>): Step {
  const out: Step = {};
  for (const key of STEP_KEYS) {
    const value = step[key];
    if (value !== undefined) out[key] = value as Json;
  }
  return out;
}

export function stepOf(step: CiStep): Step {
  return ordered(step);
}

export function nodeSetup(nodeVersion: string | number): Step[] {
  return [
    { uses: CHECKOUT },
    { uses: SETUP_NODE, with: { 'node-version': nodeVersion, cache: 'npm' } },
    { run: 'npm ci' },
  ];
}

export function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
