// `pipeline status`: each stage fresh or stale, with every reason. Reads only (the stat cache aside).
import type { GlobalOptions } from '../options.js';
import { openEngineWarned, printWarning } from './warnings.js';
import { preview } from '../../plan/preview.js';
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
  const remoteOuts = flags.remote ? remoteOutsLookup(engine, (message) => printWarning({ code: 'remote-lookup', message })) : undefined;
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
  const stale = shown.filter((p) => p.state === 'stale').length;
  process.stdout.write(stale === 0 ? 'everything is up to date\n' : `${stale} of ${shown.length} stages stale; \`pipeline run\` brings them up to date\n`);
  return exit;
}
