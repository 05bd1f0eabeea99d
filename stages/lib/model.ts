// The float model artifact (build/model/model.json): plain JSON, checked against a strict schema when loaded, so a
// model file can never run code and a damaged or hostile one is refused with a clear message.
//
// Every stage after `train` reads the model, and loading zod costs ~70 ms of each stage's start. So a model is first
// checked by `isValidModel`, a plain structural check that accepts only what the zod schema accepts; zod itself is
// loaded (synchronously) only when that check fails, to decide and to word the refusal. A file the quick check is
// unsure about is still judged by the schema, so the schema alone defines what is valid.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Document as YamlDocument, LineCounter } from 'yaml';
import type { z as Zod } from 'zod';
import { issuesToDiagnostics, type KeyPath, type SourceRange } from 'pipeline-dag/stage';

export const MODEL_FORMAT = 'pipeline.linear-model';

export interface LinearModel {
  format: typeof MODEL_FORMAT;
  version: 1;
  target: string;
  features: string[];
  coefficients: number[];
  intercept: number;
  train_rows: number;
  data_sha256: string;
  source_sha256: string;
  split: { seed: number; test_size: number };
}

const MAX_NAME = 200;
const MAX_FEATURES = 1000;
const SHA256 = /^[0-9a-f]{64}$/;

/** The strict schema of model.json (built on first use: zod loads only when a model needs its verdict). */
function buildSchema(z: typeof Zod) {
  const sha256 = z.string().regex(SHA256, 'expected a lowercase hex sha256');
  return z
    .object({
      format: z.literal(MODEL_FORMAT),
      version: z.literal(1),
      target: z.string().min(1).max(MAX_NAME),
      features: z.array(z.string().min(1).max(MAX_NAME)).min(1).max(MAX_FEATURES),
      coefficients: z.array(z.number()).min(1).max(MAX_FEATURES),
      intercept: z.number(),
      train_rows: z.number().int().positive(),
      data_sha256: sha256,
      source_sha256: sha256,
      split: z.object({ seed: z.number().int().min(0), test_size: z.number().positive() }).strict(),
    })
    .strict()
    .superRefine((m, ctx) => {
      if (m.coefficients.length !== m.features.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['coefficients'],
          message: `${m.coefficients.length} coefficients for ${m.features.length} features`,
        });
      }
      const seen = new Set<string>();
      m.features.forEach((f, i) => {
        if (seen.has(f)) ctx.addIssue({ code: 'custom', path: ['features', i], message: `duplicate feature ${JSON.stringify(f)}` });
        seen.add(f);
      });
    });
}

let schema: ReturnType<typeof buildSchema> | undefined;

/** The zod schema of model.json; loads zod on first call. */
export function modelSchema(): ReturnType<typeof buildSchema> {
  // zod's CommonJS build, required lazily so that a valid model never pays for it (the stage bundles keep
  // packages external, so this resolves from the workspace's node_modules like any import).
  schema ??= buildSchema((createRequire(import.meta.url)('zod') as { z: typeof Zod }).z);
  return schema;
}

