// The `ci:` mapping of pipeline.yaml: settings for `pipeline ci generate`, validated with zod.
// Problems are diagnostics that point at the offending node (`file:line:col`) and say how to fix it.
import { z } from 'zod';
import { diagnostic, pointRange, type DiagnosticList, type Range } from '../core/diagnostic.js';
import { suggestion } from '../core/errors.js';
import { issuesToDiagnostics, type KeyPath, type SchemaIssue } from '../core/schema-issues.js';
import { StageNames } from '../config/stage-names.js';
import type { PipelineConfig, StageConfig } from '../config/types.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const envMap = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name is letters, digits and `_`'),
  scalar,
);

/** One GitHub Actions step, passed through to the workflow. */
const stepSchema = z
  .strictObject({
    name: z.string().optional(),
    id: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'a step id is letters, digits, `_` and `-`').optional(),
    if: z.union([z.string(), z.boolean()]).optional(),
    uses: z.string().optional(),
    run: z.string().optional(),
    shell: z.string().optional(),
    with: z.record(z.string(), scalar).optional(),
    env: envMap.optional(),
    'working-directory': z.string().optional(),
    'continue-on-error': z.boolean().optional(),
    'timeout-minutes': z.number().positive().optional(),
  })
  .refine((s) => (s.uses === undefined) !== (s.run === undefined), {
    message: 'a step needs exactly one of `uses:` or `run:`',
  });

/** An extra job appended after the stage jobs (e.g. one that builds and runs a container). */
const jobSchema = z.strictObject({
  name: z.string().optional(),
  /** Stage names, `test`, or other extra jobs. */
  needs: z.array(z.string()).optional(),
  /** Stages whose outs are downloaded into the workspace before the steps (must be upstream through `needs`). */
  artifacts: z.array(z.string()).optional(),
  /** What runs before the steps: `checkout` (default), `node` (checkout, Node with npm cache, `npm ci`), `none`. */
  setup: z.enum(['none', 'checkout', 'node']).optional(),
  'runs-on': z.string().optional(),
  if: z.string().optional(),
  env: envMap.optional(),
  'timeout-minutes': z.number().int().positive().optional(),
  steps: z.array(stepSchema).min(1, 'a job needs at least one step'),
});

export const ciSchema = z.strictObject({
  /** Workflow name. */
  name: z.string().optional(),
  /** Workflow triggers, verbatim (default: push to main, pull requests, manual dispatch). */
  on: z.record(z.string(), z.unknown()).optional(),
  'runs-on': z.string().optional(),
  'node-version': z.union([z.number(), z.string()]).optional(),
  /** Environment for the test job, every stage job and every extra job. */
  env: envMap.optional(),
  /** The `test` job: extra env, steps before the test command, the command itself, and steps after it. */
  test: z
    .strictObject({
      env: envMap.optional(),
      steps: z.array(stepSchema).optional(),
      command: z.string().optional(),
      /** Run after the test command, whatever its outcome (e.g. uploading screenshots). */
      'after-steps': z.array(stepSchema).optional(),
    })
    .optional(),
  /** Extra steps per stage, run before `pipeline run STAGE --single` (a template's name: for each expansion without its own). */
  'stage-steps': z.record(z.string(), z.array(stepSchema)).optional(),
  /** Extra jobs appended after the stage jobs. */
  jobs: z.record(z.string(), jobSchema).optional(),
  /** GitHub cancels a stage job after this many minutes (default 60, more for a stage whose own `timeout:` is longer). */
  'timeout-minutes': z.number().int().positive().optional(),
  /** The same, per stage (a template's name: for each expansion without its own). */
  'stage-timeout-minutes': z.record(z.string(), z.number().int().positive()).optional(),
  /** How stage jobs use the `remote:` cache (see remote-cache.ts). */
  remote: z
    .strictObject({
      /** Push events require secrets.PIPELINE_REMOTE_SIGNING_KEY (default true); false pushes unsigned records. */
      signed: z.boolean().optional(),
      /** The workflow maps the remote's credentials from secrets and requires them on push events (default true). */
      credentials: z.boolean().optional(),
    })
    .optional(),
});

export type CiStep = z.infer<typeof stepSchema>;
export type CiJob = z.infer<typeof jobSchema>;
export type CiSettings = z.infer<typeof ciSchema>;

