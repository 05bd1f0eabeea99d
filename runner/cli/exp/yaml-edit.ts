// The params of an experiment written into pipeline.yaml in place: each value's source text replaced, from the end
// of the file backwards, so every comment, blank line and spacing stays as it was (the `yaml` library's document
// gives the nodes' ranges). A param the file does not list yet is added through the document API (that re-prints
// the file). Which key holds a param: a template's (`stages.quantize.params.x`, every expansion the same value),
// the global `params:` (a global param every stage that takes it sees with the same value), or the stage's own.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { UsageError } from '../../core/errors.js';
import type { PipelineConfig, StageConfig } from '../../config/types.js';

export interface ParamEdit {
  /** `stage.param` as recorded. */
  key: string;
  path: string[];
  value: unknown;
}

function stageOf(config: PipelineConfig, key: string): { stage: StageConfig; param: string } | undefined {
  const stage = [...config.stages].sort((a, b) => b.name.length - a.name.length).find((s) => key.startsWith(`${s.name}.`));
  return stage && { stage, param: key.slice(stage.name.length + 1) };
}

/** Where each differing param goes in pipeline.yaml; a usage error when one cannot be written there. */
export function paramEdits(config: PipelineConfig, current: Record<string, unknown>, wanted: Record<string, unknown>): ParamEdit[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const edits = new Map<string, ParamEdit>();
  for (const key of Object.keys(wanted).sort()) {
    if (same(current[key], wanted[key])) continue;
    const found = stageOf(config, key);
    if (!found) throw new UsageError(`the experiment's param \`${key}\` belongs to no stage of pipeline.yaml`, 'the stages changed since it was recorded: run it again with `pipeline exp run`');
    const { stage, param } = found;
    if (stage.setIn?.[param]) throw new UsageError(`\`${key}\` is set in ${stage.setIn[param].from}, which wins over pipeline.yaml`, `remove it from ${stage.setIn[param].from}, then apply again`);
    const path = yamlPath(config, stage, param, wanted);
    const id = path.join('\0');
    const prior = edits.get(id);
    if (prior && !same(prior.value, wanted[key])) throw new UsageError(`\`${prior.key}\` and \`${key}\` differ but pipeline.yaml has one place for both (${path.join('.')})`, 'give the expansions a param of their own, or apply an experiment that sets them alike');
    edits.set(id, { key, path, value: wanted[key] });
  }
  return [...edits.values()];
}

function yamlPath(config: PipelineConfig, stage: StageConfig, param: string, wanted: Record<string, unknown>): string[] {
  const own = stage.ownParams.includes(param);
  if (!own && Object.hasOwn(config.params, param)) {
    const takers = config.stages.filter((s) => !s.ownParams.includes(param) && `${s.name}.${param}` in wanted);
    const value = JSON.stringify(wanted[`${stage.name}.${param}`]);
    if (takers.every((s) => JSON.stringify(wanted[`${s.name}.${param}`]) === value)) return ['params', param];
  }
  if (stage.template) {
    if (param in stage.template.matrix) throw new UsageError(`\`${stage.name}.${param}\` is a matrix key`, 'its values are the list under `matrix:`');
    return ['stages', stage.template.name, 'params', param];
  }
  return ['stages', stage.name, 'params', param];
}

/** The file's text with the edits made, keeping everything else byte for byte where the keys exist. */
export function editYaml(text: string, edits: ParamEdit[]): string {
  const yaml = createRequire(import.meta.url)('yaml') as typeof Yaml;
  const doc = yaml.parseDocument(text);
  const splices: { start: number; end: number; text: string }[] = [];
  const missing: ParamEdit[] = [];
  for (const e of edits) {
    const node = doc.getIn(e.path, true) as Yaml.Node | undefined;
    if (node && yaml.isScalar(node) && node.range) {
      const flow = yaml.stringify(e.value, { lineWidth: 0 }).trimEnd();
      splices.push({ start: node.range[0], end: node.range[1], text: flow.includes('\n') ? JSON.stringify(e.value) : flow });
    } else missing.push(e);
  }
  let out = text;
  for (const s of splices.sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  if (missing.length === 0) return out;
  const again = yaml.parseDocument(out);
  for (const e of missing) again.setIn(e.path, e.value);
  return again.toString({ flowCollectionPadding: false });
}
