// A child process that reads the params schema of `module:` stages: it imports each bundle (paths as JSON on
// stdin), takes its `params` export (a zod schema) and prints, per bundle, the schema's JSON Schema (zod 4's
// `toJSONSchema`, input side), `null` when the module exports no `params`, or an error. Running the modules
// here keeps their top-level code out of the engine's process; the engine keeps the answer per code hash.
// `toJSONSchema` comes from zod's core, the part every zod 4 flavour (classic, mini) shares: it reads any zod 4
// schema, whichever copy of zod made it (metadata lives in one registry on globalThis), and bundled with this
// file it loads in a few milliseconds where the whole of zod takes ~60 ms.
import { pathToFileURL } from 'node:url';
import { toJSONSchema, type $ZodType } from 'zod/v4/core';

/**
 * The module's `params`: its JSON Schema (null: no `params` export), a schema made by zod 3 (`zod3`: the engine
 * names the installed zod and the fix), or why it cannot be read.
 */
export type ProbeAnswer = { schema: Record<string, unknown> | null } | { zod3: true } | { error: string };

/** A zod 3 schema: no `_zod` (zod 4's internals), a `_def` whose `typeName` is zod 3's class name (`ZodObject`). */
function isZod3(p: { _zod?: unknown; _def?: { typeName?: unknown } }): boolean {
  return !p._zod && typeof p._def?.typeName === 'string' && p._def.typeName.startsWith('Zod');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function probe(bundle: string): Promise<ProbeAnswer> {
  let mod: { params?: unknown };
  try {
    mod = (await import(pathToFileURL(bundle).href)) as { params?: unknown };
  } catch (err) {
    return { error: `importing it failed: ${(err as Error).message.split('\n')[0]}` };
  }
  if (mod.params === undefined) return { schema: null };
  const p = mod.params as { _zod?: { def?: { type?: string } }; _def?: { typeName?: unknown } };
  if (typeof p === 'object' && p !== null && isZod3(p)) return { zod3: true };
  if (typeof p !== 'object' || p === null || !p._zod) return { error: 'its `params` export is not a zod schema; export `const params = z.object({...})`' };
  if (p._zod.def?.type !== 'object') return { error: 'its `params` export is not a `z.object({...})`' };
  try {
    return { schema: toJSONSchema(mod.params as $ZodType, { io: 'input', unrepresentable: 'any' }) };
  } catch (err) {
    return { error: `its \`params\` schema has no JSON form: ${(err as Error).message}` };
  }
}

const bundles = JSON.parse(await readStdin()) as string[];
const answers: Record<string, ProbeAnswer> = {};
for (const b of bundles) answers[b] = await probe(b);
process.stdout.write(JSON.stringify(answers));
