// No function of the engine grows past 80 lines: one that long does several things, and is split into functions
// that each do one (as wireit's analyzer has one method per key). Every function-like node counts — declarations,
// methods, constructors, accessors, function expressions and arrows — by the lines of its body, nested functions
// included.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { glob } from 'tinyglobby';
import ts from 'typescript';
import { repoRoot } from '../helpers/workspace.js';

const MAX_LINES = 80;

export interface FunctionSize {
  file: string;
  /** 1-based line where the body starts. */
  line: number;
  name: string;
  lines: number;
}

/** How a function is called in messages: its name, the variable or property it is assigned to, else its kind. */
function nameOf(node: ts.SignatureDeclaration, source: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name) return node.name.getText(source);
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name) return parent.name.getText(source);
  return ts.isArrowFunction(node) ? '(arrow)' : '(function)';
}

/** Every function-like node of a TypeScript text with a body, and the lines its body spans. */
export function functionSizes(file: string, text: string): FunctionSize[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: FunctionSize[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const body = node.body as ts.Node;
      const start = source.getLineAndCharacterOfPosition(body.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(body.getEnd()).line;
      found.push({ file, line: start + 1, name: nameOf(node, source), lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('architecture: function size', () => {
  it('measures every kind of function by the lines of its body', () => {
    const text = [
      'function a() {', // 1
      '  return 1;',
      '}',
      'class K {',
      '  constructor() {', // 5
      '    this.m();',
      '  }',
      '  m(): void {}', // 8
      '  get g(): number {', // 9
      '    return 2;',
      '  }',
      '}',
      'const b = (x: number) =>', // 13
      '  x + 1;',
      'const o = { f: function () {', // 15
      '  const inner = () => {', // 16
      '    return 3;',
      '  };',
      '  return inner();',
      '} };',
      'declare function d(): void;',
    ].join('\n');
    expect(functionSizes('x.ts', text).map((f) => `${f.name}@${f.line}:${f.lines}`)).to.deep.equal([
      'a@1:3',
      'constructor@5:3',
      'm@8:1',
      'g@9:3',
      'b@14:1',
      'f@15:6',
      'inner@16:3',
    ]);
  });

  it(`no function in runner/ has more than ${MAX_LINES} lines`, async () => {
    const files = await glob(['runner/**/*.ts'], { cwd: repoRoot });
    expect(files.length).to.be.greaterThan(10);
    const long = files
      .flatMap((f) => functionSizes(f, readFileSync(path.join(repoRoot, f), 'utf8')))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}:${f.line} ${f.name}: ${f.lines} lines`)
      .sort();
    expect(long, `functions over ${MAX_LINES} lines:\n  ${long.join('\n  ')}\n`).to.deep.equal([]);
  });
});