const MODEL_KEYS = new Set(['format', 'version', 'target', 'features', 'coefficients', 'intercept', 'train_rows', 'data_sha256', 'source_sha256', 'split']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= MAX_NAME;
const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * True only for values the schema accepts (it may say false to some the schema accepts; those are then judged by
 * the schema): exactly the model's keys, the format and version, names of 1–200 characters, 1–1,000 distinct
 * features, one finite coefficient per feature, a finite intercept, a positive whole `train_rows`, lowercase hex
 * sha256s, and a `split` of exactly a whole `seed` ≥ 0 and a positive `test_size`.
 */
export function isValidModel(v: unknown): v is LinearModel {
  if (!isObject(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== MODEL_KEYS.size || !keys.every((k) => MODEL_KEYS.has(k))) return false;
  if (v.format !== MODEL_FORMAT || v.version !== 1 || !isName(v.target)) return false;
  const { features, coefficients, split } = v;
  if (!Array.isArray(features) || features.length < 1 || features.length > MAX_FEATURES || !features.every(isName)) return false;
  if (new Set(features).size !== features.length) return false;
  if (!Array.isArray(coefficients) || coefficients.length !== features.length || !coefficients.every(isFinite)) return false;
  if (!isFinite(v.intercept) || !Number.isSafeInteger(v.train_rows) || (v.train_rows as number) <= 0) return false;
  if (typeof v.data_sha256 !== 'string' || !SHA256.test(v.data_sha256)) return false;
  if (typeof v.source_sha256 !== 'string' || !SHA256.test(v.source_sha256)) return false;
  if (!isObject(split)) return false;
  const splitKeys = Object.keys(split);
  if (splitKeys.length !== 2 || !splitKeys.includes('seed') || !splitKeys.includes('test_size')) return false;
  return Number.isSafeInteger(split.seed) && (split.seed as number) >= 0 && isFinite(split.test_size) && split.test_size > 0;
}

/** Largest model file accepted, so a huge file is refused before it is parsed. */
export const MAX_MODEL_BYTES = 1 << 20;

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

const REBUILD = 'Rebuild it with `npx pipeline run` (the train stage writes it)';

/** Validate parsed JSON as a model; `file` names it in the error. */
export function parseModel(text: string, file: string): LinearModel {
  if (text.length > MAX_MODEL_BYTES) throw new ModelError(`${file}: ${text.length} bytes is too large for a model (limit ${MAX_MODEL_BYTES}). ${REBUILD}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ModelError(`${file}: not valid JSON (${(err as Error).message}). ${REBUILD}`);
  }
  if (isValidModel(data)) return modelJson(data);
  const r = modelSchema().safeParse(data);
  if (!r.success) {
    const diagnostics = issuesToDiagnostics(r.error.issues, {
      locate: jsonLocator(text, file),
      explain: (v) => ({
        message: `${v.issue.path.length ? v.issue.path.join('.') : '(top level)'}: ${v.code === 'unknown-key' ? `Unrecognized key: ${JSON.stringify(v.key)}` : v.issue.message}`,
      }),
    });
    const [first, ...rest] = diagnostics.slice(0, 5);
    const more = rest.map((d) => `; ${d.message} (at ${d.line}:${d.col})`).join('');
    throw new ModelError(`${file}:${first.line}:${first.col}: not a valid model: ${first.message}${more}. ${REBUILD}`);
  }
  return r.data;
}

/** Ranges of keys and values in a JSON text (read as YAML, whose parser keeps positions), parsed on first use. */
function jsonLocator(text: string, file: string): (path: KeyPath, part: 'key' | 'value') => SourceRange {
  let parsed: { doc: YamlDocument; lines: LineCounter } | undefined;
  return (path, part) => {
    const { parseDocument, LineCounter: Lines, isMap, isSeq } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    if (!parsed) {
      const lines = new Lines();
      parsed = { doc: parseDocument(text, { lineCounter: lines, uniqueKeys: false }), lines };
    }
    let node: unknown = parsed.doc.contents;
    let range: [number, number] | undefined = (node as { range?: [number, number] } | null)?.range;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value) === String(seg));
        if (!pair) break;
        const target = (part === 'key' && seg === path[path.length - 1] ? pair.key : pair.value) as { range?: [number, number] } | null;
        node = pair.value;
        range = target?.range ?? range;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg];
        range = (node as { range?: [number, number] }).range ?? range;
      } else break;
    }
    const a = parsed.lines.linePos(range?.[0] ?? 0);
    const b = parsed.lines.linePos(range?.[1] ?? 0);
    return { file, line: a.line, col: a.col, endLine: b.line, endCol: b.col };
  };
}

export async function readModel(file: string): Promise<LinearModel> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ModelError(`${file}: cannot read the model (${err.code ?? err.message}). ${REBUILD}`);
  });
  return parseModel(text, file);
}

/** The model as written: fixed key order, shortest round-trip numbers. */
export function modelJson(m: LinearModel): LinearModel {
  return {
    format: MODEL_FORMAT,
    version: 1,
    target: m.target,
    features: [...m.features],
    coefficients: [...m.coefficients],
    intercept: m.intercept,
    train_rows: m.train_rows,
    data_sha256: m.data_sha256,
    source_sha256: m.source_sha256,
    split: { seed: m.split.seed, test_size: m.split.test_size },
  };
}

/** Size of the float model's weights packed as float64 (coefficients + intercept), for comparison with the quantized ones. */
export function floatPackedSize(p: number): number {
  return 8 * (p + 1);
}
