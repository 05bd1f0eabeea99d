// What a `module:` stage threw, in the user's source. The host (host.ts) writes the error's message and V8 stack —
// positions in the bundle it imported — to a file beside the verdict file, and prints the message as its last line
// on stderr. After the stage failed, the runner maps that stack through the bundle's source map (written beside it,
// plan/code.ts): each frame in the bundle names the workspace file, line and column it came from; frames elsewhere
// (Node's internals, a package kept as an import) stay as they are. Nothing of this runs when a stage starts: no
// source-map support in the host, no map read until a stage has failed.
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The file the host writes a thrown error to, beside the stage's verdict file. */
export function thrownFileOf(verdictFile: string): string {
  return `${verdictFile}.thrown.json`;
}

/** The thrown error, mapped: `at` is the first frame in a workspace file outside node_modules (`stages/fit.ts:8:86`). */
export interface Thrown {
  at?: string;
  /** The whole stack, each frame of the bundle mapped to its source. */
  stack: string;
}

/** The error the host wrote (the file is removed), its stack mapped through the bundle's map; undefined when none. */
export async function readThrown(file: string, bundle: string, root: string): Promise<Thrown | undefined> {
  let stack: unknown;
  try {
    stack = (JSON.parse(readFileSync(file, 'utf8')) as { stack?: unknown }).stack;
  } catch {
    return undefined;
  } finally {
    rmSync(file, { force: true });
  }
  if (typeof stack !== 'string' || stack.length === 0) return undefined;
  const map = await mapOf(bundle);
  // Node names an imported module by its real path: the workspace may be reached through a symlink.
  const names = new Set([bundle, realpathOr(bundle)]);
  let at: string | undefined;
  const lines = stack.split('\n').map((line) => {
    const frame = FRAME.exec(line);
    if (!frame || !map || !names.has(pathOf(frame[2]))) return line;
    const source = map(Number(frame[3]), Number(frame[4]));
    if (!source) return line;
    const rel = path.relative(root, source.file).split(path.sep).join('/');
    const inside = rel !== '..' && !rel.startsWith('../') && !path.isAbsolute(rel);
    const where = `${inside ? rel : source.file}:${source.line}:${source.column}`;
    if (at === undefined && inside && !rel.split('/').includes('node_modules')) at = where;
    return `${frame[1]}${where}${frame[5]}`;
  });
  return { ...(at ? { at } : {}), stack: `${lines.join('\n').trimEnd()}\n` };
}

/** A V8 stack frame: `    at fn (LOCATION)` or `    at LOCATION`, LOCATION being `file:line:column`. */
const FRAME = /^(\s*at (?:.*? \()?)((?:file:\/\/)?\/[^()]*?):(\d+):(\d+)(\)?)$/;

/** The path a frame's location names (a file URL or a path). */
function pathOf(location: string): string {
  try {
    return location.startsWith('file://') ? fileURLToPath(location) : location;
  } catch {
    return location;
  }
}

function realpathOr(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

type MapPosition = (line: number, column: number) => { file: string; line: number; column: number } | undefined;

/** The bundle's map as a function of a V8 position (1-based line and column); undefined when it has none. */
async function mapOf(bundle: string): Promise<MapPosition | undefined> {
  let text: string;
  try {
    text = readFileSync(`${bundle}.map`, 'utf8');
  } catch {
    return undefined;
  }
  const { TraceMap, originalPositionFor } = await import('@jridgewell/trace-mapping');
  let traced: InstanceType<typeof TraceMap>;
  try {
    traced = new TraceMap(text);
  } catch {
    return undefined;
  }
  const dir = path.dirname(bundle);
  return (line, column) => {
    const original = originalPositionFor(traced, { line, column: Math.max(0, column - 1) });
    if (original.source === null || original.line === null || original.column === null) return undefined;
    const file = original.source.startsWith('file://') ? fileURLToPath(original.source) : path.resolve(dir, original.source);
    return { file, line: original.line, column: original.column + 1 };
  };
}
