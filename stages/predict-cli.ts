// `pipeline predict [--model float|q8|q16] [--scheme minmax|pow2] [--input rows.csv|rows.json|-] [--output FILE]
// [--format csv|json]`: score new rows with the trained model, or without --input predict the test set like the
// predict stage (metrics and the first 10 rows). Exit codes: 0 ok, 2 bad usage, bad rows or missing artifacts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { CommandContext } from 'pipeline-dag/command';
import { PATHS } from './lib/artifacts.js';
import { writeFileAtomic } from './lib/atomic.js';
import { readDataset } from './lib/dataset.js';
import { checkCompatible, evaluateAll, firstRowsTable, metricsTable, predictionsCsv, readQuantModels } from './lib/evaluate.js';
import { ModelError, readModel } from './lib/model.js';
import { predictLinear } from './lib/ols.js';
import { predictQuantized, SCHEMES, unpackQuant, type Bits } from './lib/quant.js';
import { detectFormat, formatPredictions, parseRows, RowError, type RowFormat } from './lib/rows.js';

const USAGE_EXIT = 2;

/** A missing or damaged artifact: the pipeline has to run first. */
class ArtifactError extends Error {}

interface Options {
  model: 'float' | 'q8' | 'q16';
  scheme: (typeof SCHEMES)[number];
  input?: string;
  output?: string;
  format?: RowFormat;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export default async function predictCommand(ctx: CommandContext): Promise<number> {
  const program = new Command('pipeline predict')
    .description('Score rows with the trained model (the 8 feature columns by name), or predict the test set without --input')
    .addOption(new Option('--model <model>', 'which model').choices(['float', 'q8', 'q16']).default('float'))
    .addOption(new Option('--scheme <scheme>', 'quantization scheme of q8/q16').choices([...SCHEMES]).default('pow2'))
    .option('--input <file>', 'rows to score: a .csv with a header, a .json array of objects, or - for stdin')
    .option('--output <file>', 'write the predictions to FILE instead of stdout')
    .addOption(new Option('--format <format>', 'output format (default: from --output, else csv)').choices(['csv', 'json']))
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
  if (opts.model === 'float' && program.getOptionValueSource('scheme') === 'cli') {
    return fail('--scheme applies to --model q8 or q16, not to the float model');
  }
  const ws = (p: string) => path.join(ctx.workspace, p);
  try {
    const model = await readModel(ws(PATHS.model));
    if (opts.input === undefined) return await predictTestSet(ctx, model, opts);

    let predict: (X: Float64Array, n: number) => Float64Array;
    if (opts.model === 'float') {
      predict = (X, n) => predictLinear(X, n, model.features.length, model.coefficients, model.intercept);
    } else {
      const bits: Bits = opts.model === 'q8' ? 8 : 16;
      const file = ws(PATHS.quantFile(bits, opts.scheme, 'bin'));
      const bytes = await readFile(file).catch(() => {
        throw new ArtifactError(`${file} does not exist; run \`npx pipeline run\` first to build the quantized models`);
      });
      const q = unpackQuant(bytes, file);
      if (q.q.length !== model.features.length) throw new ArtifactError(`${file} has ${q.q.length} weights for ${model.features.length} features; rebuild with \`npx pipeline run\``);
      predict = (X, n) => predictQuantized(q, X, n, model.features.length);
    }

    const fromStdin = opts.input === '-';
    const inputFile = fromStdin ? undefined : path.resolve(opts.input);
    const text = fromStdin ? await readAll(ctx.stdin) : await readFile(inputFile!, 'utf8').catch(() => {
      throw new RowError(`--input ${opts.input}: cannot read ${inputFile}`);
    });
    const label = fromStdin ? '<stdin>' : opts.input;
    const rows = parseRows(text, model.features, label, detectFormat(inputFile, text));
    const pred = predict(rows.X, rows.n);
    const format: RowFormat = opts.format ?? (opts.output && /\.json$/i.test(opts.output) ? 'json' : 'csv');
    const out = formatPredictions(pred, format);
    if (opts.output) {
      await writeFileAtomic(path.resolve(opts.output), out);
      ctx.stderr.write(`wrote ${rows.n} predictions (${opts.model}${opts.model === 'float' ? '' : ` ${opts.scheme}`}) to ${opts.output}\n`);
    } else {
      ctx.stdout.write(out);
    }
    return 0;
  } catch (err) {
    if (err instanceof RowError || err instanceof ArtifactError || err instanceof ModelError) return fail((err as Error).message);
    throw err;
  }
}


async function predictTestSet(ctx: CommandContext, model: Awaited<ReturnType<typeof readModel>>, opts: Options): Promise<number> {
  const ws = (p: string) => path.join(ctx.workspace, p);
  const testFile = ws(PATHS.test);
  const test = await readDataset(testFile).catch((err: Error) => {
    throw new ArtifactError(`${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `${testFile} does not exist` : err.message}; run \`npx pipeline run\` first`);
  });
  checkCompatible(model, test, testFile);
  const quants = await readQuantModels({ 8: ws(PATHS.quantDir(8)), 16: ws(PATHS.quantDir(16)) }).catch((err: Error) => {
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
