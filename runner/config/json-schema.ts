// pipeline.yaml's JSON Schema (draft 2020-12), for editors: `pipeline schema` prints it and pipeline.schema.json is
// it, committed. zod's toJSONSchema of the schema in zod-schema.ts, in a module of its own (schema.ts requires it
// on first use) so that checking a config does not load the JSON Schema generator. It builds the schemas itself:
// the descriptions are in the registry of the zod copy that built them, which in the CLI's bundle is this file's.
import { toJSONSchema } from 'zod/mini';
import { buildSchemas } from './zod-schema.js';

export function pipelineJsonSchema(): object {
  return toJSONSchema(buildSchemas().pipelineSchema, { target: 'draft-2020-12' });
}
