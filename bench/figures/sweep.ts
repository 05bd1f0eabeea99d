// A 12-variant sweep: `pipeline exp run --grid gate.r2_min=… (6 values) --grid quantize.bias_correction=true,false`
// over the real pipeline (both bit widths in every variant), cold (empty store, no outs), with the count of stage
// executions; the same sweep over the same 7-stage shape with trivial commands, next to Snakemake running the same 12
// variants through wildcards in one run; and `exp show` answering over 1,000 recorded experiments.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineCmd, realSource, realWorkspace, resetPipeline, snakemakeCmd, emptyDir, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { exec, repeat, type Outcome } from '../measure.js';
import { timePeer } from '../floors.js';

const R2 = ['0.05', '0.1', '0.2', '0.3', '0.4', '0.5'];
const BIAS = ['true', 'false'];
const GRID = ['--grid', `gate.r2_min=${R2.join(',')}`, '--grid', `quantize.bias_correction=${BIAS.join(',')}`];
const VARIANTS = R2.length * BIAS.length;
/** The jobs Snakemake runs for the sweep: load and train once, gate per r2_min, quantize per r2_min × bias × bits, compare and predict per variant. */
const SNAKEMAKE_JOBS = 2 + R2.length + R2.length * BIAS.length * 2 + VARIANTS * 2;

// Every stage writes its name and params into its out, so a variant's outs differ wherever its params do.
const write = (out: string) => `mkdir -p out && echo "$PIPELINE_STAGE $PIPELINE_PARAMS" > ${out}`;
const stage = (name: string, needs: string[], extra = '') =>
  `  ${name}:\n    cmd: '${write(`out/${name}.txt`)}'\n    shell: true\n${needs.length ? `    needs: [${needs.join(', ')}]\n` : ''}${extra}    outs: [out/${name}.txt]\n`;
export const SHAPE_YAML = `version: 1
stages:
${stage('load', [])}${stage('train', ['load'])}${stage('gate', ['train', 'load'], '    params: {r2_min: 0.5}\n')}  quantize:
    matrix: {bits: [8, 16]}
    name: quantize-\${bits}
    cmd: '${write('out/q${bits}.txt')}'
    shell: true
    needs: [gate, train, load]
    params: {bias_correction: true}
    outs: ["out/q\${bits}.txt"]
${stage('compare', ['load', 'train', 'quantize'])}${stage('predict', ['load', 'train', 'quantize'])}`;

// The same DAG for Snakemake: load and train once, gate per r2, the rest per (r2, bias), quantize per bit width too.
const SNAKEFILE = `R2 = ${JSON.stringify(R2)}
BIAS = ${JSON.stringify(BIAS)}
rule all:
    input: expand("out/{r2}/{bias}/compare.txt", r2=R2, bias=BIAS), expand("out/{r2}/{bias}/predict.txt", r2=R2, bias=BIAS)
rule load:
    output: "out/load.txt"
    shell: "echo load > {output}"
rule train:
    input: "out/load.txt"
    output: "out/train.txt"
    shell: "echo train > {output}"
rule gate:
    input: "out/train.txt", "out/load.txt"
    output: "out/{r2}/gate.txt"
    shell: "echo gate {wildcards.r2} > {output}"
rule quantize:
    input: "out/{r2}/gate.txt", "out/train.txt", "out/load.txt"
    output: "out/{r2}/{bias}/q{bits}.txt"
    shell: "echo quantize {wildcards.r2} {wildcards.bias} {wildcards.bits} > {output}"
rule compare:
    input: "out/load.txt", "out/train.txt", "out/{r2}/{bias}/q8.txt", "out/{r2}/{bias}/q16.txt"
    output: "out/{r2}/{bias}/compare.txt"
    shell: "echo compare {wildcards.r2} {wildcards.bias} > {output}"
rule predict:
    input: "out/load.txt", "out/train.txt", "out/{r2}/{bias}/q8.txt", "out/{r2}/{bias}/q16.txt"
    output: "out/{r2}/{bias}/predict.txt"
    shell: "echo predict {wildcards.r2} {wildcards.bias} > {output}"
`;

