// Reading pipeline.yaml as YAML: syntax errors, an empty file, duplicate keys (yaml alone would only say "Map keys
// must be unique"), names that would reach an object's prototype, and aliases; then the plain data.
// A syntax error stops here (what follows it may be misread); duplicate keys and reserved names do not.
import { diagnostic, related, type DiagnosticList } from '../core/diagnostic.js';
import { keyText, Y, type KeyPath, type Source } from './positions.js';
import type { Node as YamlNode } from 'yaml';
import { describe } from './shapes.js';

/** Keys that name (or reach) an object's prototype: refused as stage names and as param names at any depth. */
export const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'];

/** The data of the file as a plain mapping, or undefined when the rest cannot be read. */
export function readYaml(src: Source, out: DiagnosticList): Record<string, unknown> | undefined {
  const yamlError = src.doc.errors[0];
  if (yamlError) {
    const lp = yamlError.linePos?.[0];
    const start = src.at(yamlError.pos[0]);
    const pos = lp ? { file: src.display, line: lp.line, col: lp.col } : start;
    const end = yamlError.linePos?.[1];
    const message =
      yamlError.code === 'MULTIPLE_DOCS'
        ? 'the file holds more than one YAML document (a second `---`)'
        : yamlError.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    out.add(
      diagnostic('yaml-syntax', { ...pos, ...(end ? { endLine: end.line, endCol: end.col } : {}) }, `YAML syntax error: ${message}`, yamlHint(yamlError.code, message)),
    );
    return undefined;
  }
  if (src.doc.contents === null) {
    out.add(diagnostic('empty-file', { file: src.display, line: 1, col: 1 }, 'the file is empty', 'start with `version: 1` and a `stages:` mapping (see README)'));
    return undefined;
  }

  for (const dup of duplicateKeys(src.doc.contents)) {
    const first = src.keyRange([...dup.path, dup.key]);
    const at = src.nodeSpan(dup.node);
    const firstAt = related(first, `first \`${dup.key}\``);
    if (dup.path.length === 1 && dup.path[0] === 'stages')
      out.add(diagnostic('duplicate-stage', at, `duplicate stage \`${dup.key}\` (first at ${first.line}:${first.col})`, 'give each stage a unique name', [firstAt]));
    else
      out.add(diagnostic('duplicate-key', at, `duplicate key \`${dup.key}\`${where(dup.path)} (first at ${first.line}:${first.col})`, 'remove one of them', [firstAt]));
  }

  for (const r of reservedKeys(src)) {
    const what = r.path.length === 1 ? `stage name \`${r.key}\`` : `param name \`${r.key}\`${where(r.path)}`;
    out.add(
      diagnostic(
        'reserved-name',
        src.nodeSpan(r.node),
        `${what} is not allowed: it names a property every object has`,
        `rename it (\`${RESERVED_KEYS.join('`, `')}\` are reserved)`,
      ),
    );
  }

  let data: unknown;
  try {
    data = src.doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    out.add(diagnostic('yaml-alias', src.startRange(), `cannot resolve the YAML: ${(err as Error).message}`, 'check anchors (&name) and aliases (*name)'));
    return undefined;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    out.add(
      diagnostic(
        'not-a-mapping',
        src.startRange(),
        `the top level must be a mapping with \`version: 1\` and \`stages:\`; got ${describe(data)}`,
        'see README for the format of pipeline.yaml',
      ),
    );
    return undefined;
  }
  return data as Record<string, unknown>;
}

function yamlHint(code: string, message: string): string {
  if (/^Flow (sequence|mapping)/.test(message))
    return 'a `[` or `{` opened above this point is not closed (or a line inside it is not indented enough)';
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'indent with spaces; YAML does not allow tabs for indentation';
    case 'MULTIPLE_DOCS':
      return 'keep one document in the file (remove the extra `---`)';
    case 'BAD_INDENT':
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'check the indentation: keys of one mapping line up, nested ones are indented by the same number of spaces';
    case 'MISSING_CHAR':
      return 'a quote or bracket opened above this point is never closed';
    default:
      return 'fix the YAML at that position (indentation with spaces, closed brackets and quotes, `key: value` with a space after the colon)';
  }
}

