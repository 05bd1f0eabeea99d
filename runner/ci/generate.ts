// The GitHub Actions workflow that mirrors the stage DAG (written and checked by check.ts).
// A `test` job, then one job per stage (a template: one per expansion) whose `needs:` are exactly the stage's upstream
// stages (plus `test`)
// (stage-job.ts; through the remote cache, remote-cache.ts); then the extra jobs of `ci.jobs`.
// Every problem of the `ci:` settings and of the stages for CI is collected (settings.ts, job-checks.ts) and
// returned as diagnostics, all at once, as `pipeline validate` does for the rest of the file.
// Knows nothing about what the stages compute.
import { Document } from 'yaml';
import { DiagnosticList, type Diagnostic } from '../core/diagnostic.js';
import { ConfigError } from '../core/errors.js';
import { StageGraph } from '../graph/graph.js';
import { StageNames } from '../config/stage-names.js';
import type { PipelineConfig } from '../config/types.js';
import { checkSettings, checkStages } from './job-checks.js';
import { parseCiSettings, type CiJob, type CiSettings } from './settings.js';
import { stageJob } from './stage-job.js';
import { CHECKOUT, DOWNLOAD, artifactName, nodeSetup, stageJobId, stepOf, unique, type Job, type Json, type Step } from './steps.js';

export { artifactName, MANIFEST_DIR, stageJobId } from './steps.js';

/** Where the generated workflow lives, relative to the workspace root. */
export const WORKFLOW_PATH = '.github/workflows/pipeline.yml';

/** The workflow's text, or every problem that keeps it from being generated (up to the cap, `omitted` the rest). */
export type WorkflowResult = { ok: true; text: string } | { ok: false; diagnostics: Diagnostic[]; omitted: number };

/** The workflow YAML for a config, deterministic (same config → same bytes), or every problem found. */
export function buildWorkflow(config: PipelineConfig): WorkflowResult {
  const out = new DiagnosticList();
  const ci = parseCiSettings(config, out);
  const ids = checkStages({ config, out });
  const stageDag = new StageGraph(config).dag;
  if (ci) checkSettings({ config, ci, stageDag, out }, ids);
  if (!ci || out.size > 0) {
    const diagnostics = out.items.map((d, i) => ({ d, i })).sort((a, b) => a.d.line - b.d.line || a.d.col - b.d.col || a.i - b.i);
    return { ok: false, diagnostics: diagnostics.map((x) => x.d), omitted: out.omitted };
  }

  const jobs: Record<string, Json> = { test: testJob(ci) };
  for (const stage of config.stages) {
    const after = stageDag.descendants([stage.name]);
    const downstream = config.stages.filter((s) => after.has(s.name)).map((s) => s.name);
    jobs[stageJobId(stage.name)] = stageJob(config, ci, stage, downstream);
  }
  const names = StageNames.of(config);
  for (const [id, spec] of Object.entries(ci.jobs ?? {})) jobs[id] = extraJob(ci, spec, ids, names);

  const workflow: Record<string, Json> = {
    name: ci.name ?? 'pipeline',
    on: (ci.on as Record<string, Json> | undefined) ?? {
      push: { branches: ['main'] },
      pull_request: null,
      workflow_dispatch: null,
    },
    permissions: { contents: 'read' },
    concurrency: { group: '${{ github.workflow }}-${{ github.ref }}', 'cancel-in-progress': true },
    jobs,
  };
  const doc = new Document(workflow, { aliasDuplicateObjects: false });
  doc.commentBefore =
    ' Generated from pipeline.yaml by `npx pipeline ci generate`; do not edit by hand.\n' +
    ' `npx pipeline ci check` fails when this file differs from what pipeline.yaml generates.';
  return { ok: true, text: doc.toString({ lineWidth: 0, minContentWidth: 0, nullStr: '' }) };
}

/** The workflow YAML for a config; throws one ConfigError carrying every diagnostic when it cannot be generated. */
export function generateWorkflow(config: PipelineConfig): string {
  const result = buildWorkflow(config);
  if (!result.ok) throw ConfigError.of(result.diagnostics, result.omitted);
  return result.text;
}

function testJob(ci: CiSettings): Job {
  const job: Job = { 'runs-on': ci['runs-on'] ?? 'ubuntu-latest' };
  const env = { ...(ci.env ?? {}), ...(ci.test?.env ?? {}) };
  if (Object.keys(env).length > 0) job.env = env;
  job.steps = [
    ...nodeSetup(ci['node-version'] ?? 20),
    ...(ci.test?.steps ?? []).map(stepOf),
    { run: ci.test?.command ?? 'npm test' },
    ...(ci.test?.['after-steps'] ?? []).map((step) => ({ if: 'always()', ...stepOf(step) })),
  ];
  return job;
}

/** An extra job of `ci.jobs`; a template's name in its `needs` or `artifacts` stands for each expansion. */
function extraJob(ci: CiSettings, spec: CiJob, ids: Map<string, string>, names: StageNames): Job {
  const steps: Step[] = [];
  const setup = spec.setup ?? 'checkout';
  if (setup === 'node') steps.push(...nodeSetup(ci['node-version'] ?? 20));
  else if (setup === 'checkout') steps.push({ uses: CHECKOUT });
  for (const stage of unique((spec.artifacts ?? []).flatMap((n) => names.meaning(n) ?? [n]))) {
    steps.push({ name: `Restore the outs of ${stage}`, uses: DOWNLOAD, with: { name: artifactName(stage), path: '.' } });
  }
  steps.push(...spec.steps.map(stepOf));
  const job: Job = {};
  if (spec.name !== undefined) job.name = spec.name;
  job.needs = unique((spec.needs ?? []).flatMap((n) => (names.isTemplate(n) ? names.expansions(n) : [n]).map((x) => ids.get(x) ?? x)));
  job['runs-on'] = spec['runs-on'] ?? ci['runs-on'] ?? 'ubuntu-latest';
  if (spec.if !== undefined) job.if = spec.if;
  if (spec['timeout-minutes'] !== undefined) job['timeout-minutes'] = spec['timeout-minutes'];
  const env = { ...(ci.env ?? {}), ...(spec.env ?? {}) };
  if (Object.keys(env).length > 0) job.env = env;
  job.steps = steps;
  return job;
}
