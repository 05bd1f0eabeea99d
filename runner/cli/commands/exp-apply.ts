// `pipeline exp apply NAME`: the experiment becomes the workspace's state. Its params are written into pipeline.yaml
// in place (exp/yaml-edit.ts: comments and layout kept; pipeline.local.yaml is never written), then a run of the
// workspace restores every stage's outs from the store by the fingerprints the experiment recorded and updates
// pipeline.lock, so `status` says every stage is fresh. An experiment pulled unsigned is not trusted to restore: its
// stages run again.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { GlobalOptions } from '../options.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { readExperiment } from '../../store/experiments.js';
import { Session } from '../session.js';
import { workspaceRow } from './exp-show.js';
import { editYaml, paramEdits } from '../exp/yaml-edit.js';

export async function expApplyCommand(globals: GlobalOptions, name: string, flags: { wait: boolean }): Promise<number> {
  const session = await Session.open(globals, { command: `pipeline exp apply ${name}`, wait: flags.wait, runs: {} });
  try {
    const record = readExperiment(session.config.root, name);
    const current = await workspaceRow(globals);
    const edits = paramEdits(session.config, current.params, record.params);
    await session.acquireWorkspace();
    const file = session.config.file;
    if (edits.length > 0) writeFileAtomic(file, editYaml(readFileSync(file, 'utf8'), edits));
    for (const e of edits) session.out.write(`pipeline.yaml: ${e.path.join('.')} = ${JSON.stringify(e.value)}\n`);
    const untrusted = record.pulled !== undefined && !record.pulled.signed;
    if (untrusted) session.out.write(`${name} was pulled unsigned: its stages run again instead of being restored\n`);
    const engine = session.openEngine(await session.reloadConfig());
    const { exitCode, summary } = await session.run(engine, { names: [], mode: 'needs', force: untrusted, jobs: os.availableParallelism(), keepGoing: false, verbose: false });
    const recorded = new Map(record.stages.map((s) => [s.name, s.fingerprint]));
    const moved = (summary?.stages ?? []).filter((s) => s.fingerprint && recorded.get(s.name) && recorded.get(s.name) !== s.fingerprint).map((s) => s.name);
    if (moved.length > 0) session.out.write(`note: ${moved.join(', ')} differ from the experiment's (code or data changed since it was recorded): they ran on today's inputs\n`);
    return exitCode;
  } finally {
    session.close();
  }
}
