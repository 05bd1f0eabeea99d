// A child process that reads the params schema of `module:` stages and checks param values with it: it imports each
// bundle (JSON on stdin: the bundle's path and the value sets to check), takes its `params` export (a zod schema)
// and prints, per bundle, the schema's JSON Schema (zod 4's `toJSONSchema`, input side), `null` when the module
// exports no `params`, or an error; and, per value set, the issues of the real schema's `safeParseAsync`. JSON
// Schema carries types and bounds but no `.refine()`, `.superRefine()`, `.check()` or transform: only the schema
// itself can say whether a value passes those, so every value set is checked here. Running the modules here keeps
// their top-level code out of the engine's process; the engine keeps the answers per code hash and values.
// `toJSONSchema` and `safeParseAsync` come from zod's core, the part every zod 4 flavour (classic, mini) shares:
// they read any zod 4 schema, whichever copy of zod made it (metadata lives in one registry on globalThis), and
// bundled with this file they load in a few milliseconds where the whole of zod takes ~60 ms.
import { pathToFileURL } from 'node:url';
import { safeParseAsync, toJSONSchema, type $ZodType } from 'zod/v4/core';

/**
 * The module's `params`: its JSON Schema (null: no `params` export), a schema made by zod 3 (`zod3`: the engine
 * names the installed zod and the fix), or why it cannot be read.
 */
export type ProbeAnswer = { schema: Record<string, unknown> | null } | { zod3: true } | { error: string };

/** One problem the schema found in a value set: where (the path inside the params), zod's issue code and message. */
export interface CheckIssue {
  path: (string | number)[];
  code: string;
  message: string;
}

/** A value set checked by the real schema: its issues (none: it passes), or the error a check threw. */
export type CheckAnswer = { issues: CheckIssue[] } | { threw: string };

/** What the engine asks of a bundle: its schema, and these value sets checked (each narrowed to the schema's keys). */
export interface ProbeRequest {
  bundle: string;
  values: Record<string, unknown>[];
}

export interface ProbeReply {
  answer: ProbeAnswer;
  /** One per value set asked for, in order; empty when the module has no usable schema. */
  checks: CheckAnswer[];
}

/** A zod 3 schema: no `_zod` (zod 4's internals), a `_def` whose `typeName` is zod 3's class name (`ZodObject`). */
function isZod3(p: { _zod?: unknown; _def?: { typeName?: unknown } }): boolean {
  return !p._zod && typeof p._def?.typeName === 'string' && p._def.typeName.startsWith('Zod');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The first line of what was thrown, whatever was thrown. */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? '';
}

/** The value set narrowed to the schema's keys (as the stage gets it), checked by the schema itself. */
async function check(schema: $ZodType, keys: string[], values: Record<string, unknown>): Promise<CheckAnswer> {
  const narrowed = Object.fromEntries(keys.flatMap((k) => (Object.hasOwn(values, k) ? [[k, values[k]]] : [])));
  try {
    const result = await safeParseAsync(schema, narrowed);
    if (result.success) return { issues: [] };
    return {
      issues: result.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'number' ? p : String(p))), code: i.code, message: i.message })),
    };
  } catch (err) {
    return { threw: firstLine(err) };
  }
}

async function probe(request: ProbeRequest): Promise<ProbeReply> {
  let mod: { params?: unknown };
  try {
    mod = (await import(pathToFileURL(request.bundle).href)) as { params?: unknown };
  } catch (err) {
    return { answer: { error: `importing it failed: ${firstLine(err)}` }, checks: [] };
  }
  if (mod.params === undefined) return { answer: { schema: null }, checks: [] };
  const p = mod.params as { _zod?: { def?: { type?: string; shape?: Record<string, unknown> } }; _def?: { typeName?: unknown } };
  if (typeof p === 'object' && p !== null && isZod3(p)) return { answer: { zod3: true }, checks: [] };
  if (typeof p !== 'object' || p === null || !p._zod) return { answer: { error: 'its `params` export is not a zod schema; export `const params = z.object({...})`' }, checks: [] };
  if (p._zod.def?.type !== 'object') return { answer: { error: 'its `params` export is not a `z.object({...})`' }, checks: [] };
  const schema = mod.params as $ZodType;
  let json: Record<string, unknown>;
  try {
    json = toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  } catch (err) {
    return { answer: { error: `its \`params\` schema has no JSON form: ${firstLine(err)}` }, checks: [] };
  }
  const keys = Object.keys((json.properties ?? {}));
  const checks: CheckAnswer[] = [];
  for (const values of request.values) checks.push(await check(schema, keys, values));
  return { answer: { schema: json }, checks };
}

const requests = JSON.parse(await readStdin()) as ProbeRequest[];
const replies: Record<string, ProbeReply> = {};
for (const r of requests) replies[r.bundle] = await probe(r);
process.stdout.write(JSON.stringify(replies));
