// The committed pipeline.schema.json is the JSON Schema generated from the zod schema (it cannot drift), and the
// schema words its issues as classic zod does.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
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

  it('words its issues in English in the CLI bundle too (zod/mini loads no locale by itself)', () => {
    // A process of its own: in this one, classic zod may already have set the shared locale.
    const file = path.join(repo, 'dist/cli/lazy/config+zod-schema.cjs');
    const script = `const { buildSchemas } = require(${JSON.stringify(file)});
      const r = buildSchemas().pipelineSchema.safeParse({ version: 2, stages: {}, bogus: 1 });
      process.stdout.write(JSON.stringify(r.error.issues.map((i) => i.message)));`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(result.status, `${result.stderr} (run npm run build first)`).to.equal(0);
    expect(JSON.parse(result.stdout)).to.deep.equal(['Invalid input: expected 1', 'Unrecognized key: "bogus"']);
  });

  it('lists the built-in commands a workspace command may not shadow', () => {
    expect(BUILTIN_COMMANDS).to.include.members(['run', 'status', 'dag', 'metrics', 'validate', 'gc', 'schema', 'ci', 'cache', 'fingerprint', 'help']);
  });
});
