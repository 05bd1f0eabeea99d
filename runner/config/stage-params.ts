// The params a stage reads: the global `params:` (all of them, or only those it names in `uses:`), overridden by
// its own `params:`; an expansion of a template also reads its matrix values.
import { suggestion } from '../core/errors.js';
import { list, type StageInput } from './check-context.js';
import type { Params, StageConfig } from './types.js';

export type StageParams = Pick<StageConfig, 'params' | 'ownParams' | 'uses'>;

/**
 * `params` and `uses`: every name in `uses` is a global param. An expansion's matrix values are params of its own
 * (a clash with another param is reported by matrix.ts).
 */
export function stageParams(s: StageInput, globalParams: Params, matrix: Params = {}): StageParams {
  const { raw } = s;
  const own = raw.params ?? {};
  const uses = raw.uses === undefined ? undefined : list(raw.uses);
  const globals = Object.keys(globalParams);
  uses?.forEach((u, i) => {
    if (!Object.hasOwn(globalParams, u))
      s.fail(
        'unknown-param',
        s.at(...(typeof raw.uses === 'string' ? ['uses'] : ['uses', i])),
        `uses unknown global param \`${u}\`${suggestion(u, globals)}`,
        globals.length ? `global params are: ${globals.join(', ')}` : 'declare it under the top-level `params:` first',
      );
  });
  const globalsRead =
    uses === undefined ? structuredClone(globalParams) : Object.fromEntries(uses.filter((u) => Object.hasOwn(globalParams, u)).map((u) => [u, structuredClone(globalParams[u])]));
  const ownParams = [...Object.keys(own), ...Object.keys(matrix).filter((k) => !Object.hasOwn(own, k))];
  return { params: { ...globalsRead, ...own, ...matrix }, ownParams, ...(uses !== undefined ? { uses } : {}) };
}
