// Param values against a module's params schema: the JSON Schema the params probe read (params-probe.ts) turned
// back into a zod schema by zod's `fromJSONSchema`, then `safeParse`. Loaded on first use only (params.ts requires
// it), as values already known to pass are not checked again. `fromJSONSchema` exists only in classic zod; in the
// CLI's bundle this file holds only the parts of zod it uses (no locale but the English one classic zod sets).
import { fromJSONSchema } from 'zod';
import type * as z from 'zod';

/** The values checked against the schema: zod's result, with its issues when they do not fit. */
export function checkValues(schema: Record<string, unknown>, values: Record<string, unknown>): z.ZodSafeParseResult<unknown> {
  return fromJSONSchema(schema).safeParse(values);
}
