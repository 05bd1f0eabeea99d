// The artifacts the report reads, loaded and checked against their contracts. A missing or malformed file is a
// CommandError (exit code 2) that names the file, says what is wrong and how to get it right.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CommandError } from 'pipeline-dag/command';
// The engine's record of the last run: its type and schema come from the engine's public API.
import { LAST_RUN_FILE, lastRunSchema, type LastRun } from 'pipeline-dag/report';
import { PATHS } from './artifacts.js';
import { modelSchema } from './model.js';
import { quantizedKeys, type ComparePlotData } from './plots.js';
import { isBits, isScheme } from './quant.js';

const MODEL_FILE = PATHS.model;
const COMPARE_METRICS_FILE = PATHS.compareMetrics;
const PREDICTIONS_FILE = PATHS.comparePredictions;
const GATE_METRICS_FILE = PATHS.gateMetrics;
const SUMMARY_FILE = PATHS.summary;

/** A quantized model's parameters file, for a `<scheme>-<bits>` key of the compare table. */
function quantFile(scheme: string, bits: number): string {
  if (!isScheme(scheme) || !isBits(bits)) {
    throw inputError(`${COMPARE_METRICS_FILE}: models: \`${scheme}-${bits}\` is not a model the quantize stages write`, 'Re-run the compare stage.');
  }
  return PATHS.quantFile(bits, scheme, 'json');
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const quantSchema = z.looseObject({
  scheme: z.string().optional(),
  bits: z.number().int().optional(),
  coefficients: z.array(finite).min(1),
  intercept: finite,
});

const compareRowSchema = z.looseObject({
  r2: finite,
  mse: finite,
  mae: finite,
  mape: finite,
  max_abs_delta: finite,
  mean_abs_delta: finite,
  size_bytes: finite,
});
export type CompareRow = z.infer<typeof compareRowSchema>;

const compareSchema = z.looseObject({ models: z.record(z.string(), compareRowSchema) });

const gateSchema = z.looseObject({ r2: finite, mse: finite, mae: finite, mape: finite });

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 (64 hex digits)');
/** What the load stage says about the data the numbers come from. */
const summarySchema = z.looseObject({
  rows: z.number().int().nonnegative(),
  source: z.string(),
  data_sha256: sha256,
  split: z.looseObject({ seed: z.number().int(), test_size: finite }),
});
export type DataSummary = z.infer<typeof summarySchema>;
export type GateMetrics = z.infer<typeof gateSchema>;

export type { LastRun };

export interface QuantizedModel {
  /** `<scheme>-<bits>`, as in the compare table. */
  key: string;
  scheme: string;
  bits: number;
  coefficients: number[];
  intercept: number;
}

export interface ReportInputs {
  model: { features: string[]; coefficients: number[]; intercept: number };
  quantized: QuantizedModel[];
  /** Compare rows keyed by model, `float` first, then by scheme and bits. */
  compare: [string, CompareRow][];
  predictions: ComparePlotData;
  gate: GateMetrics;
  /** The data source of the run (the load stage's summary). */
  data: DataSummary;
  lastRun: LastRun;
}

/** A missing or malformed input: exit code 2, with how to fix it. */
function inputError(message: string, hint: string): CommandError {
  return new CommandError(message, { hint });
}

const RUN_FIRST = 'Run `npx pipeline run` first to produce them.';

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return `${line}:${col}`;
}