interface SweepJson {
  executions: number;
  experiments: { status: string; stages: { name: string; outcome: string }[] }[];
}

/** Checks a sweep's --json: every variant ok, and returns how many times each stage executed in all. */
function sweepOf(o: Outcome, what: string): { executions: number; ran: Map<string, number> } {
  const doc = JSON.parse(o.stdout) as SweepJson;
  if (doc.experiments.length !== VARIANTS || doc.experiments.some((e) => e.status !== 'ok')) throw new Error(`${what}: expected ${VARIANTS} ok variants, got ${o.stdout.slice(0, 300)}`);
  const ran = new Map<string, number>();
  for (const e of doc.experiments) for (const s of e.stages) if (s.outcome === 'ran') ran.set(s.name, (ran.get(s.name) ?? 0) + 1);
  return { executions: doc.executions, ran };
}

const reset = (dir: string) => () => {
  resetPipeline(dir, ['build', 'out']);
};

export function sweepFigure(ctx: BenchContext): Figure {
  const f = newFigure(`A ${VARIANTS}-variant sweep (\`pipeline exp run\`), cold`);
  const real = realWorkspace(ctx, 'sweep-real');
  let realRuns: ReturnType<typeof sweepOf> | undefined;
  const r = repeat(() => pipelineCmd(ctx, real, ['exp', 'run', '--json', ...GRID, ...realSource(ctx)]), {
    runs: ctx.runs,
    before: reset(real),
    check: (o) => (realRuns = sweepOf(o, 'real sweep')),
  });
  f.rows.push({ label: `pipeline exp run, real pipeline, ${VARIANTS} variants × 7 stages`, unit: 'ms', stats: r.ms });
  const shared = ['load', 'train'].map((s) => `${s} ×${realRuns!.ran.get(s) ?? 0}`).join(', ');
  f.rows.push({ label: '  stage executions in all (real pipeline)', unit: '', value: realRuns!.executions });
  f.checks.push({ what: 'upstream stages shared by every variant (load, train) executed once', ok: realRuns!.ran.get('load') === 1 && realRuns!.ran.get('train') === 1, detail: `${shared}; ${realRuns!.executions} executions for ${VARIANTS * 7} stage results` });

  const shape = path.join(ctx.tmp, 'sweep-shape');
  mkdirSync(shape, { recursive: true });
  writeFileSync(path.join(shape, 'pipeline.yaml'), SHAPE_YAML);
  let shapeRuns: ReturnType<typeof sweepOf> | undefined;
  const s = repeat(() => pipelineCmd(ctx, shape, ['exp', 'run', '--json', ...GRID]), { runs: ctx.runs, before: reset(shape), check: (o) => (shapeRuns = sweepOf(o, 'shape sweep')) });
  f.rows.push({ label: `pipeline exp run, same shape with trivial commands`, unit: 'ms', stats: s.ms });
  f.rows.push({ label: '  stage executions in all (same shape)', unit: '', value: shapeRuns!.executions });

  if (ctx.peers.snakemake.version) {
    const sm = path.join(ctx.tmp, 'sweep-snakemake');
    mkdirSync(path.join(sm, 'out'), { recursive: true });
    writeFileSync(path.join(sm, 'Snakefile'), SNAKEFILE);
    const peer = timePeer(f, ctx, 'snakemake', () => repeat(() => snakemakeCmd(sm, []), { runs: ctx.runs, before: () => emptyDir(path.join(sm, 'out')) }), SNAKEMAKE_JOBS);
    f.rows.push({ label: `snakemake, the same ${VARIANTS} variants through wildcards in one run`, unit: 'ms', stats: peer.ms });
    if (peer.sane) {
      const ratio = s.ms.median / peer.ms.median;
      f.rows.push({ label: 'ratio pipeline (same shape) / snakemake', unit: '×', value: ratio });
      f.rows.push({ label: 'ratio pipeline (real) / snakemake', unit: '×', value: r.ms.median / peer.ms.median });
      f.targets.push({ what: `${VARIANTS}-variant sweep / snakemake wildcards`, value: ratio, limit: 0.3, dir: 'max', unit: '×' });
    }
  } else {
    f.notes.push(`snakemake not measured: ${ctx.peers.snakemake.skipped}`);
  }
  f.notes.push(
    `Grid: ${GRID.slice(1).filter((_, i) => i % 2 === 0).join(' and ')}, both bit widths in every variant (the quantize template). ` +
      'Before every repetition each workspace loses `.pipeline/` (store, records) and its outs: the sweep starts cold. ' +
      'Stage executions come from `exp run --json` (`executions`: a fingerprint several variants share executes once). ' +
      'In the trivial shape every stage writes its name and params into its out; Snakemake runs 56 jobs (load and train once, gate per ' +
      'r2_min, quantize per r2_min × bias × bits, compare and predict per variant). The pipeline executes fewer: a quantize out is the same ' +
      'bytes whatever r2_min, so compare and predict of two variants with the same bias have one fingerprint and execute once.',
  );
  return f;
}

