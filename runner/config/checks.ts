// Checks across stages: no two stages write the same path and no out lies inside another; `needs` form no cycle;
// a dep (a path or a glob) written by another stage comes from a stage it needs. And the workspace commands.
// Every problem is reported with the other place involved as a related location.
import { Dag } from '../core/dag.js';
import { diagnostic, related, type RelatedLocation } from '../core/diagnostic.js';
import { BUILTIN_COMMANDS, type RawPipeline } from './schema.js';
import { entryPath, list, type CheckContext } from './check-context.js';
import type { BuiltStage } from './stage.js';
import { checkFile, normalizePath } from './workspace-paths.js';
import type { StageConfig } from './types.js';
import { isGlobPattern } from '../core/paths.js';
import { OutIndex } from './producers.js';
import type { StageNames } from './stage-names.js';

/** Range of entry `i` (its index in the file) of a stage's list field. */
function entryRange(ctx: CheckContext, raw: RawPipeline, stage: string, field: 'deps' | 'outs' | 'needs', i: number) {
  return ctx.src.valueRange(entryPath(stage, field, raw.stages[stage][field], i));
}

const SIBLINGS_HINT = "each expansion of a template writes outs of its own: put the matrix keys in the paths, e.g. `outs: [build/q${bits}]`";

/** No two stages write the same path, and no out lies inside another out (same stage or not). */
export function checkOuts(ctx: CheckContext, raw: RawPipeline, built: BuiltStage[]): void {
  type Owner = { stage: string; out: string; index: number };
  const owner = new Map<string, Owner>();
  const dirs = new Map<string, Owner>(); // proper ancestors of outs
  const hint = 'outs may not overlap: each file or folder out belongs to one stage as a whole';
  const at = (o: Owner) => entryRange(ctx, raw, o.stage, 'outs', o.index);
  const templateOf = new Map(built.flatMap(({ stage }) => (stage.template ? [[stage.name, stage.template.name] as const] : [])));
  const lc = (o: Owner) => `${at(o).line}:${at(o).col}`;
  for (const { stage: s, entry } of built) {
    s.outs.forEach((out, k) => {
      const me: Owner = { stage: s.name, out, index: entry.outs[k] };
      const other = (o: Owner) => (o.stage === s.name ? `another of its outs (at ${lc(o)})` : `an out of stage \`${o.stage}\` (at ${lc(o)})`);
      const conflict = (o: Owner, detail: string): true => {
        const rel: RelatedLocation = related(at(o), o.stage === s.name ? `\`${o.out}\` is declared here` : `stage \`${o.stage}\` writes \`${o.out}\``);
        const siblings = s.template !== undefined && templateOf.get(o.stage) === s.template.name;
        ctx.out.add(diagnostic('out-overlap', at(me), `stage \`${s.name}\`: ${detail}`, siblings ? SIBLINGS_HINT : hint, [rel]));
        return true;
      };
      const parts = out.split('/');
      const same = owner.get(out);
      let clash = false;
      if (same)
        clash = conflict(
          same,
          same.stage === s.name
            ? `out \`${out}\` is listed twice (first at ${lc(same)})`
            : `out \`${out}\` is also written by stage \`${same.stage}\` (at ${lc(same)})`,
        );
      for (let k2 = parts.length - 1; k2 >= 1 && !clash; k2--) {
        const dir = parts.slice(0, k2).join('/');
        const o = owner.get(dir);
        if (o) clash = conflict(o, `out \`${out}\` is inside \`${dir}\`, ${other(o)}`);
      }
      const inner = dirs.get(out);
      if (inner && !clash) clash = conflict(inner, `out \`${out}\` contains \`${inner.out}\`, ${other(inner)}`);
      if (clash) return;
      owner.set(out, me);
      for (let k2 = parts.length - 1; k2 >= 1; k2--) {
        const dir = parts.slice(0, k2).join('/');
        if (!dirs.has(dir)) dirs.set(dir, me);
      }
    });
  }
}