function readJson<T>(root: string, rel: string, schema: z.ZodType<T>): T {
  const text = readFileSync(path.join(root, rel), 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? `${rel}:${lineCol(text, Number(pos[1]))}` : rel;
    const detail = msg.replace(/ in JSON at position \d+.*$/s, '').replace(/\s+/g, ' ').slice(0, 160);
    throw inputError(`${where}: not valid JSON (${detail})`, `Re-run the stage that writes it: \`npx pipeline run\`.`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    throw inputError(
      `${rel}: ${key}: ${issue.message}`,
      `The file does not have the shape the report expects; re-run the pipeline (\`npx pipeline run\`) to rewrite it.`,
    );
  }
  return parsed.data;
}

/** Parse the compare stage's CSV: header `actual,float,...`, one finite number per field. */
export function parsePredictionsCsv(text: string, rel = PREDICTIONS_FILE): ComparePlotData {
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 2) throw inputError(`${rel}: has no data rows`, 'Re-run the compare stage: `npx pipeline run compare`.');
  const header = lines[0].split(',').map((h) => h.trim());
  if (header[0] !== 'actual' || !header.includes('float')) {
    throw inputError(
      `${rel}:1:1: header must start with \`actual\` and include \`float\`, got \`${lines[0]}\``,
      'Re-run the compare stage: `npx pipeline run compare`.',
    );
  }
  const cols: number[][] = header.map(() => []);
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i].split(',');
    if (fields.length !== header.length) {
      throw inputError(`${rel}:${i + 1}: expected ${header.length} fields, found ${fields.length}`, 'Re-run the compare stage.');
    }
    for (let j = 0; j < fields.length; j++) {
      const v = Number(fields[j]);
      if (fields[j].trim() === '' || !Number.isFinite(v)) {
        throw inputError(
          `${rel}:${i + 1}: column ${j + 1} (${header[j]}): \`${fields[j]}\` is not a finite number`,
          'Re-run the compare stage.',
        );
      }
      cols[j].push(v);
    }
  }
  return { actual: cols[0], predictions: Object.fromEntries(header.slice(1).map((h, j) => [h, cols[j + 1]])) };
}

/** Load every artifact the report needs from the workspace `root`, or throw a CommandError saying what is missing. */
export function loadReportInputs(root: string): ReportInputs {
  const base = [SUMMARY_FILE, MODEL_FILE, COMPARE_METRICS_FILE, PREDICTIONS_FILE, GATE_METRICS_FILE, LAST_RUN_FILE];
  const missing = base.filter((f) => !existsSync(path.join(root, f)));
  let compareRows: Record<string, CompareRow> | undefined;
  if (!missing.includes(COMPARE_METRICS_FILE)) compareRows = readJson(root, COMPARE_METRICS_FILE, compareSchema).models;
  const quantKeys = compareRows ? quantizedKeys(Object.keys(compareRows)) : [];
  for (const k of quantKeys) {
    const f = quantFile(k.scheme!, k.bits!);
    if (!existsSync(path.join(root, f))) missing.push(f);
  }
  if (missing.length) {
    throw inputError(
      `the report needs pipeline artifacts that are missing in ${root}:\n${missing.map((f) => `  ${f}`).join('\n')}`,
      RUN_FIRST,
    );
  }
  if (!compareRows!.float) {
    throw inputError(`${COMPARE_METRICS_FILE}: models.float: missing (the float model's row)`, 'Re-run the compare stage.');
  }

  const model = readJson(root, MODEL_FILE, modelSchema());
  const quantized: QuantizedModel[] = quantKeys.map((k) => {
    const rel = quantFile(k.scheme!, k.bits!);
    const q = readJson(root, rel, quantSchema);
    if (q.coefficients.length !== model.features.length) {
      throw inputError(
        `${rel}: coefficients: ${q.coefficients.length} values but the model has ${model.features.length} features`,
        'Re-run the quantize stages: `npx pipeline run quantize`.',
      );
    }
    return { key: k.key, scheme: k.scheme!, bits: k.bits!, coefficients: q.coefficients, intercept: q.intercept };
  });

  const predictions = parsePredictionsCsv(readFileSync(path.join(root, PREDICTIONS_FILE), 'utf8'));
  const gate = readJson(root, GATE_METRICS_FILE, gateSchema);
  const lastRun = readJson(root, LAST_RUN_FILE, lastRunSchema);
  const data = readJson(root, SUMMARY_FILE, summarySchema);
  const compare: [string, CompareRow][] = [
    ['float', compareRows!.float],
    ...quantKeys.map((k) => [k.key, compareRows![k.key]] as [string, CompareRow]),
  ];
  return { model, quantized, compare, predictions, gate, data, lastRun };
}
