// `pipeline watch`: a session (session.ts) whose runs follow the changes to what the selected stages read
// (cli/watch.ts). `--json` writes every event as one JSON object per line on stdout.
import type { GlobalOptions } from '../options.js';
import { Session } from '../session.js';
import { WatchLoop } from '../watch.js';

export interface WatchFlags {
  set: string[];
  jobs?: number;
  json?: boolean;
  quiet?: boolean;
  /** ms of quiet after a change before the plan is made again: the writes of one save are one change. */
  debounce: number;
}

export async function watchCommand(globals: GlobalOptions, names: string[], flags: WatchFlags): Promise<number> {
  const session = await Session.open(globals, {
    command: `pipeline watch ${names.join(' ')}`.trim(),
    wait: true,
    sets: flags.set,
    runs: { json: flags.json, jsonLines: true, quiet: flags.quiet },
  });
  try {
    return await new WatchLoop(session, { names, jobs: flags.jobs, debounceMs: flags.debounce }).loop();
  } finally {
    session.close();
  }
}
