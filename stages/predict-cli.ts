// `pipeline predict [--model float|q<bits>] [--scheme minmax|pow2] [--input rows.csv|rows.json|-] [--output FILE]
// [--format csv|json] [--id-column NAME]`: score new rows with the trained model, or without --input predict the
// test set like the predict stage (metrics and the first 10 rows). The quantized models are those built in the
// workspace: one `build/quant/q<bits>` folder per value of `bits` in the quantize template's matrix (q8, q16, …). The rows' identifier column (`id` by default)
// is kept in the output; values far outside the training rows' range are warned about on stderr.
// Exit codes: 0 ok, 2 bad usage, bad rows or missing artifacts.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { CommandContext } from 'pipeline-dag/command';
import { PATHS, quantDirBits } from './lib/artifacts.js';
import { writeFileAtomic } from './lib/atomic.js';
import { readDataset } from './lib/dataset.js';
import { checkCompatible, evaluateAll, firstRowsTable, metricsTable, predictionsCsv, readQuantModels } from './lib/evaluate.js';
import { ModelError, readModel } from './lib/model.js';
import { predictLinear } from './lib/ols.js';
import { isBits, predictQuantized, SCHEMES, unpackQuant, type Bits, type QuantModel } from './lib/quant.js';
import { DEFAULT_ID_COLUMN, FAR_FRACTION, detectFormat, farOutside, featureRanges, formatPredictions, parseRows, RowError, type FeatureRange, type RowFormat, type Rows } from './lib/rows.js';

const USAGE_EXIT = 2;

/** A missing or damaged artifact: the pipeline has to run first. */
class ArtifactError extends Error {}

