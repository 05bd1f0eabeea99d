// Each peer's floor, and the check that keeps a ratio honest. A peer is only as fair as its setup: run by the bench
// in a way its users never run it (its bytecode cache redirected to a folder it never fills, say), it is slowed by
// the bench itself and every ratio against it flatters us. So before a ratio against a peer is reported, the peer's
// own run is set beside its floor — the least any run of that tool costs on this machine, measured in the same
// figure — and a peer more than MAX_OVER_FLOOR× its floor is refused: the figure gets a failed check naming both
// times and no ratio.
//
// - Python: three interpreters importing what the three scripts import (scikit-learn, numpy, joblib), as the
//   scripts start three interpreters. The scripts' own work on 20,640 rows is small next to those imports.
// - Snakemake: the tool reading a workflow with nothing to do (a Snakefile with one rule `all` without inputs).
//   `snakemake --version` is not the floor of a workflow run: it skips building the workflow machinery, and a
//   healthy no-op of the 7-rule shape takes ≈ 1.8× its time (CPU time measured here), so a 1.5× bound on it would
//   refuse every honest run; the empty workflow takes what any workflow run must take (≈ 1.0–1.1× the no-op).
// - Snakemake running many jobs: the empty workflow plus what that many trivial jobs add, measured on a workflow of
//   16 independent trivial jobs (one job alone adds less than the noise of the empty one). A peer well under its
//   measured floor is refused too: that floor was timed in a busier moment than the peer.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { emptyDir, JOBS, snakemakeCmd, type BenchContext } from './context.js';
import type { Figure } from './figure.js';
import { repeat, type Cmd, type Repeated } from './measure.js';
import type { Stats } from './stats.js';
import { PYTHON, type Peer } from './peers.js';

/** A peer slower than this many times its floor is not reported against. */
export const MAX_OVER_FLOOR = 1.5;

/** Variables that change how Python finds or writes its bytecode: a user's run has none of them set. */
export const PYTHON_CACHE_VARIABLES = ['PYTHONPYCACHEPREFIX', 'PYTHONDONTWRITEBYTECODE', 'PYTHONNOUSERSITE', 'PYTHONHOME', 'PYTHONPATH'] as const;

/** The environment a Python peer runs with: the user's, without the variables that redirect or disable its bytecode cache. */
export function pythonEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(PYTHON_CACHE_VARIABLES.map((name) => [name, undefined]));
}

/** What the three peer scripts import, in one interpreter each: bench/peers/python/{train,quantize,predict}.py. */
const PYTHON_IMPORTS = [
  'import json, os, sys, joblib, numpy; from sklearn.linear_model import LinearRegression; from sklearn.metrics import r2_score; from sklearn.model_selection import train_test_split',
  'import os, sys, joblib, numpy',
  'import json, os, sys, joblib, numpy; from sklearn.linear_model import LinearRegression; from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score',
];

export interface Floor {
  /** What the floor is, in the figure's rows. */
  label: string;
  cmd: Cmd;
}

/** The floor of a peer, for a figure run in `ctx`. */
export function floorOf(ctx: BenchContext, peer: Exclude<Peer['name'], 'make'>): Floor {
  if (peer === 'python') {
    const script = PYTHON_IMPORTS.map((code) => `${PYTHON} -c '${code}'`).join(' && ');
    return {
      label: 'floor of the Python peer: three interpreters importing what the scripts import (scikit-learn, numpy, joblib)',
      cmd: { file: 'sh', args: ['-c', script], cwd: ctx.tmp, env: pythonEnv() },
    };
  }
  const dir = path.join(ctx.tmp, 'snakemake-floor');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Snakefile'), 'rule all:\n    input: []\n');
  return { label: 'floor of Snakemake: a workflow with nothing to do (one rule `all`, no inputs)', cmd: snakemakeCmd(dir, []) };
}

/**
 * Times the peer's floor, then the peer (`time`), and sets one beside the other: adds the floor's row, the peer's
 * ratio to it and a check to the figure. `sane` says whether a ratio against the peer may be reported.
 */
export function timePeer(f: Figure, ctx: BenchContext, peer: Exclude<Peer['name'], 'make'>, time: () => Repeated, jobs?: number): Repeated & { sane: boolean } {
  const floor = floorOf(ctx, peer);
  const measured = repeat(() => floor.cmd, { runs: ctx.runs });
  const timed = time();
  f.rows.push({ label: floor.label, unit: 'ms', stats: measured.ms });
  const least = jobs === undefined || peer !== 'snakemake' ? measured.ms.median : snakemakeJobsFloor(f, ctx, measured.ms.median, jobs);
  const over = timed.ms.median / least;
  f.rows.push({ label: `${peer} peer / its floor`, unit: '×', value: over });
  // No run of a tool takes less than its measured floor (for a peer of many jobs: the empty workflow, not the
  // estimate built on it, which can overshoot): a peer well under it means the floor was timed while the machine was
  // busier than when the peer ran, and a ratio set beside that floor was not checked against anything.
  const underMeasured = timed.ms.median / measured.ms.median;
  if (underMeasured < 1 / MAX_OVER_FLOOR) {
    f.notes.push(`${peer} peer ${Math.round(timed.ms.median)} ms, its measured floor ${Math.round(measured.ms.median)} ms (${underMeasured.toFixed(2)}×): the floor was timed under a load the peer did not meet, so the peer is unchecked and the ratio is withheld`);
    return { ...timed, sane: false };
  }
  const sane = over <= MAX_OVER_FLOOR;
  // A floor built from a one-job workflow is an estimate: off it, the ratio is withheld and said, not a failed check.
  if (jobs !== undefined && !sane) {
    f.notes.push(`${peer} peer ${Math.round(timed.ms.median)} ms against an estimated floor of ${Math.round(least)} ms (${over.toFixed(2)}×): the ratio is withheld`);
    return { ...timed, sane };
  }
  f.checks.push({
    what: `${peer} peer within ${MAX_OVER_FLOOR}× its floor (else no ratio against it is reported)`,
    ok: sane,
    detail:
      `${Math.round(timed.ms.median)} ms against a floor of ${Math.round(least)} ms (${over.toFixed(2)}×)` +
      (sane ? '' : ': the peer is slowed by something its users do not meet (its setup in the bench?); the ratio is withheld'),
  });
  return { ...timed, sane };
}

