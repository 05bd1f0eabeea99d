// The reference tables of docs/, written from the code (`npm run docs`, scripts/docs-reference.ts): the key table
// from the zod schema, the command table from the commander program, the code tables from DIAGNOSTIC_CODES and the
// unions of exec/outcome.ts and plan/reasons.ts (their members' fields read from the source by the TypeScript
// parser), the environment variables from environment.ts. Each table lives in its page between two markers; the
// test fails when a page differs from what this writes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type * as CommanderModule from 'commander';
import { DIAGNOSTIC_CODES } from '../runner/core/diagnostic.js';
import { buildSchemas } from '../runner/config/zod-schema.js';
import { commandProgram } from '../runner/cli/main.js';
import { CAUSE_MEANINGS, DIAGNOSTIC_GROUPS, OUTCOME_MEANINGS, REASON_MESSAGES } from '../runner/cli/reference/codes.js';
import { ENVIRONMENT_VARIABLES } from '../runner/cli/reference/environment.js';
import { KEY_MEANINGS } from '../runner/cli/reference/keys.js';

/** A generated table: the page it lives in, its name in the markers, and its Markdown. */
export interface Section {
  page: string;
  name: string;
  text: string;
}

const code = (s: string) => (s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (...cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
const table = (head: string[], rows: string[]) => [row(...head), `|${head.map(() => '---').join('|')}|`, ...rows].join('\n');

/** The keys of a zod object schema (zod's own definition: `_zod.def.shape`), through `optional`/`nullable`. */
function shapeKeys(schema: unknown): string[] {
  let s = schema as { _zod: { def: { shape?: Record<string, unknown>; innerType?: unknown } } };
  while (s._zod.def.shape === undefined && s._zod.def.innerType !== undefined) s = s._zod.def.innerType as typeof s;
  return Object.keys(s._zod.def.shape ?? {});
}

export function keyTable(): string {
  const { pipelineSchema, stageSchema } = buildSchemas();
  const top = shapeKeys(pipelineSchema);
  const stage = shapeKeys(stageSchema);
  const shape = (stageSchema as unknown as { _zod: { def: { shape: Record<string, unknown> } } })._zod.def.shape;
  const resources = shapeKeys(shape.resources);
  const keys = [...new Set([...top, ...stage])];
  const missing = keys.filter((k) => KEY_MEANINGS[k] === undefined);
  const unused = Object.keys(KEY_MEANINGS).filter((k) => !keys.includes(k));
  const undocumented = resources.filter((k) => !KEY_MEANINGS.resources.includes(`\`${k}\``));
  if (missing.length + unused.length + undocumented.length > 0) {
    throw new Error(`runner/cli/reference/keys.ts: add a meaning for ${[...missing, ...undocumented.map((k) => `resources.${k}`)].join(', ') || '—'}; remove ${unused.join(', ') || '—'}`);
  }
  const scope = (k: string) => (top.includes(k) && stage.includes(k) ? ' (stage or top level)' : top.includes(k) ? ' (top level)' : '');
  return table(['key', 'meaning'], keys.map((k) => row(`\`${k}\`${scope(k)}`, KEY_MEANINGS[k])));
}

export function diagnosticTable(): string {
  const listed = DIAGNOSTIC_GROUPS.flatMap(([codes]) => codes);
  const missing = DIAGNOSTIC_CODES.filter((c) => !listed.includes(c));
  const twice = listed.filter((c, i) => listed.indexOf(c) !== i);
  if (missing.length + twice.length > 0) throw new Error(`runner/cli/reference/codes.ts DIAGNOSTIC_GROUPS: missing ${missing.join(', ') || '—'}; listed twice ${twice.join(', ') || '—'}`);
  return table(['code', 'what is wrong'], DIAGNOSTIC_GROUPS.map(([codes, what]) => row(codes.map((c) => `\`${c}\``).join(', '), what)));
}

/** The members of an exported union type alias: their tag values (`kind`/`code`) and their other fields. */
function unionMembers(file: string, alias: string, tag: string): { tags: string[]; fields: string[] }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const decl = source.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === alias);
  if (!decl || !ts.isUnionTypeNode(decl.type)) throw new Error(`${file}: no union type ${alias}`);
  const literals = (t: ts.TypeNode): string[] =>
    ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? [t.literal.text] : ts.isUnionTypeNode(t) ? t.types.flatMap(literals) : [];
  return decl.type.types.filter(ts.isTypeLiteralNode).map((member) => {
    const props = member.members.filter(ts.isPropertySignature);
    const tagged = props.find((p) => p.name.getText(source) === tag);
    const fields = props
      .filter((p) => p !== tagged)
      .map((p) => {
        const values = p.type ? literals(p.type) : [];
        const name = `\`${p.name.getText(source)}\`${p.questionToken ? '?' : ''}`;
        return values.length > 0 && p.type && !ts.isLiteralTypeNode(p.type) ? `${name} (${values.map((v) => `\`${v}\``).join(', ')})` : name;
      });
    return { tags: tagged?.type ? literals(tagged.type) : [], fields };
  });
}

export function codeTables(root: string): { outcomes: string; causes: string; reasons: string } {
  const outcomes = table(
    ['outcome `kind`', 'status', 'meaning'],
    Object.entries(OUTCOME_MEANINGS).map(([kind, [status, meaning]]) => row(`\`${kind}\``, `\`${status}\``, meaning)),
  );
  const causeMembers = unionMembers(path.join(root, 'runner/exec/outcome.ts'), 'FailureCause', 'kind');
  const causes = table(
    ['cause `kind`', 'fields', 'meaning'],
    causeMembers.map(({ tags, fields }) => row(tags.map((t) => `\`${t}\``).join(', '), fields.join(', '), tags.map((t) => CAUSE_MEANINGS[t as keyof typeof CAUSE_MEANINGS]).join('; '))),
  );
  const reasonMembers = unionMembers(path.join(root, 'runner/plan/reasons.ts'), 'Reason', 'code');
  const reasons = table(
    ['reason `code`', 'fields', 'message'],
    reasonMembers.map(({ tags, fields }) => row(tags.map((t) => `\`${t}\``).join(', '), fields.join(', '), tags.map((t) => REASON_MESSAGES[t as keyof typeof REASON_MESSAGES]).join(', '))),
  );
  return { outcomes, causes, reasons };
}

