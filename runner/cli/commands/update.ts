// `pipeline update [STAGE…]` (and `run --update`): ask the servers of the URL deps of the named stages (every
// stage when none is named) whether the data changed — a conditional GET; the ETag, Last-Modified, size and the
// body's sha256 are recorded. Only this command touches the network; an unreachable server is a warning and the
// recorded state stays.
import type { Writable } from 'node:stream';
import { isUrlDep } from '../../core/paths.js';
import { printable } from '../../core/printable.js';
import { displayUrl } from '../../core/url-credentials.js';
import type { Engine } from '../../plan/engine.js';
import { openEngineWarned as openEngine } from './warnings.js';
import type { UrlCheck } from '../../store/urls.js';
import type { GlobalOptions } from '../options.js';
import { configFor } from './common.js';

export interface UpdateSummary {
  checks: UrlCheck[];
}

/** One line per URL: the URL without credentials or query, what the server said neutralised (it comes from outside). */
function describe(c: UrlCheck): string {
  return printable(describeCheck(c, displayUrl(c.url)));
}

function describeCheck(c: UrlCheck, url: string): string {
  const s = c.state;
  const what = s ? [s.etag ? `ETag ${s.etag}` : '', s.lastModified ? `Last-Modified ${s.lastModified}` : '', s.contentLength !== undefined ? `${s.contentLength} bytes` : ''].filter(Boolean).join(', ') : '';
  switch (c.result) {
    case 'unchanged':
      return `${url}: unchanged (${what})`;
    case 'first':
      return `${url}: recorded (${what})`;
    case 'changed':
      return `${url}: changed (${c.before?.etag && c.before.etag !== c.state.etag ? `ETag ${c.before.etag} → ${c.state.etag ?? 'none'}, ` : ''}${what}); the stages reading it are stale`;
    case 'unreachable':
      return `${url}: cannot reach the server (${c.message}); keeping the recorded state`;
  }
}

/** What `run --update` is told instead of printing: each URL's check (none when there is no URL dep) and its sentence. */
export type UrlTeller = (sentence: string, check?: UrlCheck) => void;

/**
 * Checks the URL deps of the stages; prints one line per URL (warnings on stderr), or tells `tell` (a run's event
 * stream). Saves the recorded states.
 */
export async function updateUrls(engine: Engine, names: string[], out: Writable, tell?: UrlTeller): Promise<UpdateSummary> {
  const named = engine.graph.expand(names);
  const stages = named.length > 0 ? named : engine.graph.order;
  const urls = [...new Set(stages.flatMap((n) => engine.graph.stage(n).deps.filter(isUrlDep)))];
  const checks: UrlCheck[] = [];
  for (const url of urls) {
    const c = await engine.ws.urls!.check(url);
    checks.push(c);
    if (tell) tell(describe(c), c);
    else if (c.result === 'unreachable') process.stderr.write(`warning: ${describe(c)}\n`);
    else out.write(`${describe(c)}\n`);
  }
  if (urls.length === 0) (tell ?? ((line: string) => out.write(`${line}\n`)))('no URL deps in the selected stages');
  engine.ws.urls!.save();
  return { checks };
}

export async function updateCommand(globals: GlobalOptions, names: string[], flags: { set: string[] }): Promise<number> {
  const engine = openEngine(await configFor(globals, flags.set));
  await updateUrls(engine, names, process.stdout);
  return 0;
}
