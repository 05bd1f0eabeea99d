// What a stage reads and writes: `deps`, `outs` and `metrics`, each path normalized (an invalid one is reported and
// left out); no out is reserved for the runner, no dep overlaps an out of the same stage, every metrics file is
// an out in a format `pipeline metrics` reads.
import { CONFIG_NAMES } from './find.js';
import { isInside, list, type StageInput } from './check-context.js';
import type { Unresolved } from './matrix.js';
import { normalizeDep, normalizePath } from './workspace-paths.js';

/** Workspace paths that belong to the runner (or to git) and can never be a stage's out. */
const RESERVED_OUTS = ['.pipeline', '.git', 'pipeline.lock', ...CONFIG_NAMES];

/** The files `pipeline metrics` reads (report/metrics.ts parses them by extension). */
export const METRICS_EXTENSIONS = ['.json', '.yaml', '.yml'];

/** A kept path and the index of its entry in the file (for positions). */
export interface PathEntry {
  path: string;
  index: number;
}

export interface StagePaths {
  deps: PathEntry[];
  outs: PathEntry[];
  metrics: PathEntry[];
}

/**
 * `deps`, `outs`, `metrics`: the valid entries of each, checked against each other. `unresolved` lists the entries
 * whose `${…}` named no matrix key (reported by matrix.ts), left out.
 */
export function stagePaths(s: StageInput, unresolved?: Unresolved): StagePaths {
  const deps = entries(s, 'deps', 'dep');
  const outs = entries(s, 'outs', 'out', unresolved?.outs).filter((o) => !reservedOut(s, o));
  const metrics = entries(s, 'metrics', 'metrics file', unresolved?.metrics);
  checkDepsAgainstOuts(s, deps, outs);
  checkMetrics(s, metrics, outs);
  return { deps, outs, metrics };
}

function entries(s: StageInput, field: 'deps' | 'outs' | 'metrics', what: string, skip: number[] = []): PathEntry[] {
  const kept: PathEntry[] = [];
  list(s.raw[field]).forEach((p, i) => {
    if (skip.includes(i)) return;
    const where = () => s.entryAt(field, i);
    const norm = field === 'deps' ? normalizeDep(s.ctx, p, s.subject(what), where) : normalizePath(s.ctx, p, s.subject(what), where, { glob: false });
    if (norm !== undefined) kept.push({ path: norm, index: i });
  });
  return kept;
}

function reservedOut(s: StageInput, { path: o, index }: PathEntry): boolean {
  const top = o.split('/')[0];
  if (!(RESERVED_OUTS.includes(o) || top === '.pipeline' || top === '.git')) return false;
  s.fail('reserved-out', s.entryAt('outs', index), `out \`${o}\` is reserved for the runner`, 'write outputs elsewhere, e.g. under build/');
  return true;
}

/** A stage cannot read what it writes: no dep is an out, inside one, or holds one. */
function checkDepsAgainstOuts(s: StageInput, deps: PathEntry[], outs: PathEntry[]): void {
  for (const { path: d, index } of deps) {
    const o = outs.find(({ path: out }) => out === d || isInside(d, out) || isInside(out, d))?.path;
    if (o === undefined) continue;
    const detail = o === d ? `\`${d}\` is both a dep and an out` : isInside(d, o) ? `dep \`${d}\` is inside its out \`${o}\`` : `dep \`${d}\` contains its out \`${o}\``;
    s.fail('dep-is-out', s.entryAt('deps', index), detail, 'a stage cannot read what it writes (its fingerprint would change every run); split it into two stages');
  }
}

/** Metrics files are among the outs, in a format `pipeline metrics` reads. */
function checkMetrics(s: StageInput, metrics: PathEntry[], outs: PathEntry[]): void {
  for (const { path: m, index } of metrics) {
    if (!METRICS_EXTENSIONS.some((ext) => m.endsWith(ext)))
      s.fail(
        'metrics-format',
        s.entryAt('metrics', index),
        `metrics file \`${m}\` is neither JSON nor YAML`,
        `name a file ending in ${METRICS_EXTENSIONS.join(', ')}: \`pipeline metrics\` reads those formats only`,
      );
    if (!outs.some(({ path: o }) => o === m || isInside(m, o)))
      s.fail('metrics-not-out', s.entryAt('metrics', index), `metrics file \`${m}\` is not among its outs`, `add \`${m}\` to \`outs\` (metrics are JSON files the stage writes)`);
  }
}
