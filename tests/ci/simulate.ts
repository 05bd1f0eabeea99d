// A small local runner for the stage jobs of the generated workflow, to test the workflow's logic for real without
// GitHub: each job runs in its own fresh checkout (as on a fresh runner), its `run:` steps execute with bash, and the
// actions it uses are played with the same observable contract:
//   actions/checkout         a fresh copy of the prepared checkout
//   actions/setup-node       nothing (node is here); `npm ci` nothing (node_modules linked, dist built once)
//   actions/download-artifact copy an uploaded artifact into `path` (must exist: v4 fails on a missing artifact)
//   actions/upload-artifact   every path must exist (if-no-files-found: error); the artifact keeps paths relative
//                             to the least common ancestor of the paths, as v4 does; names are unique per run
//   actions/cache             exact key, else the newest entry whose key starts with a restore key; saved after a
//                             successful job unless the exact key was hit
// `npx --no-install pipeline ARGS` runs `node bin/pipeline.js ARGS` of the job's checkout, as npx resolves a package's
// own bin, without npx's start-up cost.
// Jobs run in `needs:` order; a job whose needs did not all succeed is skipped, like GitHub's default `if: success()`.
// A run plays one event (`push` unless told) with the given repository secrets: a step's `if:` is evaluated for the
// few expressions the generator writes (any other fails the job), `${{ secrets.NAME }}` in a step's `env:` is the
// secret or an empty string, as on GitHub.
import { execa } from 'execa';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string | number | boolean>;
  with?: Record<string, string | number | boolean>;
}

/** What a workflow run is played for: the event's name (`github.event_name`) and the repository's secrets. */
export interface RunContext {
  event: string;
  secrets: Record<string, string>;
}

/** A step's `if:` for the expressions the generator writes; undefined for any other. */
export function condition(text: string | undefined, ctx: RunContext): boolean | undefined {
  if (text === undefined || text === 'always()') return true;
  const m = /^\$\{\{ (!?)startsWith\(github\.event_name, '([a-z_]+)'\) \}\}$/.exec(text);
  if (!m) return undefined;
  return ctx.event.startsWith(m[2]) !== (m[1] === '!');
}

/** A step's `env:` with its secrets filled in; undefined when it holds any other expression. */
function stepEnv(env: Step['env'], ctx: RunContext): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env ?? {})) {
    const value = String(v).replace(/\$\{\{ secrets\.([A-Za-z_][A-Za-z0-9_]*) \}\}/g, (_m, name: string) => ctx.secrets[name] ?? '');
    if (value.includes('${{')) return undefined;
    out[k] = value;
  }
  return out;
}
interface Job {
  name?: string;
  needs?: string[];
  env?: Record<string, string | number | boolean>;
  steps: Step[];
}

export interface JobResult {
  status: 'success' | 'failure' | 'skipped';
  /** Output of the `run:` steps (stdout and stderr interleaved). */
  log: string;
  summary: string;
  /** Which cache key was restored for each cache step: 'exact', 'prefix' or 'miss'. */
  cacheHits: string[];
  /** The steps that ran (their name, else what they use or run), in order. */
  steps: string[];
  /** Exit code of the step that failed. */
  exitCode?: number;
}

export interface Runner {
  /** Artifacts uploaded in this run: name → folder. */
  artifacts: Map<string, string>;
  results: Map<string, JobResult>;
}

export class WorkflowSimulator {
  /** actions/cache entries across runs: key → saved copy, in save order. */
  readonly cache = new Map<string, string>();
  private readonly scratch = mkdtempSync(path.join(os.tmpdir(), 'pipeline-ci-sim-'));
  private counter = 0;

  /** `checkout` is a folder copied as each job's workspace. */
  private readonly bin: string;

  constructor(private readonly checkout: string) {
    this.bin = this.fresh('bin');
    writeFileSync(
      path.join(this.bin, 'npx'),
      '#!/bin/sh\n[ "$1" = --no-install ] && [ "$2" = pipeline ] || { echo "npx $*: not simulated" >&2; exit 127; }\n' +
        'shift 2\nexec node "$PWD/bin/pipeline.js" "$@"\n',
      { mode: 0o755 },
    );
  }

  dispose(): void {
    rmSync(this.scratch, { recursive: true, force: true });
  }