export function expShowFigure(ctx: BenchContext): Figure {
  const f = newFigure('`pipeline exp show` over 1,000 recorded experiments');
  const real = realWorkspace(ctx, 'show-real');
  exec(pipelineCmd(ctx, real, ['exp', 'run', '--name', 'seed', ...realSource(ctx)]));
  const dir = path.join(real, '.pipeline', 'experiments');
  const seed = JSON.parse(readFileSync(path.join(dir, 'seed.json'), 'utf8')) as { params: Record<string, unknown> };
  for (let i = 0; i < 999; i++) {
    const name = `bulk-${i}`;
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ ...seed, name, params: { ...seed.params, 'gate.r2_min': i / 1000 }, changed: { 'gate.r2_min': i / 1000 } }));
  }
  const count = readdirSync(dir).filter((n) => n.endsWith('.json')).length;
  // The table index trusts no file changed within the last 2 s (the racy window): wait that out, as a user's
  // records are older than that by the time they are compared.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2100);
  const index = path.join(dir, '.table-index');
  const kept = path.join(dir, '.show-output');
  const version = repeat(() => pipelineCmd(ctx, real, ['--version']), { runs: ctx.runs });
  f.rows.push({ label: '`pipeline --version` (Node start and the CLI, nothing else), same run', unit: 'ms', stats: version.ms });
  for (const format of [[], ['--json'], ['--csv']]) {
    const show = () => pipelineCmd(ctx, real, ['exp', 'show', ...format]);
    const cold = repeat(show, { runs: ctx.runs, before: () => [index, kept].forEach((p) => rmSync(p, { force: true })) });
    const indexed = repeat(show, { runs: ctx.runs, before: () => rmSync(kept, { force: true }) });
    const t = repeat(show, { runs: ctx.runs });
    if (t.last.stdout !== cold.last.stdout || indexed.last.stdout !== cold.last.stdout) throw new Error(`exp show ${format.join(' ')}: the output through the index or kept differs from the records'`);
    const what = `exp show ${format.join(' ') || '(table)'}, ${count} experiments + the workspace`;
    f.rows.push({ label: `${what}, nothing kept (every record read)`, unit: 'ms', stats: cold.ms });
    f.rows.push({ label: `${what}, first after a change (through the table index)`, unit: 'ms', stats: indexed.ms });
    f.rows.push({ label: `${what}, nothing changed since the last (its output kept)`, unit: 'ms', stats: t.ms });
    if (format.length === 0) {
      f.targets.push({ what: 'exp show over 1,000 experiments', value: t.ms.median / 1000, limit: 0.3, dir: 'max', unit: 's' });
      f.notes.push(`exp show (table) / pipeline --version: ${(t.ms.median / version.ms.median).toFixed(2)}x repeated, ${(indexed.ms.median / version.ms.median).toFixed(2)}x first after a change, medians of the same run.`);
    }
  }
  f.notes.push('999 copies of one real record (each with its own `gate.r2_min`) beside it: one JSON file per experiment, as `exp run` writes them. Wall time of the whole command, Node start included. "Nothing kept": the table index and the kept output removed before each run (every record read and checked, both rewritten); "first after a change": only the kept output removed (the rows come from the table index, the table is built); "nothing changed": the output kept by the last show, found by a readdir and a stat per record.');
  rmSync(dir, { recursive: true, force: true });
  return f;
}
