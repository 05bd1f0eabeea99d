// What `validate` says of the deps on disk: a dep that does not exist and that no stage writes is a warning, at its
// entry in `deps`, with a path like it when there is one. A warning, not an error: the file may be created outside
// the pipeline before the run (a download, a mount); `run` refuses the stage if it is still missing then. A dep that
// a stage writes is checked once that stage ran (plan/produced.ts), so it is never reported here.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { diagnostic, DiagnosticList } from '../core/diagnostic.js';
import { isGlobPattern, isUrlDep } from '../core/paths.js';
import { similarPath } from '../core/similar-path.js';
import type { PipelineConfig } from '../config/types.js';
import { producersOf } from './produced.js';

/** The warnings, at most MAX_DIAGNOSTICS of them (a template's expansions that share an entry are reported once). */
export function missingDepWarnings(config: PipelineConfig): DiagnosticList {
  const outs = config.stages.flatMap((s) => s.outs);
  const found = new DiagnosticList();
  for (const stage of config.stages) {
    stage.deps.forEach((dep, i) => {
      if (isGlobPattern(dep) || isUrlDep(dep) || existsSync(path.resolve(config.root, dep))) return;
      if (producersOf(config, stage, dep).length > 0) return;
      const at = config.rangeOf?.(['stages', stage.name, 'deps', i]) ?? config.positionOf(['stages', stage.name, 'deps', i]);
      const like = similarPath(config.root, dep, outs);
      const message = `stage \`${stage.name}\`: dep \`${dep}\` does not exist and no stage writes it${like ? ` (did you mean \`${like}\`?)` : ''}`;
      const hint = like ? `fix the path in \`deps\`, or create \`${dep}\` before \`pipeline run\`` : `create \`${dep}\` before \`pipeline run\` (it refuses a missing dep), or fix the path in \`deps\``;
      found.add({ ...diagnostic('dep-not-found', at, message, hint), severity: 'warning' });
    });
  }
  return found;
}