/** The stage graph of the stages built so far (edges from each valid need). */
export function stageDag(stages: StageConfig[]): Dag {
  const byName = new Map(stages.map((s) => [s.name, s]));
  return new Dag(
    stages.map((s) => s.name),
    (n) => byName.get(n)!.needs,
  );
}

/**
 * Each cycle through `needs` (up to the cap), printed as `a → b → c → a` at the `needs` entry that closes it,
 * with the other `needs` entries of the cycle as related locations.
 */
export function checkCycles(ctx: CheckContext, raw: RawPipeline, dag: Dag, max: number, names: StageNames): void {
  for (const cycle of dag.findCycles(max)) {
    // The entry that names `to`: its name, or its template's.
    const needAt = (from: string, to: string) => entryRange(ctx, raw, from, 'needs', list(raw.stages[from].needs).findIndex((n) => names.meaning(n)?.includes(to)));
    const closing = cycle[cycle.length - 1];
    const rel = cycle.slice(0, -1).map((n, i) => related(needAt(n, cycle[i + 1]), `\`${n}\` needs \`${cycle[i + 1]}\``));
    ctx.out.add(
      diagnostic(
        'cycle',
        needAt(closing, cycle[0]),
        `stage \`${closing}\`: needs form a cycle: ${[...cycle, cycle[0]].join(' → ')}`,
        'each stage needs the next one; remove one of these `needs` so the stages can run in order',
        rel,
      ),
    );
  }
}

/**
 * A dep written by another stage must come from a stage it needs (directly or through others), else the order
 * between them is undefined (config/producers.ts says which stage writes a dep).
 */
export function checkDepsProducedElsewhere(ctx: CheckContext, raw: RawPipeline, built: BuiltStage[], dag: Dag): void {
  const index = new OutIndex(built.map((b) => b.stage));
  const entries = new Map(built.map((b) => [b.stage.name, b.entry]));
  for (const { stage: s, entry } of built) {
    s.deps.forEach((dep, k) => {
      const seen = new Set<string>();
      for (const producer of index.producersOf(dep)) {
        if (producer.stage === s.name || seen.has(producer.stage) || dag.dependsOn(s.name, producer.stage)) continue;
        seen.add(producer.stage);
        const outAt = entryRange(ctx, raw, producer.stage, 'outs', entries.get(producer.stage)!.outs[producer.index]);
        ctx.out.add(
          diagnostic(
            'dep-needs-producer',
            entryRange(ctx, raw, s.name, 'deps', entry.deps[k]),
            isGlobPattern(dep)
              ? `stage \`${s.name}\`: dep \`${dep}\` matches an out of stage \`${producer.stage}\`, which it does not need`
              : `stage \`${s.name}\`: dep \`${dep}\` is written by stage \`${producer.stage}\`, which it does not need`,
            `add \`${producer.stage}\` to its \`needs\` (its outs then become this stage's inputs)`,
            [related(outAt, `stage \`${producer.stage}\` writes it here`)],
          ),
        );
      }
    });
  }
}

/** Workspace commands: a name that is not built in, and a module file inside the workspace. */
export function buildCommands(ctx: CheckContext, rawCommands: Record<string, string>): Record<string, string> {
  const { src } = ctx;
  const commands: Record<string, string> = {};
  for (const [name, file] of Object.entries(rawCommands)) {
    if ((BUILTIN_COMMANDS as readonly string[]).includes(name)) {
      ctx.out.add(
        diagnostic(
          'command-builtin',
          src.keyRange(['commands', name]),
          `command \`${name}\` collides with the built-in \`pipeline ${name}\``,
          `choose another name; built-in commands are: ${BUILTIN_COMMANDS.join(', ')}`,
        ),
      );
      continue;
    }
    const at = () => src.valueRange(['commands', name]);
    const rel = normalizePath(ctx, file, `command \`${name}\`: module`, at, { glob: false });
    if (rel !== undefined && checkFile(ctx, rel, `command \`${name}\`: module`, at)) commands[name] = rel;
  }
  return commands;
}