/** Where a key path of pipeline.yaml is (its key or its value). */
export function locator(config: PipelineConfig): (p: KeyPath, part?: 'key' | 'value') => Range {
  return (p, part = 'value') => config.rangeOf?.(p, part) ?? pointRange(config.positionOf(p));
}

/**
 * Parse and check the `ci:` mapping: every problem goes to `out`. Returns the settings, or nothing when their shape is
 * wrong (the checks that need them cannot run).
 */
export function parseCiSettings(config: PipelineConfig, out: DiagnosticList): CiSettings | undefined {
  const raw = config.ci ?? {};
  const result = ciSchema.safeParse(raw);
  if (!result.success) {
    for (const d of shapeDiagnostics(config, raw, result.error.issues)) out.add(d);
    return undefined;
  }
  const ci = result.data;
  const names = StageNames.of(config);
  const stageNames = names.all();
  for (const key of ['stage-steps', 'stage-timeout-minutes'] as const) {
    for (const stage of Object.keys(ci[key] ?? {}).filter((name) => names.meaning(name) === undefined))
      out.add(
        diagnostic(
          'unknown-stage',
          locator(config)(['ci', key, stage], 'key'),
          `\`ci.${key}\` names unknown stage \`${stage}\`${suggestion(stage, stageNames)}`,
          `stages: ${names.listing()}`,
        ),
      );
  }
  return ci;
}

function shapeDiagnostics(config: PipelineConfig, raw: Record<string, unknown>, issues: readonly SchemaIssue[]) {
  return issuesToDiagnostics(issues, {
    locate: locator(config),
    prefix: ['ci'],
    valueAt: (p) => p.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' && Object.hasOwn(v, k) ? (v as Record<string, unknown>)[k] : undefined), raw),
    explain: (view) => {
      const where = view.issue.path.map(String);
      if (view.code === 'unknown-key') {
        const known = knownKeysAt(where);
        return { message: `${view.message}${suggestion(view.key!, known)}`, hint: known.length > 0 ? `known keys: ${known.join(', ')}` : undefined };
      }
      const at = ['ci', ...where].join('.');
      if (view.code === 'invalid-name') return { message: `\`${at}\`: ${view.issue.issues?.[0]?.message ?? view.issue.message}`, hint: hintFor(['ci', ...where]) };
      if (view.issue.code === 'invalid_union') return { message: `\`${at}\`: expected a string, number or boolean`, hint: hintFor(['ci', ...where]) };
      return { hint: hintFor(view.path) };
    },
  });
}

const topKeys = Object.keys(ciSchema.shape);
const stepKeys = ['name', 'id', 'if', 'uses', 'run', 'shell', 'with', 'env', 'working-directory', 'continue-on-error', 'timeout-minutes'];
const jobKeys = Object.keys(jobSchema.shape);
const testKeys = ['env', 'steps', 'command', 'after-steps'];
const remoteKeys = ['signed', 'credentials'];

function knownKeysAt(path: string[]): string[] {
  if (path.length === 0) return topKeys;
  if (path[0] === 'test') return path.length === 1 ? testKeys : stepKeys;
  if (path[0] === 'stage-steps') return stepKeys;
  if (path[0] === 'jobs') return path.length === 2 ? jobKeys : stepKeys;
  if (path[0] === 'remote') return remoteKeys;
  return [];
}

function hintFor(where: (string | number)[]): string | undefined {
  if (where.includes('steps') || where[1] === 'stage-steps') {
    return 'a step is a mapping like `{uses: actions/cache@v4, with: {...}}` or `{name: ..., run: ...}`';
  }
  if (where[1] === 'env' || where.includes('env')) return 'env is a mapping of NAME: value (string, number or boolean)';
  return undefined;
}

/** A per-stage setting (`stage-steps`, `stage-timeout-minutes`): the stage's own, else its template's. */
export function perStage<T>(settings: Record<string, T> | undefined, stage: StageConfig): T | undefined {
  if (settings === undefined) return undefined;
  if (Object.hasOwn(settings, stage.name)) return settings[stage.name];
  return stage.template && Object.hasOwn(settings, stage.template.name) ? settings[stage.template.name] : undefined;
}