/** Every repeated key of every mapping, in document order (iterative: a deeply nested file cannot overflow). */
function duplicateKeys(root: unknown): { path: KeyPath; key: string; node: YamlNode }[] {
  const found: { path: KeyPath; key: string; node: YamlNode }[] = [];
  const stack: { node: unknown; at: KeyPath }[] = [{ node: root, at: [] }];
  while (stack.length > 0) {
    const { node, at } = stack.pop()!;
    const next: { node: unknown; at: KeyPath }[] = [];
    if (Y().isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const k = keyText(pair.key);
        if (k !== undefined) {
          if (seen.has(k)) found.push({ path: at, key: k, node: pair.key as YamlNode });
          seen.add(k);
        }
        next.push({ node: pair.value, at: k === undefined ? at : [...at, k] });
      }
    } else if (Y().isSeq(node)) {
      node.items.forEach((item, i) => next.push({ node: item, at: [...at, i] }));
    }
    stack.push(...next.reverse());
  }
  // Document order: a map's own duplicates were found before those of its children were visited.
  return found.sort((a, b) => (a.node.range?.[0] ?? 0) - (b.node.range?.[0] ?? 0));
}

/** Stage names and param names (global and per stage, at any depth) that are reserved keys. */
function reservedKeys(src: Source): { path: KeyPath; key: string; node: YamlNode }[] {
  const found: { path: KeyPath; key: string; node: YamlNode }[] = [];
  const top = src.doc.contents;
  if (!Y().isMap(top)) return found;
  const mapAt = (map: unknown, key: string) => (Y().isMap(map) ? map.items.find((p) => keyText(p.key) === key)?.value : undefined);
  const params: { node: unknown; at: KeyPath }[] = [{ node: mapAt(top, 'params'), at: ['params'] }];
  const stages = mapAt(top, 'stages');
  if (Y().isMap(stages)) {
    for (const pair of stages.items) {
      const name = keyText(pair.key);
      if (name === undefined) continue;
      if (RESERVED_KEYS.includes(name)) found.push({ path: ['stages'], key: name, node: pair.key as YamlNode });
      params.push({ node: mapAt(pair.value, 'params'), at: ['stages', name, 'params'] });
      // A matrix key is a param of each expansion.
      params.push({ node: mapAt(pair.value, 'matrix'), at: ['stages', name, 'matrix'] });
    }
  }
  while (params.length > 0) {
    const { node, at } = params.pop()!;
    if (Y().isMap(node)) {
      for (const pair of node.items) {
        const k = keyText(pair.key);
        if (k !== undefined && RESERVED_KEYS.includes(k)) found.push({ path: at, key: k, node: pair.key as YamlNode });
        params.push({ node: pair.value, at: [...at, k ?? '?'] });
      }
    } else if (Y().isSeq(node)) {
      node.items.forEach((item, i) => params.push({ node: item, at: [...at, i] }));
    }
  }
  return found.sort((a, b) => (a.node.range?.[0] ?? 0) - (b.node.range?.[0] ?? 0));
}

/** " in stage `fit`", " in `params`", " in `stages.fit.env`"... for messages. */
export function where(keyPath: KeyPath): string {
  if (keyPath.length === 0) return ' at the top level';
  if (keyPath[0] === 'stages' && keyPath.length >= 2) {
    const rest = keyPath.slice(2);
    return rest.length === 0 ? ` in stage \`${keyPath[1]}\`` : ` in \`${rest.join('.')}\` of stage \`${keyPath[1]}\``;
  }
  return ` in \`${keyPath.join('.')}\``;
}