  private fresh(label: string): string {
    const dir = path.join(this.scratch, `${++this.counter}-${label}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Run the workflow's jobs whose ids are in `only` (others count as succeeded without running). */
  async run(workflowText: string, only: string[], ctx: RunContext = { event: 'push', secrets: {} }): Promise<Runner> {
    const wf = parse(workflowText) as { jobs: Record<string, Job> };
    const runner: Runner = { artifacts: new Map(), results: new Map() };
    const done = new Set<string>();
    const ids = Object.keys(wf.jobs);
    while (done.size < ids.length) {
      const ready = ids.filter((id) => !done.has(id) && (wf.jobs[id].needs ?? []).every((n) => done.has(n)));
      if (ready.length === 0) throw new Error(`jobs ${ids.filter((i) => !done.has(i)).join(', ')} wait on each other`);
      for (const id of ready) {
        const needs = wf.jobs[id].needs ?? [];
        if (needs.some((n) => runner.results.get(n)?.status !== 'success')) {
          runner.results.set(id, { status: 'skipped', log: '', summary: '', cacheHits: [], steps: [] });
        } else if (!only.includes(id)) {
          runner.results.set(id, { status: 'success', log: '(not simulated)', summary: '', cacheHits: [], steps: [] });
        } else {
          runner.results.set(id, await this.runJob(id, wf.jobs[id], runner, ctx));
        }
        done.add(id);
      }
    }
    return runner;
  }

  private async runJob(id: string, job: Job, runner: Runner, ctx: RunContext): Promise<JobResult> {
    const ws = this.fresh(id);
    const temp = this.fresh(`${id}-temp`);
    const outputFile = path.join(temp, 'output');
    const summaryFile = path.join(temp, 'summary');
    writeFileSync(summaryFile, '');
    const outputs: Record<string, Record<string, string>> = {};
    const result: JobResult = { status: 'success', log: '', summary: '', cacheHits: [], steps: [] };
    const toSave: { key: string; path: string }[] = [];
    const expr = (text: string): string =>
      text.replace(/\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}/g, (_m, step: string, name: string) => outputs[step]?.[name] ?? '');

    for (const step of job.steps) {
      const runs = condition(step.if, ctx);
      if (runs === undefined) return fail(result, `unsupported if: ${step.if}`);
      if (!runs) continue;
      const env = stepEnv(step.env, ctx);
      if (env === undefined) return fail(result, `unsupported expression in the env of ${JSON.stringify(step)}`);
      result.steps.push(step.name ?? step.uses ?? step.run ?? '');
      const w = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, expr(String(v))]));
      if (step.uses?.startsWith('actions/checkout@')) {
        cpSync(this.checkout, ws, { recursive: true, verbatimSymlinks: true });
      } else if (step.uses?.startsWith('actions/setup-node@')) {
        // node is installed
      } else if (step.uses?.startsWith('actions/download-artifact@')) {
        const from = runner.artifacts.get(w.name);
        if (!from) return fail(result, `download-artifact: no artifact named ${w.name}`);
        cpSync(from, path.resolve(ws, w.path ?? '.'), { recursive: true });
      } else if (step.uses?.startsWith('actions/upload-artifact@')) {
        if (runner.artifacts.has(w.name)) return fail(result, `upload-artifact: an artifact named ${w.name} exists already`);
        const paths = w.path.split('\n').map((p) => p.trim()).filter(Boolean);
        const missing = paths.filter((p) => !existsSync(path.join(ws, p)));
        if (missing.length > 0 && w['if-no-files-found'] === 'error') return fail(result, `upload-artifact: no files at ${missing.join(', ')}`);
        const root = commonAncestor(paths.map((p) => path.dirname(p)));
        const dest = this.fresh(`artifact-${w.name}`);
        for (const p of paths) cpSync(path.join(ws, p), path.join(dest, path.relative(root, p)), { recursive: true });
        runner.artifacts.set(w.name, dest);
      } else if (step.uses?.startsWith('actions/cache@')) {
        const target = path.join(ws, w.path);
        const exact = this.cache.get(w.key);
        const prefixes = (w['restore-keys'] ?? '').split('\n').map((k) => k.trim()).filter(Boolean);
        const partial = [...this.cache.keys()].reverse().find((k) => prefixes.some((p) => k.startsWith(p)));
        const hit = exact ?? (partial === undefined ? undefined : this.cache.get(partial));
        result.cacheHits.push(exact ? 'exact' : partial ? 'prefix' : 'miss');
        if (hit) cpSync(hit, target, { recursive: true });
        if (!exact) toSave.push({ key: w.key, path: target });
      } else if (step.run !== undefined) {
        if (step.run.trim() === 'npm ci') continue;
        const script = expr(step.run);
        if (script.includes('${{')) return fail(result, `unsupported expression in: ${script}`);
        writeFileSync(outputFile, '');
        const file = path.join(temp, 'step.sh');
        writeFileSync(file, script);
        const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
          cwd: ws,
          reject: false,
          all: true,
          env: {
            // A fresh runner has no remote settings or cloud credentials but those the workflow gives it.
            ...Object.fromEntries(Object.keys(process.env).filter((k) => /^(AWS_|PIPELINE_REMOTE)/.test(k)).map((k) => [k, undefined])),
            ...Object.fromEntries(Object.entries(job.env ?? {}).map(([k, v]) => [k, String(v)])),
            ...env,
            CI: 'true',
            GITHUB_EVENT_NAME: ctx.event,
            PATH: `${this.bin}:${process.env.PATH}`,
            GITHUB_OUTPUT: outputFile,
            GITHUB_STEP_SUMMARY: summaryFile,
            RUNNER_TEMP: temp,
            NO_COLOR: '1',
          },
        });
        result.log += r.all ?? '';
        if (step.id) outputs[step.id] = parseOutputs(readFileSync(outputFile, 'utf8'));
        if (r.exitCode !== 0) {
          result.status = 'failure';
          result.exitCode = r.exitCode;
          break;
        }
      } else {
        return fail(result, `unsupported step ${JSON.stringify(step)}`);
      }
    }
    result.summary = readFileSync(summaryFile, 'utf8');
    if (result.status === 'success') {
      for (const { key, path: p } of toSave) {
        if (!existsSync(p)) continue;
        const saved = this.fresh('cache');
        cpSync(p, saved, { recursive: true });
        this.cache.set(key, saved);
      }
    }
    return result;
  }
}

function fail(result: JobResult, message: string): JobResult {
  result.status = 'failure';
  result.log += `\n${message}\n`;
  return result;
}

function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** The deepest folder that holds every given folder ('.' is the workspace). */
function commonAncestor(dirs: string[]): string {
  const parts = dirs.map((d) => path.posix.normalize(d).split('/').filter((p) => p !== '.'));
  const first = parts[0] ?? [];
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return first.slice(0, n).join('/') || '.';
}
