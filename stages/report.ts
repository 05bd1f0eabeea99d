// `pipeline report [--out DIR]`: the HTML report of the last pipeline run (metrics, compare table, plots, the
// experiments and the provenance of the numbers, DAG, run stages) as one self-contained page, plus PNG copies of the plots for the README.
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { CommandError, ExitCode, type CommandContext, type CommandFunction } from 'pipeline-dag/command';
import { renderDagSvg } from 'pipeline-dag/report';
import { writeFileAtomic } from './lib/atomic.js';
import { baseConfig, coefficientsSpec, errorDistributionSpec, predictedVsActualSpec, renderSvg, svgToPng } from './lib/plots.js';
import { experimentsHtml, experimentsSpec, loadExperiments } from './lib/report-experiments.js';
import { escapeHtml, renderReportHtml } from './lib/report-html.js';
import { loadReportInputs } from './lib/report-inputs.js';

/** Width in pixels of the README's PNG copies (about 1.6× the SVG size, sharp on high-density screens). */
export const PNG_WIDTH = { 'predicted-vs-actual': 800, 'error-distribution': 1300, coefficients: 1100 } as const;

export interface ReportResult {
  /** Files written, absolute. */
  files: string[];
}

/** Build the report for the workspace `root` into `outDir` (absolute). Throws CommandError on missing/bad inputs. */
export async function buildReport(root: string, outDir: string): Promise<ReportResult> {
  const inputs = loadReportInputs(root);
  const coefficientSets = [
    { model: 'float', coefficients: inputs.model.coefficients },
    ...inputs.quantized.map((q) => ({ model: q.key, coefficients: q.coefficients })),
  ];
  const statusByStage = Object.fromEntries(
    inputs.lastRun.stages.map((s) => [s.name, { status: s.status, durationMs: s.durationMs }]),
  );
  const [predictedVsActual, errorDistribution, coefficients, dag] = await Promise.all([
    renderSvg(predictedVsActualSpec(inputs.predictions)),
    renderSvg(errorDistributionSpec(inputs.predictions)),
    renderSvg(coefficientsSpec(inputs.model.features, coefficientSets)),
    renderDagSvg(inputs.lastRun.dag.nodes, inputs.lastRun.dag.edges, statusByStage),
  ]);
  const experiments = loadExperiments(root);
  const experimentsSvg = experiments.length > 0 ? await renderSvg(experimentsSpec(experiments, baseConfig)) : undefined;
  const section = experimentsHtml(experiments, experimentsSvg, escapeHtml);
  const html = renderReportHtml(inputs, { predictedVsActual, errorDistribution, coefficients, dag }, section);
  const pngs: [string, Buffer][] = [
    ['predicted-vs-actual.png', svgToPng(predictedVsActual, PNG_WIDTH['predicted-vs-actual'])],
    ['error-distribution.png', svgToPng(errorDistribution, PNG_WIDTH['error-distribution'])],
    ['coefficients.png', svgToPng(coefficients, PNG_WIDTH.coefficients)],
  ];
  // Everything is rendered before the first write: a failure above leaves the output folder untouched.
  const files: string[] = [];
  for (const [name, png] of pngs) {
    const file = path.join(outDir, 'plots', name);
    await writeFileAtomic(file, png);
    files.push(file);
  }
  const index = path.join(outDir, 'index.html');
  await writeFileAtomic(index, html);
  files.push(index);
  return { files };
}

function program(ctx: CommandContext): Command {
  return new Command('pipeline report')
    .description('Write the HTML report of the last run (metrics, compare table, plots, DAG, stages) and PNG copies of the plots.')
    .option('--out <dir>', 'output folder, relative to the workspace', 'reports')
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(false)
    .showHelpAfterError('(run `pipeline report --help` for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
    });
}

const report: CommandFunction = async (ctx) => {
  const cmd = program(ctx);
  try {
    cmd.parse(ctx.argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? ExitCode.ok : ExitCode.usage;
    }
    throw err;
  }
  const { out } = cmd.opts<{ out: string }>();
  const outDir = path.resolve(ctx.workspace, out);
  try {
    const { files } = await buildReport(ctx.workspace, outDir);
    const rel = (f: string) => path.relative(ctx.workspace, f) || f;
    ctx.stdout.write(`report: ${rel(files[files.length - 1])}\n`);
    ctx.stdout.write(`plots:  ${files.slice(0, -1).map(rel).join(', ')}\n`);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommandError) {
      ctx.stderr.write(`pipeline report: ${err.message}\n${err.hint ? `${err.hint}\n` : ''}`);
      return err.exitCode;
    }
    throw err;
  }
};

export default report;
