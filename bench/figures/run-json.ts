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

/** Throws unless the plain output of `run` has a line for each of `count` stages, every one `cached`. */
export function allCachedLines(stdout: string, count: number, what: string): void {
  const lines = [...stdout.matchAll(/^(\S+) +(ran|cached|failed|blocked|skipped) /gm)];
  if (lines.length !== count || lines.some((m) => m[2] !== 'cached') || !stdout.includes(`${count} stages: 0 ran, ${count} cached, 0 failed`)) {
    throw new Error(`${what}: expected ${count} stages cached, got: ${stdout.slice(0, 800)}`);
  }
}

/** Names of the stages with each status. */
export function byStatus(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of runJson(stdout).stages) (out[s.status] ??= []).push(s.name);
  return out;
}
