// The environment a stage declares: `env` (values, hashed into its fingerprint and recorded) and `passEnv` (names
// of variables passed from the runner's environment, never hashed nor recorded: secrets). A name is in one of the
// two at most, and never one the runner sets itself.
import { list, type StageInput } from './check-context.js';
import type { StageConfig } from './types.js';

/** Variables the runner sets for `cmd:` stages; a stage cannot declare them. */
const RESERVED_ENV = ['PIPELINE_PARAMS', 'PIPELINE_STAGE', 'PIPELINE_ATTEMPT'];

export type StageEnv = Pick<StageConfig, 'env' | 'passEnv' | 'inheritEnv'>;

/** `env`, `passEnv` and the stage's own `inheritEnv` (the top-level one is applied by load.ts). */
export function stageEnv(s: StageInput): StageEnv {
  const env = declaredEnv(s);
  const passEnv = passedNames(s);
  const inherit = s.raw.inheritEnv;
  return { env, ...(passEnv.length > 0 ? { passEnv } : {}), ...(inherit !== undefined ? { inheritEnv: inherit } : {}) };
}

function declaredEnv(s: StageInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.raw.env ?? {})) {
    if (RESERVED_ENV.includes(k)) s.fail('reserved-env', s.keyAt('env', k), `\`${k}\` is set by the runner and cannot be declared in \`env\``, 'use params instead');
    else env[k] = String(v);
  }
  return env;
}

/** `passEnv`: names only, never also in `env` (a declared value is hashed and recorded; a passed one is not). */
function passedNames(s: StageInput): string[] {
  const passEnv: string[] = [];
  list(s.raw.passEnv).forEach((k, i) => {
    const at = () => s.entryAt('passEnv', i);
    if (RESERVED_ENV.includes(k)) s.fail('reserved-env', at(), `\`${k}\` is set by the runner and cannot be passed`, 'remove it from `passEnv`');
    else if (Object.hasOwn(s.raw.env ?? {}, k))
      s.fail('pass-env-declared', at(), `\`${k}\` is both in \`env\` and in \`passEnv\``, 'keep it in one: `env` values are hashed and recorded, `passEnv` values (secrets) are not');
    else if (passEnv.includes(k)) s.fail('pass-env-duplicate', at(), `\`${k}\` is listed twice in \`passEnv\``, 'remove the second entry');
    else passEnv.push(k);
  });
  return passEnv;
}
