// The shape of pipeline.yaml: its keys and what each expects (keys.ts, plain constants) and the zod schema that
// checks them (zod-schema.ts), which also gives the JSON Schema editors use (`pipeline.schema.json`).
// Only shapes live here; meaning (paths, needs, cycles, overlapping outs) is checked by the other files of config/.
//
// A config whose text already passed this check needs no second one (the digest cache, find.ts), so the schema
// and zod are loaded on first use, synchronously through require() because parseConfigText is synchronous. In the
// CLI's bundle each such require is a file of its own holding only the parts of `zod/mini` it uses
// (scripts/build-cli.mjs).
import { createRequire } from 'node:module';
import type * as JsonSchema from './json-schema.js';
import type * as ZodSchema from './zod-schema.js';

export {
  BUILTIN_COMMANDS,
  DURATION_PATTERN,
  ENV_NAME_PATTERN,
  EXPECTED,
  MEMORY_PATTERN,
  NAME_PATTERN,
  NAME_RE,
  RESOURCE_KEYS,
  STAGE_KEYS,
  TOP_KEYS,
} from './keys.js';
export type { RawPipeline, RawStage } from './zod-schema.js';

let built: ZodSchema.ShapeSchemas | undefined;

/** The zod schemas of pipeline.yaml and of one stage (zod is loaded on the first call). */
export function schemas(): ZodSchema.ShapeSchemas {
  return (built ??= (createRequire(import.meta.url)('./zod-schema.js') as typeof ZodSchema).buildSchemas());
}

/** JSON Schema (draft 2020-12) of pipeline.yaml, for editors. `pipeline.schema.json` is this, committed. */
export function pipelineJsonSchema(): object {
  return (createRequire(import.meta.url)('./json-schema.js') as typeof JsonSchema).pipelineJsonSchema();
}