interface Options {
  /** `float`, or `q<bits>`. */
  model: string;
  scheme: (typeof SCHEMES)[number];
  input?: string;
  output?: string;
  format?: RowFormat;
  idColumn?: string;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

export default async function predictCommand(ctx: CommandContext): Promise<number> {
  const program = new Command('pipeline predict')
    .description('Score rows with the trained model (the 8 feature columns by name), or predict the test set without --input')
    .addOption(new Option('--model <model>', 'which model: float, or q<bits> for a quantized one built here (q8, q16, …)').default('float'))
    .addOption(new Option('--scheme <scheme>', 'quantization scheme of a q<bits> model').choices([...SCHEMES]).default('pow2'))
    .option('--input <file>', 'rows to score: a .csv with a header, a .json array of objects, or - for stdin')
    .option('--output <file>', 'write the predictions to FILE instead of stdout')
    .addOption(new Option('--format <format>', 'output format (default: from --output, else csv)').choices(['csv', 'json']))
    .option('--id-column <name>', `the column identifying each row, kept in the output (default: \`${DEFAULT_ID_COLUMN}\` when the rows have one)`)
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
  try {
    program.parse(ctx.argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : USAGE_EXIT;
    throw err;
  }
  const opts = program.opts<Options>();
  const fail = (message: string) => {
    ctx.stderr.write(`error: ${message}\n`);
    return USAGE_EXIT;
  };
  const bits = modelBits(opts.model);
  if (bits === null) return fail(`--model ${opts.model}: expected \`float\` or \`q<bits>\` (a quantized model, e.g. q8)`);
  if (bits === undefined && program.getOptionValueSource('scheme') === 'cli') {
    return fail('--scheme applies to a quantized model (--model q8, q16, …), not to the float model');
  }
  const ws = (p: string) => path.join(ctx.workspace, p);
  try {
    const model = await readModel(ws(PATHS.model));
    // A quantized model named by --model must exist, also when the test set is predicted with every model.
    const quant = bits === undefined ? undefined : await readQuantized(ctx.workspace, bits, opts.scheme, model.features.length);
    if (opts.input === undefined) return await predictTestSet(ctx, model, opts);
    const p = model.features.length;
    const predict = (X: Float64Array, n: number) => (quant ? predictQuantized(quant, X, n, p) : predictLinear(X, n, p, model.coefficients, model.intercept));

    const fromStdin = opts.input === '-';
    const inputFile = fromStdin ? undefined : path.resolve(opts.input);
    const text = fromStdin ? await readAll(ctx.stdin) : await readFile(inputFile!, 'utf8').catch(() => {
      throw new RowError(`--input ${opts.input}: cannot read ${inputFile}`);
    });
    const label = fromStdin ? '<stdin>' : opts.input;
    const id = opts.idColumn === undefined ? { name: DEFAULT_ID_COLUMN, required: false } : { name: opts.idColumn, required: true };
    const rows = parseRows(text, model.features, label, detectFormat(inputFile, text), id);
    warnFarOutside(ctx, rows, label, await trainingRanges(ws(PATHS.train), model));
    const pred = predict(rows.X, rows.n);
    const format: RowFormat = opts.format ?? (opts.output && /\.json$/i.test(opts.output) ? 'json' : 'csv');
    const out = formatPredictions(pred, format, rows.ids);
    if (opts.output) {
      await writeFileAtomic(path.resolve(opts.output), out);
      ctx.stderr.write(`wrote ${rows.n} predictions (${opts.model}${opts.model === 'float' ? '' : ` ${opts.scheme}`}) to ${opts.output}\n`);
    } else {
      ctx.stdout.write(out);
    }
    return 0;
  } catch (err) {
    if (err instanceof RowError || err instanceof ArtifactError || err instanceof ModelError) return fail(err.message);
    throw err;
  }
}

/**
 * Each feature's range in the rows the model was trained on (build/data/train.bin), or a reason why not: the
 * training rows are missing or are not the ones the model was fitted on.
 */
async function trainingRanges(file: string, model: Awaited<ReturnType<typeof readModel>>): Promise<FeatureRange[] | string> {
  const train = await readDataset(file).catch((err: Error) => err);
  if (train instanceof Error) {
    return `${(train as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} does not exist` : train.message}; \`npx pipeline run\` writes it`;
  }
  if (train.p !== model.features.length || train.n !== model.train_rows) {
    return `${file} (${train.n} rows × ${train.p}) is not what the model was trained on (${model.train_rows} rows × ${model.features.length}); run \`npx pipeline run\``;
  }
  return featureRanges(train.X, train.n, model.features);
}

const num = (v: number) => String(Number(v.toPrecision(6)));

/** Warns on stderr about feature values far outside the training range; the predictions are still written. */
function warnFarOutside(ctx: CommandContext, rows: Rows, label: string, ranges: FeatureRange[] | string): void {
  if (typeof ranges === 'string') {
    ctx.stderr.write(`warning: cannot check the rows against the training range: ${ranges}\n`);
    return;
  }
  const far = farOutside(rows, ranges);
  if (far.length === 0) return;
  const shown = 10;
  const rowsHit = new Set(far.map((f) => f.row)).size;
  const name = (row: number) => (rows.ids ? `row ${row} (${rows.ids.name} ${rows.ids.values[row - 1]})` : `row ${row}`);
  ctx.stderr.write(
    `warning: ${label}: ${rowsHit} of ${rows.n} rows have values far outside the training range ` +
      `(beyond its min or max by more than ${FAR_FRACTION * 100}% of its width); their predictions are extrapolations:\n` +
      far
        .slice(0, shown)
        .map((f) => `  ${name(f.row)}: ${f.feature} ${num(f.value)} (trained on ${num(f.min)} to ${num(f.max)})\n`)
        .join('') +
      (far.length > shown ? `  … and ${far.length - shown} more\n` : ''),
  );
}

async function predictTestSet(ctx: CommandContext, model: Awaited<ReturnType<typeof readModel>>, opts: Options): Promise<number> {
  const ws = (p: string) => path.join(ctx.workspace, p);
  const testFile = ws(PATHS.test);
  const test = await readDataset(testFile).catch((err: Error) => {
    throw new ArtifactError(`${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `${testFile} does not exist` : err.message}; run \`npx pipeline run\` first`);
  });
  checkCompatible(model, test, testFile);
  const dirs = await quantDirs(ctx.workspace);
  if (dirs.size === 0) throw new ArtifactError(`${ws('build/quant')} holds no quantized model; run \`npx pipeline run\` first`);
  const quants = await readQuantModels(dirs).catch((err: Error) => {
    throw new ArtifactError(err.message);
  });
  const ev = evaluateAll(test, model, quants, true);
  ctx.stdout.write(`test set, ${test.n} rows (-dq: dequantized weights in float):\n${metricsTable(ev)}\n\nfirst 10 rows:\n${firstRowsTable(ev, 10)}\n`);
  if (opts.output) {
    await writeFileAtomic(path.resolve(opts.output), predictionsCsv(ev));
    ctx.stderr.write(`wrote ${test.n} rows of predictions to ${opts.output}\n`);
  }
  return 0;
}

/** `float` → undefined, `q<bits>` → its width, anything else → null. */
function modelBits(model: string): Bits | undefined | null {
  if (model === 'float') return undefined;
  const m = /^q([0-9]+)$/.exec(model);
  const bits = m ? Number(m[1]) : undefined;
  return isBits(bits) ? bits : null;
}

/** The quantized models' folders in the workspace (`build/quant/q<bits>`), by width. */
async function quantDirs(workspace: string): Promise<Map<Bits, string>> {
  const entries = await readdir(path.join(workspace, 'build/quant'), { withFileTypes: true }).catch(() => []);
  const dirs = new Map<Bits, string>();
  for (const e of entries) {
    const bits = e.isDirectory() ? quantDirBits(`build/quant/${e.name}`) : undefined;
    if (bits !== undefined) dirs.set(bits, path.join(workspace, 'build/quant', e.name));
  }
  return new Map([...dirs].sort(([a], [b]) => a - b));
}

/** The quantized model `q<bits>` of `scheme`, built in the workspace, with `p` weights. */
async function readQuantized(workspace: string, bits: Bits, scheme: (typeof SCHEMES)[number], p: number): Promise<QuantModel> {
  const file = path.join(workspace, PATHS.quantFile(bits, scheme, 'bin'));
  const bytes = await readFile(file).catch(async () => {
    const built = [...(await quantDirs(workspace)).keys()].map((b) => `q${b}`);
    throw new ArtifactError(
      built.length > 0
        ? `${file} does not exist; the quantized models built here are ${built.join(', ')}: add ${bits} to \`bits\` in the quantize template's \`matrix:\` in pipeline.yaml and run \`npx pipeline run\``
        : `${file} does not exist; run \`npx pipeline run\` first to build the quantized models`,
    );
  });
  const q = unpackQuant(bytes, file);
  if (q.q.length !== p) throw new ArtifactError(`${file} has ${q.q.length} weights for ${p} features; rebuild with \`npx pipeline run\``);
  return q;
}
