// The config text with its YAML document and a position index: the place (line:col, and the range up to the end
// of the node) of any key or value by its key path, e.g. ['stages', 'fit', 'outs', 1]. The YAML is parsed on
// first use, and each mapping's keys are indexed on first lookup, so positions stay cheap in big files and a
// cached config never parses YAML unless a position is asked for.
import { createRequire } from 'node:module';
import type * as YamlModule from 'yaml';
import type { Document, LineCounter, Node as YamlNode, Pair, Scalar, YAMLMap } from 'yaml';
import type { Range } from '../core/diagnostic.js';
import type { Position } from './types.js';

let yamlModule: typeof YamlModule | undefined;
/** The yaml library, loaded on first use (synchronously: parseConfigText is synchronous). */
export function Y(): typeof YamlModule {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YamlModule);
}

export type KeyPath = (string | number)[];

export function keyText(key: unknown): string | undefined {
  if (Y().isScalar(key)) return String(key.value);
  return undefined;
}

export function toPosition(r: Range | Position): Position {
  return { file: r.file, line: r.line, col: r.col };
}

/** An expansion of a template, for positions: its template's key under `stages:` and the index of each matrix value. */
export interface StageAlias {
  template: string;
  index: Record<string, number>;
}

export class Source {
  private parsed?: { doc: Document.Parsed; lines: LineCounter };
  /** Expansion name → where it is written: a key path through an expansion is one through its template. */
  private readonly aliases = new Map<string, StageAlias>();

  constructor(
    readonly text: string,
    readonly display: string,
  ) {}

  private get yaml(): { doc: Document.Parsed; lines: LineCounter } {
    if (!this.parsed) {
      const lines = new (Y().LineCounter)();
      const doc = Y().parseDocument(this.text, { lineCounter: lines, uniqueKeys: false, prettyErrors: true });
      this.parsed = { doc, lines };
    }
    return this.parsed;
  }

  get doc(): Document.Parsed {
    return this.yaml.doc;
  }

  /** Pairs of each mapping by key text (first occurrence), built on first lookup: positions stay O(1) for big files. */
  private readonly index = new WeakMap<YAMLMap, Map<string, Pair>>();

  private pair(map: YAMLMap, key: string): Pair | undefined {
    let byKey = this.index.get(map);
    if (!byKey) {
      byKey = new Map();
      for (const p of map.items) {
        const k = keyText(p.key);
        if (k !== undefined && !byKey.has(k)) byKey.set(k, p);
      }
      this.index.set(map, byKey);
    }
    return byKey.get(key);
  }

  at(offset: number): Position {
    const { line, col } = this.yaml.lines.linePos(offset);
    return { file: this.display, line, col };
  }

  /** The range from offset `start` to offset `end` (exclusive). */
  span(start: number, end: number): Range {
    const a = this.yaml.lines.linePos(start);
    const b = this.yaml.lines.linePos(Math.max(start, end));
    return { file: this.display, line: a.line, col: a.col, endLine: b.line, endCol: b.col };
  }

  /** The whole range of a node as parsed (for related locations and duplicate keys). */
  nodeSpan(node: YamlNode): Range {
    return node.range ? this.span(node.range[0], node.range[1]) : this.startRange();
  }

  startRange(): Range {
    const r = this.doc.contents?.range;
    return r ? this.span(r[0], r[0]) : { file: this.display, line: 1, col: 1, endLine: 1, endCol: 1 };
  }

  start(): Position {
    return toPosition(this.startRange());
  }

  /** Positions of `stages.NAME…` for an expansion NAME are those of its template (a matrix key's param: its value). */
  alias(expansion: string, alias: StageAlias): void {
    this.aliases.set(expansion, alias);
  }

  /** The key path as written in the file: an expansion's path leads through its template. */
  resolve(keyPath: KeyPath): KeyPath {
    if (keyPath[0] !== 'stages' || keyPath.length < 2) return keyPath;
    const alias = this.aliases.get(String(keyPath[1]));
    if (!alias) return keyPath;
    const key = String(keyPath[3]);
    if (keyPath[2] === 'params' && keyPath.length >= 4 && Object.hasOwn(alias.index, key))
      return ['stages', alias.template, 'matrix', key, alias.index[key], ...keyPath.slice(4)];
    return ['stages', alias.template, ...keyPath.slice(2)];
  }

