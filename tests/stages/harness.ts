// A hand-built StageContext for running stage modules directly, without the engine (the suites that run the
// CLI use the rig in tests/helpers/workspace.ts, whose repository paths are shared here).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { StageContext } from '../../runner/public/stage.js';
import { realData, repoRoot } from '../helpers/workspace.js';

export { realData, repoRoot };
export const referenceFile = path.join(repoRoot, 'tests/fixtures/sklearn/reference.json');

export interface StageSpec {
  outs: string[];
  needs?: Record<string, string[]>;
  params?: Record<string, unknown>;
}

export interface Logged {
  info: string[];
  warn: string[];
  error: string[];
}

export function makeCtx(workspace: string, stage: string, spec: StageSpec, logged: Logged = { info: [], warn: [], error: [] }): StageContext {
  const abs = (p: string) => path.join(workspace, p);
  const outs: Record<string, string> = {};
  for (const o of spec.outs) {
    outs[o] = abs(o);
    mkdirSync(path.dirname(abs(o)), { recursive: true });
  }
  const inputs: Record<string, Record<string, string>> = {};
  for (const [up, upOuts] of Object.entries(spec.needs ?? {})) inputs[up] = Object.fromEntries(upOuts.map((o) => [o, abs(o)]));
  return {
    stage,
    workspace,
    params: { seed: 42, ...(spec.params ?? {}) },
    inputs,
    deps: {},
    outs,
    attempt: 1,
    log: {
      info: (m) => logged.info.push(m),
      warn: (m) => logged.warn.push(m),
      error: (m) => logged.error.push(m),
    },
    signal: new AbortController().signal,
  };
}

export const OUTS = {
  load: ['build/data/train.bin', 'build/data/test.bin', 'build/data/summary.json'],
  train: ['build/model/model.json'],
  gate: ['build/gate/metrics.json'],
  q8: ['build/quant/q8'],
  q16: ['build/quant/q16'],
  compare: ['build/compare/metrics.json', 'build/compare/compare.md', 'build/compare/test-predictions.csv', 'build/compare/plots'],
  predict: ['build/predict/predictions.csv', 'build/predict/metrics.json'],
};

/** The stage specs of the pipeline, as pipeline.yaml declares them. */
export function pipelineSpecs(source: string): Record<string, StageSpec> {
  const quantNeeds = { gate: OUTS.gate, train: OUTS.train, load: OUTS.load };
  const all = { load: OUTS.load, train: OUTS.train, 'quantize-8': OUTS.q8, 'quantize-16': OUTS.q16 };
  return {
    load: { outs: OUTS.load, params: { source, test_size: 0.2 } },
    train: { outs: OUTS.train, needs: { load: OUTS.load } },
    gate: { outs: OUTS.gate, needs: { train: OUTS.train, load: OUTS.load }, params: { r2_min: 0.5 } },
    'quantize-8': { outs: OUTS.q8, needs: quantNeeds, params: { bits: 8 } },
    'quantize-16': { outs: OUTS.q16, needs: quantNeeds, params: { bits: 16 } },
    compare: { outs: OUTS.compare, needs: all },
    predict: { outs: OUTS.predict, needs: all },
  };
}
