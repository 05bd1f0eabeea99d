// Reading `pipeline run --json` to assert which stages executed.

export interface StageResult {
  name: string;
  status: string;
  reason: string;
  durationMs: number;
}

export function runJson(stdout: string): { ok: boolean; exitCode: number; stages: StageResult[] } {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { ok: boolean; exitCode: number; stages: StageResult[] };
  } catch {
    throw new Error(`run --json printed no JSON object: ${stdout.slice(-500)}`);
  }
}

/** Throws unless every stage has `status`. */
export function allStatus(stdout: string, status: string, what: string): StageResult[] {
  const r = runJson(stdout);
  const wrong = r.stages.filter((s) => s.status !== status);
  if (!r.ok || wrong.length) {
    throw new Error(`${what}: expected every stage ${status}, got ${wrong.slice(0, 5).map((s) => `${s.name} ${s.status} (${s.reason})`).join(', ')}`);
  }
  return r.stages;
}

/** Names of the stages with each status. */
export function byStatus(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of runJson(stdout).stages) (out[s.status] ??= []).push(s.name);
  return out;
}
