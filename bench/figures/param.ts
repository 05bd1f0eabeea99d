// One param of `quantize-8` changed → run: only the affected stage executes. Next to `snakemake -f quantize_8`.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isScalar, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { pipelineCmd, realSource, realWorkspace, snakemakeCmd, type BenchContext } from '../context.js';
import { housingShape, writeDag } from '../dags.js';
import { newFigure, type Figure } from '../figure.js';
import { exec, repeat, type Outcome, type Repeated } from '../measure.js';
import { byStatus } from './run-json.js';
import { timePeer } from '../floors.js';

function onlyQuantize8(what: string, seen: string[]): (o: Outcome) => void {
  return (o) => {
    const s = byStatus(o.stdout);
    const ran = s.ran ?? [];
    const others = Object.entries(s).filter(([k]) => k !== 'ran' && k !== 'cached');
    if (ran.length !== 1 || ran[0] !== 'quantize-8' || others.length) {
      throw new Error(`${what}: expected only quantize-8 to run and every other stage cached, got ${JSON.stringify(s)}`);
    }
    seen.push(`${what}: ran [${ran.join(', ')}], cached [${(s.cached ?? []).join(', ')}]`);
  };
}

/**
 * Replaces a one-key template with a `name:` pattern (`quantize`, `bits: [8, 16]`, `quantize-${bits}`) by the plain
 * stages it expands to, in its place; nothing to do once done.
 */
function expandTemplate(doc: Document, template: string): void {
  const stages = doc.get('stages') as YAMLMap;
  const at = stages.items.findIndex((p) => isScalar(p.key) && p.key.value === template);
  if (at < 0) return;
  const { matrix, name, outs, ...rest } = (stages.items[at].value as YAMLMap).toJSON() as { matrix: Record<string, unknown[]>; name: string; outs: string[]; params?: object };
  const [[key, values]] = Object.entries(matrix);
  const fill = (text: string, v: unknown) => text.split(`\${${key}}`).join(String(v));
  const names = values.map((v) => fill(name, v));
  const expanded = values.map((v, i) => doc.createPair(names[i], { ...rest, params: { ...rest.params, [key]: v }, outs: outs.map((o) => fill(o, v)) }));
  stages.items.splice(at, 1, ...expanded);
  // A stage that needs the template needs every expansion.
  for (const pair of stages.items) {
    const needs = (pair.value as YAMLMap).get('needs') as YAMLSeq | undefined;
    if (!needs || !isSeq(needs)) continue;
    const list = needs.toJSON() as string[];
    if (list.includes(template)) (pair.value as YAMLMap).set('needs', doc.createNode(list.flatMap((n) => (n === template ? names : [n]))));
  }
}

export function paramFigure(ctx: BenchContext): Figure {
  const f = newFigure('One param of `quantize-8` changed → run');
  const runs = ctx.runs;
  const seen: string[] = [];
  // A value never used before in each repetition (a value seen before would be restored from the run-cache): a
  // declared env entry of `quantize-8`, part of its fingerprint, that the stage does not read. An entry of the
  // `quantize` template would reach both expansions, so the bench's copy writes the template out as the stages it
  // expands to (same modules, params, needs and outs: the same fingerprints) and sets the entry on one.
  const mark = (dir: string) => (i: number) => {
    const file = path.join(dir, 'pipeline.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    expandTemplate(doc, 'quantize');
    doc.setIn(['stages', 'quantize-8', 'env', 'BENCH_REPETITION'], String(1000 + i));
    writeFileSync(file, doc.toString());
  };
  // The trivial-stage shape's cmd stages declare no `uses:`, so they take every param: a new global `seed` does it.
  const seed = (i: number) => ['--set', `quantize-8.seed=${1000 + i}`];

  const real = realWorkspace(ctx, 'param-real');
  exec(pipelineCmd(ctx, real, ['run', '-q', ...realSource(ctx)]));
  const r = repeat(() => pipelineCmd(ctx, real, ['run', '--json', ...realSource(ctx)]), {
    runs,
    before: mark(real),
    check: onlyQuantize8('real pipeline', seen),
  });
  f.rows.push({ label: 'pipeline, real pipeline', unit: 'ms', stats: r.ms });
  f.checks.push({ what: 'only `quantize-8` executed, the other 6 stages cached (every repetition, from run --json)', ok: true, detail: seen[seen.length - 1] });

  const dirs = writeDag(path.join(ctx.tmp, 'param-shape'), housingShape());
  let shape: Repeated | undefined;
  if (!ctx.quick) {
    exec(pipelineCmd(ctx, dirs.pipeline, ['run', '-q']));
    shape = repeat((i) => pipelineCmd(ctx, dirs.pipeline, ['run', '--json', ...seed(i)]), {
      runs,
      check: onlyQuantize8('same shape', seen),
    });
    f.rows.push({ label: 'pipeline, same shape with trivial commands', unit: 'ms', stats: shape.ms });
  }

  if (ctx.peers.snakemake.version) {
    exec(snakemakeCmd(dirs.snakemake, []));
    const sm = timePeer(f, ctx, 'snakemake', () => repeat(() => snakemakeCmd(dirs.snakemake, ['-f', 'quantize_8']), { runs }));
    f.rows.push({ label: 'snakemake -f quantize_8, same shape', unit: 'ms', stats: sm.ms });
    if (sm.sane) {
      const ratio = r.ms.median / sm.ms.median;
      f.rows.push({ label: 'ratio pipeline (real) / snakemake', unit: '×', value: ratio });
      if (shape) f.rows.push({ label: 'ratio pipeline (same shape) / snakemake', unit: '×', value: shape.ms.median / sm.ms.median });
      f.targets.push({ what: 'real param change / snakemake forced rule', value: ratio, limit: 0.3, dir: 'max', unit: '×' });
    }
  } else {
    f.notes.push(`snakemake not measured: ${ctx.peers.snakemake.skipped}`);
  }
  f.notes.push(
    'Each repetition of the real pipeline sets a declared env entry of `quantize-8` (`BENCH_REPETITION: N`, part of its ' +
      'fingerprint) to an N never used before, so the stage executes (a value seen before would be restored from the ' +
      'run-cache without executing); the trivial shape sets `--set quantize-8.seed=N`. The stage reads neither, so its outputs come out byte-identical and ' +
      '`compare` and `predict` stay cached by early cutoff. `quantize-8`\'s only own param, `bits`, also names its output ' +
      'folder, so it cannot change without changing the outs.',
  );
  return f;
}
