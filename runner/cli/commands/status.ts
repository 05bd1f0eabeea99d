// `pipeline status`: each stage fresh or stale, with every reason. Reads only (the stat cache aside).
import type { GlobalOptions } from '../options.js';
import { openEngineWarned, printWarning } from './warnings.js';
import { preview, type StagePreview } from '../../plan/preview.js';
import type { Engine } from '../../plan/engine.js';
import { formatReasons } from '../../plan/reasons.js';
import { useColor } from '../../report/progress.js';
import { SCHEMA_VERSION, reasonsJson } from '../../report/json.js';
import { styleText } from 'node:util';
import { plannedConfigFor } from './common.js';
import { remoteOutsLookup } from './run-remote.js';

export async function statusCommand(
  globals: GlobalOptions,
  names: string[],
  flags: { json?: boolean; set: string[]; exitCode?: boolean; remote?: boolean },
): Promise<number> {
  const engine = openEngineWarned(await plannedConfigFor(globals, flags.set));
  // Only when asked: a plain status never touches the network.
  const remoteOuts = flags.remote ? await remoteOutsLookup(engine, (message) => printWarning({ code: 'remote-lookup', message })) : undefined;
  const plan = await preview(engine, { names, mode: 'needs', force: false, ...(remoteOuts ? { remoteOuts } : {}) });
  const named = new Set(engine.graph.expand(names));
  const shown = names.length > 0 ? plan.filter((p) => named.has(p.name)) : plan;
  engine.stats.save();
  // --exit-code: 1 when anything shown is stale, for scripts and CI.
  const exit = flags.exitCode && shown.some((p) => p.state === 'stale') ? 1 : 0;
  if (flags.json) {
    const stages = shown.map(({ name, state, reasons }) => ({ name, state, reasons: reasonsJson(reasons) }));
    process.stdout.write(`${JSON.stringify({ schemaVersion: SCHEMA_VERSION, stages })}\n`);
    return exit;
  }
  const color = useColor(process.stdout);
  const width = Math.max(8, ...shown.map((p) => p.name.length));
  for (const p of shown) {
    const state = p.state.padEnd(5);
    const painted = color ? styleText(p.state === 'fresh' ? 'green' : 'yellow', state) : state;
    process.stdout.write(`${p.name.padEnd(width)}  ${painted}  ${formatReasons(p.reasons)}\n`);
  }
  process.stdout.write(`${nextStep(engine, shown)}\n`);
  return exit;
}

/**
 * The last line: what brings the stale stages up to date. Stages the remote can restore (status --remote) are
 * pulled, not run: `pipeline pull` when the remote holds what pipeline.lock records for them, `pipeline run --pull`
 * when it holds results pipeline.lock does not record (pull fetches only those).
 */
function nextStep(engine: Engine, shown: StagePreview[]): string {
  const stale = shown.filter((p) => p.state === 'stale');
  if (stale.length === 0) return 'everything is up to date';
  const head = `${stale.length} of ${shown.length} stages stale`;
  const remote = stale.filter((p) => p.reasons.some((r) => r.code === 'restorable-from-remote'));
  if (remote.length === 0) return `${head}; \`pipeline run\` brings them up to date`;
  const all = remote.length === stale.length;
  if (!remote.every((p) => p.fingerprint !== undefined && engine.lock.get(p.name)?.fingerprint === p.fingerprint))
    return `${head}; \`pipeline run --pull\` brings them up to date, restoring ${all ? 'them' : `${remote.length} of them`} from the remote`;
  if (all) return `${head}; \`pipeline pull\` restores them from the remote`;
  return `${head}; \`pipeline pull\` restores ${remote.length} of them from the remote, then \`pipeline run\` brings the rest up to date`;
}
