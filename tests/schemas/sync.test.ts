// The schemas against the code that writes the documents: every member of the unions a document can carry (the
// reasons of runner/plan/reasons.ts, the failure causes of runner/exec/outcome.ts, the diagnostic codes) has a
// branch in common.schema.json with exactly its fields, and every version constant the code writes is the one the
// schemas name. A new reason, a field added to a cause, a version bumped in the code and not in its schema (or
// the other way round) fails here, before any output shows it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { DIAGNOSTIC_CODES } from '../../runner/core/diagnostic.js';
import { NAME_PATTERN } from '../../runner/config/keys.js';
import { SCHEMA_VERSION } from '../../runner/public/last-run-file.js';
import { stageStatusSchema } from '../../runner/public/last-run.js';
import { LOCK_VERSION } from '../../runner/store/lockfile.js';
import { RUN_RECORD_VERSION } from '../../runner/store/cache.js';
import { repoRoot } from '../helpers/workspace.js';
import { schemasDir } from './golden.js';

interface Branch {
  properties: Record<string, unknown>;
  required: string[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const schema = (name: string): any => JSON.parse(readFileSync(path.join(schemasDir, name), 'utf8'));

/**
 * The members of `export type NAME = { key: 'a' | 'b'; field?: T } | …` in a source file: for each value of the
 * discriminant `key`, the member's other fields and whether each is required.
 */
function unionMembers(file: string, typeName: string, key: string): Map<string, Record<string, boolean>> {
  const source = ts.createSourceFile(file, readFileSync(path.join(repoRoot, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const alias = source.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === typeName);
  if (!alias || !ts.isUnionTypeNode(alias.type)) throw new Error(`${file}: no union type ${typeName}`);
  const members = new Map<string, Record<string, boolean>>();
  for (const member of alias.type.types) {
    if (!ts.isTypeLiteralNode(member)) throw new Error(`${file}: a member of ${typeName} is not an object type`);
    const fields: Record<string, boolean> = {};
    const values: string[] = [];
    for (const p of member.members) {
      if (!ts.isPropertySignature(p) || !p.type) continue;
      const name = p.name.getText(source);
      if (name !== key) {
        fields[name] = p.questionToken === undefined;
        continue;
      }
      const literals = ts.isUnionTypeNode(p.type) ? p.type.types : [p.type];
      for (const l of literals) {
        if (!ts.isLiteralTypeNode(l) || !ts.isStringLiteral(l.literal)) throw new Error(`${file}: ${typeName}.${key} is not a string literal`);
        values.push(l.literal.text);
      }
    }
    for (const v of values) members.set(v, fields);
  }
  return members;
}

/** The branches of a `oneOf` whose members have `const` discriminants: value → branch. */
function branches(oneOf: Branch[], key: string): Map<string, Branch> {
  return new Map(oneOf.map((b) => [(b.properties[key] as { const: string }).const, b]));
}

/** Fields (beyond the discriminant and `message`) and required names of a member, as its JSON form has them. */
function expectedJson(fields: Record<string, boolean>, key: string): { properties: string[]; required: string[] } {
  // The JSON form of a reason or cause is the member with its sentence added as `message` (always there).
  const all = { ...fields, message: true };
  return {
    properties: [key, ...Object.keys(all)].sort(),
    required: [key, ...Object.entries(all).filter(([, req]) => req).map(([k]) => k)].sort(),
  };
}

describe('schemas: in step with the code that writes the documents', function () {
  const defs = schema('common.schema.json').$defs;

  for (const [what, file, typeName, key, def] of [
    ['reason', 'runner/plan/reasons.ts', 'Reason', 'code', 'reason'],
    ['failure cause', 'runner/exec/outcome.ts', 'FailureCause', 'kind', 'cause'],
  ] as const) {
    it(`every ${what} of ${file} has a branch with exactly its fields, and no branch is left over`, () => {
      const members = unionMembers(file, typeName, key);
      const schemaBranches = branches(defs[def].oneOf as Branch[], key);
      expect([...schemaBranches.keys()].sort(), `the ${key}s in common.schema.json#/$defs/${def}`).to.deep.equal([...members.keys()].sort());
      for (const [value, fields] of members) {
        const b = schemaBranches.get(value)!;
        const want = expectedJson(fields, key);
        expect(Object.keys(b.properties).sort(), `${def} \`${value}\`: its fields`).to.deep.equal(want.properties);
        expect([...b.required].sort(), `${def} \`${value}\`: its required fields`).to.deep.equal(want.required);
        expect(b, `${def} \`${value}\`: closed`).to.have.property('additionalProperties', false);
      }
    });
  }

  it('the outcome kinds and stage statuses are the ones runner/exec/outcome.ts and runner/public/last-run.ts name', () => {
    const outcomes = unionMembers('runner/exec/outcome.ts', 'Outcome', 'kind');
    const inSchema = (defs.outcome.oneOf as { properties: { kind: { enum?: string[]; const?: string } } }[]).flatMap((b) => b.properties.kind.enum ?? [b.properties.kind.const!]);
    expect(inSchema.sort()).to.deep.equal([...outcomes.keys()].sort());
    expect(outcomes.get('failed')).to.deep.equal({ cause: true });
    expect([...defs.status.enum].sort()).to.deep.equal([...stageStatusSchema.options].sort());
  });

  it('the diagnostic codes of `validate --json` are DIAGNOSTIC_CODES (runner/core/diagnostic.ts)', () => {
    expect(schema('validate.schema.json').$defs.diagnosticCode.enum).to.deep.equal([...DIAGNOSTIC_CODES]);
  });

  it('a stage name is what pipeline.yaml accepts (NAME_PATTERN, runner/config/keys.ts)', () => {
    expect(defs.stageName.pattern).to.equal(NAME_PATTERN);
  });

  it('the versions the code writes are the versions the schemas name', () => {
    for (const f of ['run', 'run-dry-run', 'status', 'last-run']) expect(schema(`${f}.schema.json`).properties.schemaVersion.const, f).to.equal(SCHEMA_VERSION);
    expect(schema('validate.schema.json').properties.schemaVersion.const).to.equal(1); // ValidationReport['schemaVersion']
    expect(schema('lock.schema.json').properties.version.const).to.equal(LOCK_VERSION);
    expect(defs.runRecordFields.properties.version.const).to.equal(RUN_RECORD_VERSION);
  });
});
