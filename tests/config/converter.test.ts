// The one converter from zod issues to diagnostics (runner/public/diagnostics.ts): codes, places, order, wording hooks.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { issuesToDiagnostics, type KeyPath } from '../../runner/public/diagnostics.js';
import { DIAGNOSTIC_CODES } from '../../runner/core/diagnostic.js';

/** A locator that encodes the path in the position: line = path length, col = 1 for keys and 2 for values. */
const locate = (p: KeyPath, part: 'key' | 'value') => ({ file: 'f', line: p.length, col: part === 'key' ? 1 : 2, endLine: p.length, endCol: 9, path: p.join('.') });

const schema = z.strictObject({
  name: z.string(),
  env: z.record(z.string().regex(/^[A-Z]+$/), z.union([z.string(), z.number()])).optional(),
  steps: z.array(z.strictObject({ run: z.string() })).optional(),
  size: z.number().positive().optional(),
});

function convert(value: unknown, opts: Partial<Parameters<typeof issuesToDiagnostics>[1]> = {}) {
  const r = schema.safeParse(value);
  expect(r.success).to.equal(false);
  return issuesToDiagnostics(r.error!.issues, { locate, ...opts });
}

describe('zod issues → diagnostics', () => {
  it('gives each unknown key its own diagnostic, at the key', () => {
    const ds = convert({ name: 'x', a: 1, b: 2 });
    expect(ds.map((d) => [d.code, d.line, d.col])).to.deep.equal([
      ['unknown-key', 1, 1],
      ['unknown-key', 1, 1],
    ]);
    expect(ds.map((d) => (d as unknown as { path: string }).path)).to.deep.equal(['a', 'b']);
  });

  it('tells a missing key from a wrong type, and lists missing keys last', () => {
    const ds = convert({ steps: [{ run: 1 }] }, { valueAt: (p) => (p.length === 1 && p[0] === 'name' ? undefined : 1) });
    expect(ds.map((d) => d.code)).to.deep.equal(['wrong-type', 'missing-key']);
    expect(ds[1].message).to.contain('`name`');
  });

  it('recognises a missing key by zod\'s message when no valueAt is given', () => {
    expect(convert({}).map((d) => d.code)).to.deep.equal(['missing-key']);
  });

  it('points a failed union at the value, a bad record key at the key, a failed check at the value', () => {
    const ds = convert({ name: 'x', env: { lower: 1, A: { b: 1 } }, size: -1 }, { valueAt: () => 1 });
    expect(ds.map((d) => [d.code, (d as unknown as { path: string }).path, d.col])).to.have.deep.members([
      ['invalid-name', 'env.lower', 1],
      ['wrong-type', 'env.A', 2],
      ['invalid-value', 'size', 2],
    ]);
  });

  it('prefixes paths for a part of a larger file, and lets the reader word each issue', () => {
    const ds = convert(
      { name: 'x', nmae: 1 },
      { prefix: ['ci'], explain: (v) => (v.code === 'unknown-key' ? { message: `no \`${v.key}\` here`, hint: 'see the docs' } : undefined) },
    );
    expect(ds).to.have.length(1);
    expect((ds[0] as unknown as { path: string }).path).to.equal('ci.nmae');
    expect([ds[0].message, ds[0].hint]).to.deep.equal(['no `nmae` here', 'see the docs']);
  });

  it('uses only codes of the engine\'s list, and imports nothing (stage modules may use it)', () => {
    const all = convert({ nmae: 1, env: { lower: [] }, steps: 'x', size: 0 });
    for (const d of all) expect(DIAGNOSTIC_CODES).to.include(d.code);
    const source = readFileSync(new URL('../../runner/public/diagnostics.ts', import.meta.url), 'utf8');
    expect(source).to.not.match(/^import /m);
  });
});
