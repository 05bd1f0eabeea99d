// Processes started for a workspace's stages, found by the environment each one inherits (PIPELINE_WORKSPACE), not
// by name: what tests of leftovers and of pre-started hosts look for after a runner ends.
import { readdirSync, readFileSync, realpathSync } from 'node:fs';

/** The pids of every live process started for a stage of this workspace. */
export function processesOf(ws: string): number[] {
  const marker = Buffer.from(`PIPELINE_WORKSPACE=${realpathSync(ws)}\0`);
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${name}/environ`).includes(marker)) found.push(Number(name));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}
