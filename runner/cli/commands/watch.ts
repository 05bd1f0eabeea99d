// `pipeline watch`: a session (session.ts) whose runs follow the changes to what the selected stages read
// (cli/watch.ts). `--json` writes every event as one JSON object per line on stdout. A config with errors, at the
// start as later, is shown and the next save awaited.
import path from 'node:path';
import type { GlobalOptions } from '../options.js';
import { ConfigError, ExitCode } from '../../core/errors.js';
import { CONFIG_NAMES } from '../../config/load.js';
import { LOCAL_PARAMS_FILE } from '../../config/local-params.js';
import { JsonLinesListener } from '../../report/listeners.js';
import { noticeLine } from '../../report/notices.js';
import { StageGraph } from '../../graph/graph.js';
import { Session, type SessionOptions } from '../session.js';
import { invalid, stopOnSignals, WatchLoop } from '../watch.js';
import { ChangeWatcher } from '../watcher.js';

export interface WatchFlags {
  set: string[];
  jobs?: number;
  json?: boolean;
  quiet?: boolean;
  /** ms of quiet after a change before the plan is made again: the writes of one save are one change. */
  debounce: number;
}

export async function watchCommand(globals: GlobalOptions, names: string[], flags: WatchFlags): Promise<number> {
  const session = await openWhenValid(globals, flags, {
    command: `pipeline watch ${names.join(' ')}`.trim(),
    wait: true,
    sets: flags.set,
    runs: { json: flags.json, jsonLines: true, quiet: flags.quiet },
  });
  if (!session) return ExitCode.interrupted;
  try {
    // Unknown stage names end it at once (exit 2), as with `run`.
    new StageGraph(session.config).select(names, 'needs');
    return await new WatchLoop(session, { names, jobs: flags.jobs, debounceMs: flags.debounce }).loop();
  } finally {
    session.close();
  }
}

/** The session, once the config loads: until then its diagnostics are shown and its files watched (undefined: Ctrl-C). */
async function openWhenValid(globals: GlobalOptions, flags: WatchFlags, options: SessionOptions): Promise<Session | undefined> {
  const stop = stopOnSignals();
  try {
    for (;;) {
      try {
        return await Session.open(globals, options);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const file = path.resolve(globals.cwd, err.pos.file);
        const root = path.dirname(file);
        const files = [file, path.join(root, LOCAL_PARAMS_FILE), ...CONFIG_NAMES.map((n) => path.join(root, n))];
        if (globals.config) files.push(path.resolve(globals.cwd, globals.config));
        const watcher = new ChangeWatcher(root, flags.debounce, () => false);
        try {
          await watcher.set(files, () => false);
          // Said once the files are watched: a save right after it is seen.
          const notice = invalid(err);
          process.stderr.write(noticeLine(notice) ?? '');
          if (flags.json) new JsonLinesListener(process.stdout).event(notice);
          await watcher.next(stop.signal);
        } finally {
          await watcher.close();
        }
        if (stop.signal.aborted) return undefined;
      }
    }
  } finally {
    stop.remove();
  }
}
