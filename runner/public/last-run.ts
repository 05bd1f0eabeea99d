// The record of the last `pipeline run` (.pipeline/last-run.json), for code in the workspace that reads it (the
// report). The engine writes exactly this type; this file imports nothing from the engine.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LAST_RUN_FILE, SCHEMA_VERSION } from './last-run-file.js';

export { LAST_RUN_FILE, SCHEMA_VERSION };

/** The coarse status of a stage (`cached` covers fresh and restored). */
export const stageStatusSchema = z.enum(['ran', 'cached', 'skipped', 'failed', 'blocked']);
export type StageStatus = z.infer<typeof stageStatusSchema>;

/** The precise outcome: see the README's table of outcome kinds. */
export const outcomeKindSchema = z.enum(['fresh', 'restored', 'ran', 'failed', 'blocked', 'skipped']);
export type OutcomeKind = z.infer<typeof outcomeKindSchema>;

/** A failed stage's cause: `kind` (exit, gate, signal, timeout, interrupted, …), its sentence and its fields. */
const causeSchema = z.looseObject({
  kind: z.string(),
  message: z.string(),
  exitCode: z.number().int().optional(),
  signal: z.string().optional(),
});

/** A reason: its stable `code` (see the README's table), its sentence, and its fields. */
export const reasonSchema = z.looseObject({ code: z.string(), message: z.string() });
export type ReasonRecord = z.infer<typeof reasonSchema>;

export const stageRecordSchema = z.looseObject({
  name: z.string(),
  status: stageStatusSchema,
  /** The stage's reasons (or, when it failed, its cause) as one sentence. */
  reason: z.string(),
  durationMs: z.number(),
  fingerprint: z.string().nullable(),
  outcome: z.looseObject({ kind: outcomeKindSchema, cause: causeSchema.optional() }),
  reasons: z.array(reasonSchema),
  /** The Slurm job that executed it (`pipeline run --executor slurm`); absent for stages that ran locally or did not run. */
  jobId: z.string().optional(),
  /** The job step that executed it (`J.S`, `--slurm-mode steps`; `jobId` is then the allocation's). */
  stepId: z.string().optional(),
  /** How many times its command was executed in this run: 0 when it did not run, more than 1 when `retries` retried it. */
  attempts: z.number().int().nonnegative().optional(),
  /**
   * last-run.json only: the execution that produced the stage's outs — this run's, or an earlier one's for a cached
   * stage — from its run record (absent when the store has none).
   */
  computed: z.object({ finishedAt: z.string(), durationMs: z.number() }).optional(),
  /** last-run.json only: the params the stage's outs were computed with (its fingerprint covers them). */
  params: z.record(z.string(), z.unknown()).optional(),
});
export type StageRecord = z.infer<typeof stageRecordSchema>;

export const lastRunSchema = z.looseObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  ok: z.boolean(),
  exitCode: z.number().int(),
  startedAt: z.string(),
  durationMs: z.number(),
  stages: z.array(stageRecordSchema),
  /** The pipeline's stages and their `needs:` edges [from, to]. */
  dag: z.object({ nodes: z.array(z.string()), edges: z.array(z.tuple([z.string(), z.string()])) }),
});
export type LastRun = z.infer<typeof lastRunSchema>;

export type LastRunRead = { ok: true; lastRun: LastRun } | { ok: false; file: string; message: string };

/** Read and check the workspace's last-run.json; a missing, unreadable or malformed file says why. */
export function readLastRun(workspace: string): LastRunRead {
  const file = path.join(workspace, LAST_RUN_FILE);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, file, message: code === 'ENOENT' ? 'does not exist: run `pipeline run` first' : `cannot be read: ${(err as Error).message}` };
  }
  const parsed = lastRunSchema.safeParse(value);
  if (parsed.success) return { ok: true, lastRun: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, file, message: `${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}; run \`pipeline run\` to rewrite it` };
}
