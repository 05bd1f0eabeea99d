// One stage on its own, one function per key group (as wireit's analyzer has one per key):
//   stage-command.ts    cmd, module, shell          stage-paths.ts      deps, outs, metrics
//   stage.ts            needs                       stage-env.ts        env, passEnv
//   stage-params.ts     params, uses                stage-resources.ts  resources
//   stage-settings.ts   timeout, cache, gate, desc  matrix.ts (before): a template's expansions, each built here
// Every mistake is reported; the stage is still built from what is valid, so the checks across stages can run too.
import { suggestion } from '../core/errors.js';
import { list, StageInput, type CheckContext } from './check-context.js';
import type { StageEntry } from './matrix.js';
import type { StageNames } from './stage-names.js';
import { stageCommand } from './stage-command.js';
import { stageEnv } from './stage-env.js';
import { stageParams } from './stage-params.js';
import { stagePaths } from './stage-paths.js';
import { stageResources } from './stage-resources.js';
import { stageSettings } from './stage-settings.js';
import type { Params, StageConfig } from './types.js';

export { durationMs } from './stage-settings.js';

/** A built stage with, for each kept dep and out, the index of its entry in the file (for positions). */
export interface BuiltStage {
  stage: StageConfig;
  entry: { deps: number[]; outs: number[] };
}

/**
 * The normalized stage (a stage of the file, or one expansion of a template, matrix.ts); what is invalid is
 * reported and left out (an unreadable path, an unknown need).
 */
export function buildStage(ctx: CheckContext, entry: StageEntry, globalParams: Params, names: StageNames): BuiltStage {
  const { name, raw, template, unresolved } = entry;
  const s = new StageInput(ctx, name, raw, template?.name);
  const { kind, cmd, shell, module } = stageCommand(s);
  const { deps, outs, metrics } = stagePaths(s, unresolved);
  const needs = stageNeeds(s, names, template?.name);
  const env = stageEnv(s);
  const params = stageParams(s, globalParams, template?.matrix);
  const resources = stageResources(s);
  const stage: StageConfig = {
    name,
    kind,
    ...(cmd !== undefined ? { cmd } : {}),
    shell,
    ...(module !== undefined ? { module } : {}),
    deps: deps.map((d) => d.path),
    needs,
    ...params,
    outs: outs.map((o) => o.path),
    metrics: metrics.map((m) => m.path),
    ...env,
    ...stageSettings(s),
    ...(resources ? { resources } : {}),
    pos: ctx.src.keyPos(['stages', name]),
    ...(template ? { template } : {}),
  };
  return { stage, entry: { deps: deps.map((d) => d.index), outs: outs.map((o) => o.index) } };
}

/** `needs`: names of other stages, each once; a template's name means all its expansions. */
function stageNeeds(s: StageInput, names: StageNames, template: string | undefined): string[] {
  const needs: string[] = [];
  list(s.raw.needs).forEach((n, i) => {
    const where = () => s.entryAt('needs', i);
    if (n === template) return s.fail('self-need', where(), 'needs its own template (every expansion would need itself)', 'remove it from its own `needs`');
    const meant = names.meaning(n);
    if (meant?.includes(s.name)) return s.fail('self-need', where(), template ? `needs \`${n}\`, which is one of its own expansions` : 'needs itself', 'remove it from its own `needs`');
    if (meant === undefined) {
      const all = names.all().filter((other) => other !== s.name && other !== template);
      return s.fail(
        'unknown-need',
        where(),
        `needs unknown stage \`${n}\`${suggestion(n, all)}`,
        all.length <= 20 ? `stages are: ${names.listing()}` : 'check the spelling against the stage names under `stages:`',
      );
    }
    for (const m of meant) if (!needs.includes(m)) needs.push(m);
  });
  return needs;
}
