// Run the stage modules in pipeline order in a workspace, as the engine would (without caching).
import type { StageContext } from '../../runner/public/stage.js';
import compare from '../../stages/compare.js';
import gate from '../../stages/gate.js';
import load from '../../stages/load.js';
import predict from '../../stages/predict.js';
import quantize from '../../stages/quantize.js';
import train from '../../stages/train.js';
import { makeCtx, pipelineSpecs, realData, type Logged, type StageSpec } from './harness.js';

const MODULES: Record<string, (ctx: StageContext) => Promise<void>> = {
  load,
  train,
  gate,
  'quantize-8': quantize,
  'quantize-16': quantize,
  compare,
  predict,
};
export const ORDER = Object.keys(MODULES);

export async function runStage(ws: string, name: string, spec: StageSpec): Promise<Logged> {
  const logged: Logged = { info: [], warn: [], error: [] };
  await MODULES[name](makeCtx(ws, name, spec, logged));
  return logged;
}

export async function runPipeline(ws: string, source = realData): Promise<Record<string, Logged>> {
  const specs = pipelineSpecs(source);
  const logs: Record<string, Logged> = {};
  for (const name of ORDER) logs[name] = await runStage(ws, name, specs[name]);
  return logs;
}

