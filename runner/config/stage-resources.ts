// `resources:`: what a Slurm job running the stage asks for (cpus, memory, time, partition, extra sbatch options);
// only the `slurm` executor reads it. `memory` may be a list, one value per attempt of a stage with `retries`. An extra sbatch option the runner sets itself is refused.
import type { StageInput } from './check-context.js';
import { durationMs } from './stage-settings.js';
import type { StageResources } from './types.js';

/** sbatch options the runner sets for every job (output, status, working folder, environment, ordering). */
const RUNNER_SBATCH = ['--output', '-o', '--error', '-e', '--open-mode', '--parsable', '--wrap', '--chdir', '-D', '--export', '--wait', '-W', '--dependency', '-d', '--array', '-a'];

/** `resources:` → the flags' values; absent when the stage has none. */
export function stageResources(s: StageInput): StageResources | undefined {
  const raw = s.raw.resources;
  if (!raw) return undefined;
  (raw.sbatch ?? []).forEach((opt, i) => {
    const flag = opt.split('=')[0];
    const short = /^-[A-Za-z]/.test(opt) && !opt.startsWith('--') ? opt.slice(0, 2) : flag;
    if (!RUNNER_SBATCH.includes(flag) && !RUNNER_SBATCH.includes(short)) return;
    s.fail(
      'sbatch-option',
      s.at('resources', 'sbatch', i),
      `sbatch option \`${opt}\` is set by the runner`,
      'the runner chooses each job\'s output, working folder, environment and order; remove it (cpus, memory, time and partition have their own keys)',
    );
  });
  const memory = raw.memory === undefined ? undefined : (Array.isArray(raw.memory) ? raw.memory : [raw.memory]).map(String);
  const attempts = (s.raw.retries ?? 0) + 1;
  if (Array.isArray(raw.memory) && raw.memory.length > attempts)
    s.fail(
      'retry-unused',
      s.at('resources', 'memory', attempts),
      `\`resources.memory\` lists ${raw.memory.length} values for ${attempts} attempt${attempts === 1 ? '' : 's'} (\`retries: ${attempts - 1}\`): the values from entry ${attempts + 1} on are never used`,
      `one value per attempt: raise \`retries\` to ${raw.memory.length - 1}, or remove the extra values`,
    );
  return {
    ...(raw.cpus !== undefined ? { cpus: raw.cpus } : {}),
    ...(memory ? { memory } : {}),
    ...(raw.time !== undefined ? { timeMs: durationMs(raw.time) } : {}),
    ...(raw.partition !== undefined ? { partition: raw.partition } : {}),
    sbatch: raw.sbatch ?? [],
  };
}
