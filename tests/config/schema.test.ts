// The committed pipeline.schema.json is the JSON Schema generated from the zod schema (it cannot drift).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_COMMANDS, pipelineJsonSchema, STAGE_KEYS, TOP_KEYS } from '../../runner/config/schema.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REGENERATE =
  'regenerate it: node --import tsx -e "import(\'./runner/config/schema.ts\').then(m => process.stdout.write(JSON.stringify(m.pipelineJsonSchema(), null, 2) + \'\\n\'))" > pipeline.schema.json';

describe('config: JSON Schema', () => {
  it('pipeline.schema.json equals the generated schema', () => {
    const committed = readFileSync(path.join(repo, 'pipeline.schema.json'), 'utf8');
    expect(committed, REGENERATE).to.equal(JSON.stringify(pipelineJsonSchema(), null, 2) + '\n');
  });

  it('describes every top-level and stage key and refuses others', () => {
    const schema = pipelineJsonSchema() as {
      properties: Record<string, { additionalProperties?: { properties: object; additionalProperties: boolean } }>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(Object.keys(schema.properties)).to.deep.equal(TOP_KEYS);
    expect(schema.required).to.deep.equal(['version', 'stages']);
    expect(schema.additionalProperties).to.equal(false);
    const stage = schema.properties.stages.additionalProperties!;
    expect(Object.keys(stage.properties)).to.deep.equal(STAGE_KEYS);
    expect(stage.additionalProperties).to.equal(false);
  });

  it('lists the built-in commands a workspace command may not shadow', () => {
    expect(BUILTIN_COMMANDS).to.include.members(['run', 'status', 'dag', 'metrics', 'validate', 'gc', 'schema', 'ci', 'cache', 'fingerprint', 'help']);
  });
});
