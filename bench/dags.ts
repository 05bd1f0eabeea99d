// Equivalent DAGs for every tool: the same stages, the same edges, the same trivial command per stage
// (`echo NAME > out/NAME.txt` through a shell), written as pipeline.yaml, a Snakefile and a Makefile.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface DagStage {
  name: string;
  needs: string[];
}

export interface Dag {
  title: string;
  stages: DagStage[];
}

/** The shape of the real pipeline: load → train → gate → quantize-8 / quantize-16 → compare → predict. */
export function housingShape(): Dag {
  return {
    title: '7-stage housing shape',
    stages: [
      { name: 'load', needs: [] },
      { name: 'train', needs: ['load'] },
      { name: 'gate', needs: ['train', 'load'] },
      { name: 'quantize-8', needs: ['gate', 'train', 'load'] },
      { name: 'quantize-16', needs: ['gate', 'train', 'load'] },
      { name: 'compare', needs: ['load', 'train', 'quantize-8', 'quantize-16'] },
      { name: 'predict', needs: ['load', 'train', 'quantize-8', 'quantize-16'] },
    ],
  };
}

/**
 * `n` stages in blocks: a hub fans out to `width` parallel chains of `depth` stages, which fan back in to the
 * next hub. 1,000 stages: width 32, 8 blocks, 40 levels deep; 10,000: width 100, 25 blocks, 125 levels.
 */
export function synthetic(n: number, depth = 4): Dag {
  const width = Math.max(2, Math.round(Math.sqrt(n)));
  const stages: DagStage[] = [];
  const push = (needs: string[]): string | undefined => {
    if (stages.length >= n) return undefined;
    const name = `s${stages.length}`;
    stages.push({ name, needs });
    return name;
  };
  let hub = push([])!;
  while (stages.length < n) {
    let layer: string[] = [];
    for (let k = 0; k < depth; k++) {
      const next: string[] = [];
      for (let i = 0; i < width; i++) {
        const name = push([k === 0 ? hub : layer[i]].filter((x) => x !== undefined));
        if (name) next.push(name);
      }
      if (next.length === 0) break;
      layer = next;
    }
    const joined = push(layer);
    if (!joined) break;
    hub = joined;
  }
  return { title: `${n.toLocaleString('en-US')}-stage synthetic DAG`, stages };
}

export const outOf = (name: string): string => `out/${name}.txt`;
const ruleOf = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, '_');

/** Stages that nothing needs: the targets of `make all` / `rule all`. */
export function sinks(dag: Dag): string[] {
  const needed = new Set(dag.stages.flatMap((s) => s.needs));
  return dag.stages.filter((s) => !needed.has(s.name)).map((s) => s.name);
}

/** pipeline.yaml: shell `cmd:` stages; every stage gets a `seed` param through the global params. */
export function pipelineYaml(dag: Dag, opts: { cmd?: (s: DagStage) => string } = {}): string {
  const lines = ['version: 1', 'params:', '  seed: 42', 'stages:'];
  for (const s of dag.stages) {
    lines.push(`  ${s.name}:`);
    lines.push(`    cmd: ${JSON.stringify(opts.cmd?.(s) ?? `echo ${s.name} > ${outOf(s.name)}`)}`);
    lines.push('    shell: true');
    if (s.needs.length) lines.push(`    needs: [${s.needs.join(', ')}]`);
    lines.push(`    outs: [${outOf(s.name)}]`);
  }
  return `${lines.join('\n')}\n`;
}

/** Snakefile, one explicit rule per stage (small DAGs; `snakemake -f RULE` names them). */
export function snakefileExplicit(dag: Dag): string {
  const q = (s: string) => JSON.stringify(s);
  const parts = [`rule all:\n    input: ${sinks(dag).map((s) => q(outOf(s))).join(', ')}\n`];
  for (const s of dag.stages) {
    let r = `rule ${ruleOf(s.name)}:\n`;
    if (s.needs.length) r += `    input: ${s.needs.map((d) => q(outOf(d))).join(', ')}\n`;
    r += `    output: ${q(outOf(s.name))}\n    shell: "echo ${s.name} > {output}"\n`;
    parts.push(r);
  }
  return parts.join('\n');
}

/**
 * Snakefile for large DAGs, as a Snakemake user writes one: a single wildcard rule whose inputs come from a
 * table. The job graph is the same as with one rule per stage, and Snakemake parses it much faster.
 */
export function snakefileTable(dag: Dag): string {
  const deps = Object.fromEntries(dag.stages.map((s) => [s.name, s.needs]));
  return [
    `DEPS = ${JSON.stringify(deps)}`,
    '',
    'rule all:',
    `    input: ${JSON.stringify(sinks(dag).map(outOf))}`,
    '',
    'rule stage:',
    '    output: "out/{name}.txt"',
    '    input: lambda w: ["out/%s.txt" % d for d in DEPS[w.name]]',
    '    shell: "echo {wildcards.name} > {output}"',
    '',
  ].join('\n');
}

export function makefile(dag: Dag): string {
  const lines = ['.PHONY: all', `all: ${sinks(dag).map(outOf).join(' ')}`, ''];
  for (const s of dag.stages) {
    lines.push(`${outOf(s.name)}: ${s.needs.map(outOf).join(' ')}`.trimEnd());
    lines.push(`\techo ${s.name} > $@`);
  }
  return `${lines.join('\n')}\n`;
}

export interface DagDirs {
  pipeline: string;
  snakemake: string;
  make: string;
}

/** Writes the three equivalent projects under `base`. Make and Snakemake get an `out/` folder ready. */
export function writeDag(base: string, dag: Dag, opts: { snakefile?: 'explicit' | 'table' } = {}): DagDirs {
  const dirs: DagDirs = { pipeline: path.join(base, 'pipeline'), snakemake: path.join(base, 'snakemake'), make: path.join(base, 'make') };
  for (const d of [dirs.pipeline, dirs.snakemake, dirs.make]) mkdirSync(path.join(d, 'out'), { recursive: true });
  writeFileSync(path.join(dirs.pipeline, 'pipeline.yaml'), pipelineYaml(dag));
  const style = opts.snakefile ?? (dag.stages.length > 50 ? 'table' : 'explicit');
  writeFileSync(path.join(dirs.snakemake, 'Snakefile'), style === 'table' ? snakefileTable(dag) : snakefileExplicit(dag));
  writeFileSync(path.join(dirs.make, 'Makefile'), makefile(dag));
  return dirs;
}

export { ruleOf };
