// The schemas of the machine-readable outputs (schemas/*.schema.json, loaded into one ajv) and the golden examples
// of those outputs (tests/fixtures/golden/NAME.SCENARIO.json, where NAME is the schema), with the normalisation that
// makes a real output comparable from run to run: volatile values (times, durations, hashes, temp paths, the Node
// version) replaced by fixed ones that still satisfy the schemas.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { repoRoot } from '../helpers/workspace.js';

export const schemasDir = path.join(repoRoot, 'schemas');
export const goldenDir = path.join(repoRoot, 'tests', 'fixtures', 'golden');

/** Every schema file of the package (`common` holds shared definitions, not a document). */
export function schemaFiles(): string[] {
  return readdirSync(schemasDir)
    .filter((f) => f.endsWith('.schema.json'))
    .sort();
}

/** All the package's schemas in one strict ajv (unknown keywords, loose types and bad formats are errors). */
export function loadSchemas(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  for (const f of schemaFiles()) ajv.addSchema(JSON.parse(readFileSync(path.join(schemasDir, f), 'utf8')) as object);
  return ajv;
}

/** The validator of one document kind: `run` → schemas/run.schema.json. */
export function validator(ajv: Ajv2020, kind: string): ValidateFunction {
  const v = ajv.getSchema(`${kind}.schema.json`);
  if (!v) throw new Error(`no schema ${kind}.schema.json in ${schemasDir}`);
  return v;
}

/** Errors as one line each, for assertion messages. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(top)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');
}

/**
 * A document with its volatile values fixed: every SHA-256 becomes a stable stand-in numbered by first appearance
 * (the same hash gets the same stand-in, so which fields share a hash is still pinned), every ISO time the same
 * time, every `durationMs` 0, the given temp folders a fixed path, and `toolchain:…` versions `<toolchain>`.
 */
export function normalise(doc: unknown, folders: Record<string, string> = {}): unknown {
  const hashes = new Map<string, string>();
  const standIn = (h: string) => {
    if (!hashes.has(h)) hashes.set(h, (hashes.size + 1).toString(16).padStart(64, '0'));
    return hashes.get(h)!;
  };
  const places = Object.entries(folders).sort((a, b) => b[0].length - a[0].length);
  const text = (s: string) => {
    let out = s.replace(/[0-9a-f]{64}/g, standIn).replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '2000-01-01T00:00:00.000Z');
    for (const [real, fixed] of places) out = out.split(real).join(fixed);
    return out;
  };
  const walk = (value: unknown, key?: string): unknown => {
    if (typeof value === 'string') return key?.startsWith('toolchain:') ? '<toolchain>' : text(value);
    if (typeof value === 'number') return key === 'durationMs' ? 0 : value;
    if (Array.isArray(value)) return value.map((v) => walk(v));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), walk(v, k)]));
    return value;
  };
  return walk(doc);
}

/** The golden file of a document kind and scenario. */
export function goldenPath(kind: string, scenario: string): string {
  return path.join(goldenDir, `${kind}.${scenario}.json`);
}

/** Every golden file: its schema's name (before the first dot) and its content. */
export function goldenFiles(): { file: string; kind: string; doc: unknown }[] {
  if (!existsSync(goldenDir)) return [];
  return readdirSync(goldenDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, kind: f.slice(0, f.indexOf('.')), doc: JSON.parse(readFileSync(path.join(goldenDir, f), 'utf8')) as unknown }));
}

/** UPDATE_GOLDEN=1 rewrites the golden files from the real outputs (a deliberate change of a shape). */
export const updating = process.env.UPDATE_GOLDEN === '1';

export function writeGolden(kind: string, scenario: string, doc: unknown): void {
  mkdirSync(goldenDir, { recursive: true });
  writeFileSync(goldenPath(kind, scenario), `${JSON.stringify(doc, null, 2)}\n`);
}

export function readGolden(kind: string, scenario: string): unknown {
  const file = goldenPath(kind, scenario);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown) : undefined;
}
