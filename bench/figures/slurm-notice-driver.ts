// How long after a Slurm job ends the `slurm` executor (job mode) notices it (bench/figures/slurm-steps.ts runs it
// as a child): one stage per sleep given, submitted through SlurmExecutor.execute; the job's command writes the
// time it ends (`date +%s%3N`, the last thing it does before the job script writes its status file), and the
// notice is the moment execute() resolves. Same machine, same clock. Prints one JSON line: {latenciesMs: […]}.
//
//   node --import tsx bench/figures/slurm-notice-driver.ts '{"dir":DIR,"sleeps":[0.05,0.4,…]}'
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { StageConfig } from '../../runner/config/types.js';
import { SlurmExecutor } from '../../runner/exec/slurm.js';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as { dir: string; sleeps: number[] };
  const executor = await SlurmExecutor.open();
  const latenciesMs: number[] = [];
  for (const [i, sleep] of spec.sleeps.entries()) {
    const name = `notice${i}`;
    const endFile = path.join(spec.dir, `${name}.end`);
    const stage = { name, kind: 'cmd', cmd: [`sleep ${sleep}; date +%s%3N > ${endFile}`], shell: true, deps: [], needs: [], params: {}, ownParams: [], outs: [], metrics: [], env: {} } as unknown as StageConfig;
    const r = await executor.execute({
      stage,
      root: spec.dir,
      recordsIn: spec.dir,
      inputs: {},
      deps: {},
      outs: {},
      logFile: path.join(spec.dir, 'logs', `${name}.log`),
      verdictFile: path.join(spec.dir, 'tmp', `${name}.verdict`),
      loadErrorFile: path.join(spec.dir, 'tmp', `${name}.load-error`),
      attempt: 1,
      signal: new AbortController().signal,
    });
    const noticed = Date.now();
    if (!r.ok) throw new Error(`job of ${name} failed: ${JSON.stringify(r.cause)}`);
    latenciesMs.push(noticed - Number(readFileSync(endFile, 'utf8').trim()));
  }
  process.stdout.write(`${JSON.stringify({ latenciesMs })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
