// The table of environment variables (runner/cli/reference/environment.ts, written into docs/cli.md by `npm run docs`)
// against the code: every variable the engine (runner/, bin/) reads or sets for a stage is a row of the table, and
// every row names a variable the code still uses. Names are taken from
// the code itself, comments left out: a `PIPELINE_*` name in a string or an identifier (`process.env.PIPELINE_X`,
// `env['PIPELINE_X']`, `secondsFromEnv(env, 'PIPELINE_X')`, `LOG_VARIABLE = 'PIPELINE_X'`), and any other name
// read as `env.NAME` or `env['NAME']` (NO_COLOR, CI, AWS_REGION, …).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { repoRoot } from '../helpers/workspace.js';
import { ENVIRONMENT_VARIABLES, type EnvironmentVariable } from '../../runner/cli/reference/environment.js';

/** Every .ts/.js/.mjs/.cjs file under a folder of the repository. */
function sources(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sources(rel));
    else if (/\.(ts|js|mjs|cjs)$/.test(entry.name)) files.push(rel);
  }
  return files;
}

const PIPELINE_NAME = /\bPIPELINE_[A-Z0-9_]*[A-Z0-9]\b/g;
const UPPER = /^[A-Z][A-Z0-9_]*$/;

/** The variables a source file uses, by name, outside its comments. */
export function variablesIn(file: string, text: string): Set<string> {
  const kind = file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const found = new Set<string>();
  const isEnv = (e: ts.Expression) => (ts.isIdentifier(e) && e.text === 'env') || (ts.isPropertyAccessExpression(e) && e.name.text === 'env');
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node) || ts.isIdentifier(node)) {
      for (const m of node.text.matchAll(PIPELINE_NAME)) found.add(m[0]);
    }
    if (ts.isPropertyAccessExpression(node) && isEnv(node.expression) && UPPER.test(node.name.text)) found.add(node.name.text);
    if (ts.isElementAccessExpression(node) && isEnv(node.expression) && ts.isStringLiteralLike(node.argumentExpression) && UPPER.test(node.argumentExpression.text)) {
      found.add(node.argumentExpression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The names of runner/cli/reference/environment.ts's table (written into docs/cli.md by `npm run docs`), with their row. */
function documented(): Map<string, EnvironmentVariable> {
  const rows = new Map<string, EnvironmentVariable>();
  for (const v of ENVIRONMENT_VARIABLES) for (const name of v.names) rows.set(name, v);
  return rows;
}

describe('docs: environment variables', () => {
  const used = new Map<string, string[]>();
  for (const file of [...sources('runner'), ...sources('bin')]) {
    for (const name of variablesIn(file, readFileSync(path.join(repoRoot, file), 'utf8'))) used.set(name, [...(used.get(name) ?? []), file]);
  }
  const table = documented();

  it('every variable the engine reads or sets is in the table of environment variables', () => {
    const missing = [...used.keys()].filter((n) => !table.has(n)).map((n) => `${n} (${used.get(n)!.join(', ')})`);
    expect(missing, 'add a row to runner/cli/reference/environment.ts, then `npm run docs`').to.deep.equal([]);
  });

  it('every row of the table names a variable the code still uses, with what it does and its default', () => {
    expect([...table.keys()].filter((n) => !used.has(n)), 'rows for variables no code uses').to.deep.equal([]);
    for (const [name, row] of table) expect([row.does, row.default].every((c) => c.trim().length > 0), `${name}: what it does and its default`).to.equal(true);
  });

  it('the scan sees reads in every form the code uses, and not names in comments', () => {
    const text = [
      "// PIPELINE_IN_A_COMMENT is not a use",
      "const a = process.env.PIPELINE_A ?? env['PIPELINE_B'];",
      "const b = secondsFromEnv(env, 'PIPELINE_C'); const c = `x ${1} PIPELINE_D`;",
      'const d = process.env.NO_COLOR; const e = env.AWS_REGION; const f = process.env[name];',
    ].join('\n');
    expect([...variablesIn('x.ts', text)].sort()).to.deep.equal(['AWS_REGION', 'NO_COLOR', 'PIPELINE_A', 'PIPELINE_B', 'PIPELINE_C', 'PIPELINE_D']);
  });
});