/** How many independent trivial jobs the sample workflow runs: enough that their cost stands well above the noise. */
const SAMPLE_JOBS = 16;

/**
 * A peer that runs `jobs` trivial jobs cannot take less than its empty workflow plus what that many jobs add: their
 * cost measured on a workflow of SAMPLE_JOBS independent trivial jobs less the empty one, scaled (rows added to
 * `f`). One job alone costs less than the run-to-run noise of the empty workflow, so it cannot be the sample.
 */
function snakemakeJobsFloor(f: Figure, ctx: BenchContext, empty: number, jobs: number): number {
  const dir = path.join(ctx.tmp, 'snakemake-sample-jobs');
  mkdirSync(path.join(dir, 'out'), { recursive: true });
  writeFileSync(
    path.join(dir, 'Snakefile'),
    `rule all:\n    input: expand("out/{i}.txt", i=range(${SAMPLE_JOBS}))\nrule one:\n    output: "out/{i}.txt"\n    shell: "echo x > {output}"\n`,
  );
  const sample = repeat(() => snakemakeCmd(dir, []), { runs: ctx.runs, before: () => emptyDir(path.join(dir, 'out')) });
  f.rows.push({ label: `Snakemake running ${SAMPLE_JOBS} independent trivial jobs (for the floor of a peer that runs many)`, unit: 'ms', stats: sample.ms });
  const floor = empty + (jobs / SAMPLE_JOBS) * Math.max(0, sample.ms.median - empty);
  f.rows.push({ label: `floor of Snakemake running ${jobs} trivial jobs on ${JOBS} cores: empty + ${jobs}/${SAMPLE_JOBS} × (${SAMPLE_JOBS} jobs − empty)`, unit: 'ms', value: floor });
  return floor;
}

// Transfer peers (figures/remote-wire.ts): a transfer plus one sha256 pass. The hash pass is only as fast as the tool
// doing it: coreutils' `sha256sum` has no SHA-NI path and hashes several times slower than OpenSSL on a CPU that has
// one, so a peer hashing with it is limited by its hasher, not the wire. The peer hashes with the fastest tool here,
// and its floor is its two parts run alone (the transfer, the hash): one after the other, which a pipe may beat
// when cores are free and never needs to exceed.

export interface HashTool {
  name: string;
  /** The command, given file names after it or reading stdin without them. */
  cmd: string;
}

const HASH_TOOLS: HashTool[] = [
  { name: '`sha256sum`', cmd: 'sha256sum' },
  { name: '`openssl dgst -sha256`', cmd: 'openssl dgst -sha256' },
];

/** Times each sha256 tool on `files` (in `cwd`), adds their rows, and returns the fastest. */
export function fastestHash(f: Figure, cwd: string, files: string[], runs: number): HashTool {
  const args = files.map((x) => `'${x.replace(/'/g, `'\\''`)}'`).join(' ');
  let best: { tool: HashTool; ms: number } | undefined;
  for (const tool of HASH_TOOLS) {
    const measured = repeat(() => ({ file: 'sh', args: ['-c', `${tool.cmd} ${args} >/dev/null`], cwd }), { runs });
    f.rows.push({ label: `one sha256 pass over the local copy: ${tool.name}`, unit: 'ms', stats: measured.ms });
    if (!best || measured.ms.median < best.ms) best = { tool, ms: measured.ms.median };
  }
  return best!.tool;
}

/**
 * Sets a transfer peer beside its floor — its parts (`parts`) run alone, summed — adds the floor's row and a check
 * to the figure, and says whether a ratio against the peer may be reported.
 */
export function peerWithinFloor(f: Figure, what: string, peer: Stats, parts: Stats[], partsAre: string): boolean {
  const floor = parts.reduce((sum, s) => sum + s.median, 0);
  const over = peer.median / floor;
  f.rows.push({ label: `${what}: its floor, ${partsAre}`, unit: 'ms', value: floor });
  f.rows.push({ label: `${what} / its floor`, unit: '×', value: over });
  const sane = over <= MAX_OVER_FLOOR;
  f.checks.push({
    what: `${what} within ${MAX_OVER_FLOOR}× its floor (else no ratio against it is reported)`,
    ok: sane,
    detail: `${Math.round(peer.median)} ms against a floor of ${Math.round(floor)} ms (${over.toFixed(2)}×)` + (sane ? '' : ': the peer is slowed by its setup; the ratio is withheld'),
  });
  return sane;
}