  /** Walks `keyPath` as far as it exists; returns the last key and value nodes found. */
  private walk(written: KeyPath): { key?: YamlNode; value?: YamlNode; complete: boolean } {
    const keyPath = this.resolve(written);
    let node: unknown = this.doc.contents;
    let key: YamlNode | undefined;
    let value: YamlNode | undefined = node as YamlNode | undefined;
    for (const seg of keyPath) {
      if (Y().isAlias(node)) node = node.resolve(this.doc);
      if (Y().isMap(node)) {
        const pair = this.pair(node, String(seg));
        if (!pair) return { key, value, complete: false };
        key = pair.key as YamlNode;
        node = pair.value;
        value = (pair.value ?? undefined) as YamlNode | undefined;
      } else if (Y().isSeq(node) && Number.isInteger(Number(seg))) {
        const item = node.items[Number(seg)];
        if (item === undefined) return { key, value, complete: false };
        key = undefined;
        node = item;
        value = item as YamlNode;
      } else {
        return { key, value, complete: false };
      }
    }
    return { key, value, complete: true };
  }

  private nodeRange(node: YamlNode | undefined): Range | undefined {
    if (!node?.range) return undefined;
    // `key:` with nothing after it parses as an empty scalar placed after the colon: point at the key instead.
    if (Y().isScalar(node) && node.value === null && node.source === '') return undefined;
    return this.span(node.range[0], node.range[1]);
  }

  /** Range of the value at `keyPath` (the key when the value is empty); the nearest existing ancestor otherwise. */
  valueRange(keyPath: KeyPath): Range {
    const w = this.walk(keyPath);
    return this.nodeRange(w.value) ?? this.nodeRange(w.key) ?? this.startRange();
  }

  /** Range of the key of `keyPath`'s last segment; the nearest existing ancestor otherwise. */
  keyRange(keyPath: KeyPath): Range {
    const w = this.walk(keyPath);
    if (w.complete && w.key) return this.nodeRange(w.key) ?? this.startRange();
    return this.nodeRange(w.value) ?? this.nodeRange(w.key) ?? this.startRange();
  }

  /** Range of character `index` of the string at `keyPath`, when the scalar maps 1:1 onto its source. */
  charRange(keyPath: KeyPath, index: number): Range {
    const w = this.walk(keyPath);
    const node = w.value;
    if (w.complete && Y().isScalar(node) && typeof node.value === 'string' && node.range) {
      const quoted = node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE';
      if (node.type === 'PLAIN' || quoted) {
        const start = node.range[0] + (quoted ? 1 : 0);
        if (this.text.slice(start, start + node.value.length) === node.value) return this.span(start + index, start + index + 1);
      }
    }
    return this.valueRange(keyPath);
  }

  valuePos(keyPath: KeyPath): Position {
    return toPosition(this.valueRange(keyPath));
  }

  keyPos(keyPath: KeyPath): Position {
    return toPosition(this.keyRange(keyPath));
  }
}

/** The range of characters `start`..`end` of the string at `keyPath`, or the whole value when they cannot be placed. */
export function textRange(src: Source, keyPath: KeyPath, start: number, end: number): Range {
  const node = src.doc.getIn(src.resolve(keyPath), true) as Scalar | undefined;
  if (node && Y().isScalar(node) && typeof node.value === 'string' && node.range && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')) {
    const offset = (i: number) => blockOffset(src.text, node.range![0], node.value as string, i);
    const a = offset(start);
    const b = offset(Math.max(start, end - 1));
    if (a !== undefined && b !== undefined) return src.span(a, b + 1);
    return src.valueRange(keyPath);
  }
  const first = src.charRange(keyPath, start);
  const last = src.charRange(keyPath, Math.max(start, end - 1));
  return first.line === last.line && last.endCol > first.col ? { ...first, endLine: last.endLine, endCol: last.endCol } : first;
}

/** Source offset of character `i` of a literal block scalar (`|`), when the value maps onto the source line by line. */
function blockOffset(text: string, headerAt: number, value: string, i: number): number | undefined {
  const before = value.slice(0, i);
  const line = before.split('\n').length - 1;
  const col = i - (before.lastIndexOf('\n') + 1);
  let at = text.indexOf('\n', headerAt) + 1;
  for (let l = 0; l < line && at > 0; l++) at = text.indexOf('\n', at) + 1;
  if (at <= 0) return undefined;
  const lineText = text.slice(at, text.indexOf('\n', at) < 0 ? text.length : text.indexOf('\n', at));
  const valueLine = value.split('\n')[line];
  const indent = lineText.length - valueLine.length;
  if (indent < 0 || lineText.slice(indent) !== valueLine) return undefined;
  return at + indent + col;
}