export function environmentTable(): string {
  return table(
    ['variable', 'what it does', 'default'],
    ENVIRONMENT_VARIABLES.map((v) => row(v.names.map((n) => `\`${n}\``).join(', '), v.does, v.default)),
  );
}

type Command = CommanderModule.Command;
type Option = CommanderModule.Option;

/** One option's row: its flags, and its description with its choices and default. */
function optionRow(option: Option): string {
  const extra: string[] = [];
  if (option.argChoices) extra.push(`one of ${option.argChoices.map((c) => `\`${c}\``).join(', ')}`);
  const d: unknown = option.defaultValue;
  if (!option.negate && d !== undefined && d !== false && !(Array.isArray(d) && d.length === 0)) extra.push(`default ${code(typeof d === 'string' ? d : JSON.stringify(d))}`);
  return row(code(`  ${option.flags}`), `${option.description}${extra.length > 0 ? ` (${extra.join('; ')})` : ''}`);
}

/** `pipeline run [stages...]`: the command's path and its arguments. */
function usage(command: Command, prefix: string): string {
  const args = command.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`));
  return [prefix, command.name(), ...args].join(' ');
}

function commandRows(command: Command, prefix: string): string[] {
  const rows: string[] = [];
  for (const sub of command.commands) {
    if (sub.name() === 'help') continue;
    rows.push(row(code(usage(sub, prefix)), sub.description()));
    for (const option of sub.options as Option[]) if (!option.hidden) rows.push(optionRow(option));
    rows.push(...commandRows(sub, `${prefix} ${sub.name()}`));
  }
  return rows;
}

export function commandTable(): string {
  const program = commandProgram();
  const globals = (program.options as Option[]).filter((o) => !o.hidden).map(optionRow);
  return table(['command', 'what it does'], [row('`pipeline [global options] COMMAND`', program.description()), ...globals, ...commandRows(program, 'pipeline')]);
}

/** Every generated table with the page it belongs in. */
export function sections(root: string): Section[] {
  const codes = codeTables(root);
  return [
    { page: 'docs/cli.md', name: 'commands', text: commandTable() },
    { page: 'docs/cli.md', name: 'environment', text: environmentTable() },
    { page: 'docs/cli.md', name: 'outcomes', text: codes.outcomes },
    { page: 'docs/cli.md', name: 'causes', text: codes.causes },
    { page: 'docs/cli.md', name: 'reasons', text: codes.reasons },
    { page: 'docs/pipeline-yaml.md', name: 'keys', text: keyTable() },
    { page: 'docs/pipeline-yaml.md', name: 'diagnostics', text: diagnosticTable() },
  ];
}

export const begin = (name: string) => `<!-- generated by \`npm run docs\` from the code: ${name} -->`;
export const end = (name: string) => `<!-- end of generated ${name} -->`;

/** A page's text with a section's table between its markers replaced; an error when the markers are missing. */
export function withSection(page: string, text: string, section: Section): string {
  const from = text.indexOf(begin(section.name));
  const to = text.indexOf(end(section.name));
  if (from < 0 || to < from) throw new Error(`${page}: the markers of the generated ${section.name} table are missing: ${begin(section.name)} … ${end(section.name)}`);
  return `${text.slice(0, from + begin(section.name).length)}\n${section.text}\n${text.slice(to)}`;
}
