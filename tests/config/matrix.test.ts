// Stage templates (`matrix:`): the expansions a template stands for, their names, params, outs and positions; needs
// and `--set` on a template or one expansion; and every mistake as a diagnostic at its place.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfigText } from '../../runner/config/load.js';
import { interpolate } from '../../runner/config/interpolate.js';
import { applyOverrides, parseSetArg } from '../../runner/config/overrides.js';
import type { Diagnostic } from '../../runner/core/diagnostic.js';
import { ConfigError, UsageError } from '../../runner/core/errors.js';
import type { PipelineConfig, StageConfig } from '../../runner/config/types.js';
import { at } from '../helpers/positions.js';

let ws: string;
let file: string;
before(() => {
  ws = mkdtempSync(path.join(tmpdir(), 'pipeline-matrix-'));
  file = path.join(ws, 'pipeline.yaml');
  mkdirSync(path.join(ws, 'stages'));
  writeFileSync(path.join(ws, 'stages', 'q.ts'), 'export default async () => {};\n');
});
after(() => rmSync(ws, { recursive: true, force: true }));

const parse = (text: string) => parseConfigText(text, file);
const stage = (c: PipelineConfig, name: string): StageConfig => c.stages.find((s) => s.name === name)!;
const set = (c: PipelineConfig, ...sets: string[]) => interpolate(applyOverrides(c, sets.map(parseSetArg)));

/** The diagnostics of a text (none when it loads), after `--set`s and interpolation. */
function diagnosticsOf(text: string, sets: string[] = []): Diagnostic[] {
  try {
    set(parse(text), ...sets);
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(ConfigError);
    return (err as ConfigError).diagnostics;
  }
  return [];
}

const where = (d: { line: number; col: number }) => `${d.line}:${d.col}`;

const QUANT = `version: 1
params:
  seed: 42
stages:
  train:
    cmd: make train
    outs: [build/model]
  quantize:
    desc: quantized weights
    module: stages/q.ts
    matrix:
      bits: [8, 16]
      scheme: [minmax, pow2]
    needs: [train]
    deps: ["data/\${scheme}.csv"]
    params:
      bias: true
    env: {BITS: "\${bits}"}
    outs: ["build/q\${bits}-\${scheme}", "build/m\${bits}-\${scheme}.json"]
    metrics: ["build/m\${bits}-\${scheme}.json"]
  compare:
    cmd: [make, compare]
    needs: [quantize]
    outs: [build/compare]
`;

describe('config: stage templates (matrix)', () => {
  describe('expansion', () => {
    it('expands a template into one stage per combination, keys in order, named STAGE@v1-v2, in its place', () => {
      const c = parse(QUANT);
      expect(c.stages.map((s) => s.name)).to.deep.equal(['train', 'quantize@8-minmax', 'quantize@8-pow2', 'quantize@16-minmax', 'quantize@16-pow2', 'compare']);
      expect(c.templates).to.deep.equal({ quantize: ['quantize@8-minmax', 'quantize@8-pow2', 'quantize@16-minmax', 'quantize@16-pow2'] });
      const q = stage(c, 'quantize@16-pow2');
      expect(q.template).to.deep.equal({ name: 'quantize', matrix: { bits: 16, scheme: 'pow2' }, index: { bits: 1, scheme: 1 } });
      expect([q.kind, q.module, q.desc, q.needs]).to.deep.equal(['module', 'stages/q.ts', 'quantized weights', ['train']]);
    });

    it('each matrix key is a param of its expansion (with the global and own params), and an own param of it', () => {
      const q = stage(parse(QUANT), 'quantize@8-pow2');
      expect(q.params).to.deep.equal({ seed: 42, bias: true, bits: 8, scheme: 'pow2' });
      expect(q.ownParams).to.deep.equal(['bias', 'bits', 'scheme']);
    });

    it('puts the values into outs and metrics when the file is read, `$${` staying a literal `${`', () => {
      const q = stage(parse(QUANT), 'quantize@16-minmax');
      expect(q.outs).to.deep.equal(['build/q16-minmax', 'build/m16-minmax.json']);
      expect(q.metrics).to.deep.equal(['build/m16-minmax.json']);
      // `$${bits}` is the text `${bits}`, which an out cannot hold (`{` makes it a pattern): refused as that, with the value beside it.
      const text = 'version: 1\nstages:\n  a: {cmd: x, matrix: {bits: [8]}, outs: ["o-$${bits}-${bits}"]}\n';
      const [d] = diagnosticsOf(text);
      expect([d.code, d.message]).to.deep.equal(['glob-not-allowed', 'stage `a`: out `o-${bits}-8` is a glob pattern']);
    });

    it('and into deps, cmd and env as params, with the quoting rules of every param', () => {
      const text = `version: 1
stages:
  t:
    matrix: {opt: [fast, "it's"]}
    name: t-\${opt}
    shell: true
    cmd: echo \${opt} "\${opt}" > out-\${opt}
    deps: ["in/\${opt}.txt"]
    env: {OPT: "\${opt}"}
    outs: ["out-\${opt}"]
    params: {note: x}
`;
      expect(diagnosticsOf(text).map((d) => d.message)).to.deep.equal([
        'stage `t`: name pattern `t-${opt}` gives "t-it\'s" for opt="it\'s", which is not a valid stage name',
      ]);
      const ok = text.replace(`"it's"`, 'slow');
      const c = set(parse(ok));
      expect(stage(c, 't-slow').cmd).to.deep.equal([`echo 'slow' "slow" > out-'slow'`]);
      expect(stage(c, 't-fast').deps).to.deep.equal(['in/fast.txt']);
      expect(stage(c, 't-fast').env).to.deep.equal({ OPT: 'fast' });
      // A value with a quote, through a name pattern that leaves it out: quoted for its place in the shell line.
      const quoted = parse(text.replace('name: t-${opt}', 'name: t-${k}').replace(`matrix: {opt: [fast, "it's"]}`, `matrix: {k: [1, 2], opt: ["it's"]}`).replace('out-${opt}"]', 'out-${k}"]').replace('> out-${opt}', '> out'));
      expect(stage(interpolate(quoted), 't-1').cmd).to.deep.equal([`echo 'it'\\''s' "it's" > out`]);
    });

    it('a `name:` pattern names the expansions; numbers, booleans and strings become text as they are', () => {
      const c = parse(`version: 1
stages:
  q:
    matrix: {bits: [8, 16], on: [true, false], f: [0.5]}
    name: q-\${bits}-\${on}-\${f}
    cmd: x
    outs: ["b/\${bits}-\${on}"]
`);
      expect(c.stages.map((s) => s.name)).to.deep.equal(['q-8-true-0.5', 'q-8-false-0.5', 'q-16-true-0.5', 'q-16-false-0.5']);
      expect(stage(c, 'q-16-false-0.5').params).to.deep.equal({ bits: 16, on: false, f: 0.5 });
    });

    it('places an expansion at its template: its keys at the template\'s, a matrix key\'s param at its value', () => {
      const c = parse(QUANT);
      expect(where(c.rangeOf!(['stages', 'quantize@16-pow2', 'outs', 1]))).to.equal(at(QUANT, '"build/m'));
      expect(where(c.rangeOf!(['stages', 'quantize@16-pow2', 'params', 'bits']))).to.equal(at(QUANT, '16]'));
      expect(where(c.rangeOf!(['stages', 'quantize@16-pow2', 'params', 'scheme']))).to.equal(at(QUANT, 'pow2]'));
      expect(where(c.rangeOf!(['stages', 'quantize@8-minmax', 'params', 'bias']))).to.equal(at(QUANT, 'true'));
      expect(where(stage(c, 'quantize@8-pow2').pos)).to.equal(at(QUANT, 'quantize:'));
    });

    it('keeps the expansions, their origin and their places in the parsed-config cache', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'pipeline-matrix-cache-'));
      try {
        mkdirSync(path.join(dir, '.pipeline'));
        mkdirSync(path.join(dir, 'stages'));
        writeFileSync(path.join(dir, 'stages', 'q.ts'), 'export default async () => {};\n');
        writeFileSync(path.join(dir, 'pipeline.yaml'), QUANT);
        const first = await loadConfig({ cwd: dir, cacheDir: '.pipeline' });
        const second = await loadConfig({ cwd: dir, cacheDir: '.pipeline' });
        expect(JSON.stringify(second.stages)).to.equal(JSON.stringify(first.stages));
        expect(second.templates).to.deep.equal(first.templates);
        expect(where(second.rangeOf!(['stages', 'quantize@8-pow2', 'params', 'scheme']))).to.equal(at(QUANT, 'pow2]'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('needs', () => {
    it('a template\'s name needs every expansion; an expansion\'s name needs that one', () => {
      const c = parse(`${QUANT}  one:\n    cmd: x\n    needs: [quantize@16-pow2, train]\n    outs: [build/one]\n`);
      expect(stage(c, 'compare').needs).to.deep.equal(['quantize@8-minmax', 'quantize@8-pow2', 'quantize@16-minmax', 'quantize@16-pow2']);
      expect(stage(c, 'one').needs).to.deep.equal(['quantize@16-pow2', 'train']);
    });

    it('a template that needs itself, or one of its expansions, is refused at the need', () => {
      const text = `version: 1\nstages:\n  q:\n    matrix: {b: [1, 2]}\n    cmd: x\n    needs: [q]\n    outs: ["o\${b}"]\n  r:\n    matrix: {b: [1, 2]}\n    cmd: x\n    needs: [r@1]\n    outs: ["p\${b}"]\n`;
      const ds = diagnosticsOf(text);
      expect(ds.map((d) => [d.code, where(d), d.message])).to.deep.equal([
        ['self-need', at(text, 'q]'), 'stage `q`: needs its own template (every expansion would need itself)'],
        ['self-need', at(text, 'r@1]'), 'stage `r`: needs `r@1`, which is one of its own expansions'],
      ]);
    });

    it('an unknown need suggests template names and lists the templates with their expansions', () => {
      const text = `${QUANT}  x:\n    cmd: x\n    needs: [quantise]\n`;
      const [d] = diagnosticsOf(text);
      expect([d.code, where(d), d.message]).to.deep.equal(['unknown-need', at(text, 'quantise'), 'stage `x`: needs unknown stage `quantise` (did you mean `quantize`?)']);
      expect(d.hint).to.equal('stages are: train, quantize (quantize@8-minmax, quantize@8-pow2, quantize@16-minmax, quantize@16-pow2), compare, x');
    });

    it('a cycle through a template is drawn through its expansions and placed at the need that names the template', () => {
      const text = `version: 1\nstages:\n  a:\n    cmd: x\n    needs: [q]\n    outs: [a]\n  q:\n    matrix: {b: [1]}\n    cmd: x\n    needs: [a]\n    outs: ["q\${b}"]\n`;
      const [d] = diagnosticsOf(text);
      expect([d.code, d.message]).to.deep.equal(['cycle', 'stage `q@1`: needs form a cycle: a → q@1 → a']);
      expect(where(d)).to.equal(at(text, 'a]', 2));
      expect(d.related.map(where)).to.deep.equal([at(text, 'q]')]);
    });
  });

  describe('--set', () => {
    it('on the template sets every expansion; on an expansion, that one, winning whatever the order', () => {
      const c = parse(QUANT);
      for (const sets of [
        ['quantize.bias=false', 'quantize@8-pow2.bias=true'],
        ['quantize@8-pow2.bias=true', 'quantize.bias=false'],
      ]) {
        const s = set(c, ...sets);
        expect(Object.fromEntries(s.stages.filter((x) => x.template).map((x) => [x.name, x.params.bias])), sets.join(' ')).to.deep.equal({
          'quantize@8-minmax': false,
          'quantize@8-pow2': true,
          'quantize@16-minmax': false,
          'quantize@16-pow2': false,
        });
        expect(stage(s, 'quantize@8-minmax').setBy).to.deep.equal({ bias: 'quantize.bias=false' });
      }
      const named = parse(QUANT.replace('    needs: [train]\n', '    name: q-${bits}-${scheme}\n    needs: [train]\n'));
      expect(stage(set(named, 'q-16-pow2.bias=false'), 'q-16-pow2').params.bias).to.equal(false);
      expect(stage(set(named, 'q-16-pow2.bias=false'), 'q-8-pow2').params.bias).to.equal(true);
      expect(stage(set(c, 'seed=7'), 'quantize@8-pow2').params.seed).to.equal(7);
    });

    it('refuses a matrix key, on the template or an expansion, pointing at the key', () => {
      for (const arg of ['quantize.bits=4', 'quantize@8-pow2.bits=4']) {
        const [d] = diagnosticsOf(QUANT, [arg]);
        expect([d.code, where(d)], arg).to.deep.equal(['matrix-key-set', at(QUANT, 'bits:')]);
        expect(d.message).to.equal(`--set ${arg}: \`bits\` is a matrix key of template \`quantize\` (4 expansions); its values are the list under \`matrix:\`, not a param to set`);
        expect(d.hint).to.match(/^edit the list of `bits` in `matrix:` to change which values run; to run some of them, name their stages \(`pipeline run quantize@8-/);
      }
    });

    it('an unknown param of a template names the template; an unknown stage lists templates', () => {
      const [d] = diagnosticsOf(QUANT, ['quantize.bais=false']);
      expect([d.code, where(d), d.message]).to.deep.equal(['unknown-param', at(QUANT, 'bias:'), '--set quantize.bais=false: template `quantize` has no param `bais` (did you mean `bias`?)']);
      expect(() => set(parse(QUANT), 'quantise.bias=1')).to.throw(UsageError, '--set quantise.bias=1: unknown stage `quantise` (did you mean `quantize`?)');
    });
  });

  describe('mistakes, each at its place', () => {
    const V = 'version: 1\nstages:\n';
    const cases: { name: string; text: string; code: string; token: string; message: string; nth?: number }[] = [
      { name: 'matrix a list', text: `${V}  a: {cmd: x, matrix: [8, 16]}\n`, code: 'matrix-shape', token: '[8', message: 'stage `a`: `matrix` must be a mapping of keys to lists of values; got a list' },
      { name: 'matrix a string', text: `${V}  a: {cmd: x, matrix: bits}\n`, code: 'matrix-shape', token: 'bits}', message: 'stage `a`: `matrix` must be a mapping of keys to lists of values; got the string "bits"' },
      { name: 'matrix empty', text: `${V}  a:\n    cmd: x\n    matrix:\n`, code: 'matrix-shape', token: 'matrix', message: 'stage `a`: `matrix` must be a mapping of keys to lists of values; got an empty value' },
      { name: 'matrix without keys', text: `${V}  a: {cmd: x, matrix: {}}\n`, code: 'matrix-shape', token: '{}', message: 'stage `a`: `matrix` has no keys' },
      { name: 'a key with one value, not a list', text: `${V}  a: {cmd: x, matrix: {bits: 8}}\n`, code: 'matrix-shape', token: '8}', message: 'stage `a`: matrix key `bits` must be a list of values; got the number 8' },
      { name: 'a key that is no param name', text: `${V}  a: {cmd: x, matrix: {b-its: [8]}}\n`, code: 'invalid-name', token: 'b-its', message: 'stage `a`: matrix key `b-its` is not allowed' },
      { name: 'an empty list', text: `${V}  a: {cmd: x, matrix: {bits: [], s: [1]}}\n`, code: 'matrix-empty', token: '[]', message: 'stage `a`: matrix key `bits` has an empty list: the stage would have no expansion' },
      { name: 'a list among the values', text: `${V}  a: {cmd: x, matrix: {bits: [8, [16]]}}\n`, code: 'matrix-value', token: '[16]', message: 'stage `a`: matrix key `bits`: entry 2 is a list; a matrix value must be a string, a finite number or a boolean' },
      { name: 'a null value', text: `${V}  a: {cmd: x, matrix: {bits: [8, null]}}\n`, code: 'matrix-value', token: 'null', message: 'stage `a`: matrix key `bits`: entry 2 is an empty value; a matrix value must be a string, a finite number or a boolean' },
      { name: 'an infinite number', text: `${V}  a: {cmd: x, matrix: {bits: [.inf]}}\n`, code: 'matrix-value', token: '.inf', message: 'stage `a`: matrix key `bits`: entry 1 is the number Infinity, which is not finite; a matrix value must be a string, a finite number or a boolean' },
      { name: 'a key that is an own param', text: `${V}  a: {cmd: x, params: {bits: 4}, matrix: {bits: [8]}}\n`, code: 'matrix-param-clash', token: 'bits: [', message: 'stage `a`: matrix key `bits` is also one of its params' },
      { name: 'a key that is a global param it reads', text: `version: 1\nparams: {bits: 4}\nstages:\n  a: {cmd: x, matrix: {bits: [8]}}\n`, code: 'matrix-param-clash', token: 'bits: [', message: 'stage `a`: matrix key `bits` is also a global param the stage reads' },
      { name: 'a key that is a global param listed in uses', text: `version: 1\nparams: {bits: 4}\nstages:\n  a: {cmd: x, uses: [bits], matrix: {bits: [8]}}\n`, code: 'matrix-param-clash', token: 'bits: [', message: 'stage `a`: matrix key `bits` is also a global param the stage reads' },
      { name: 'a value that cannot be part of a name', text: `${V}  a: {cmd: x, matrix: {opt: [fast, "a/b"]}}\n`, code: 'expansion-name', token: '"a/b"', message: 'stage `a`: matrix value "a/b" of `opt` cannot be part of a stage name' },
      { name: 'a default name with `..`', text: `${V}  a: {cmd: x, matrix: {v: [x, a..b]}, outs: ["o\${v}"]}\n`, code: 'expansion-name', token: 'a:', message: 'stage `a`: the expansion for v="a..b" would be named `a@a..b`, which holds `..`' },
      { name: 'a name pattern with no key', text: `${V}  a: {cmd: x, matrix: {bits: [8, 16]}, name: a-fixed}\n`, code: 'expansion-name', token: 'a-fixed', message: 'stage `a`: name pattern `a-fixed` references no matrix key: every expansion would have the same name' },
      { name: 'a name pattern giving an invalid name', text: `${V}  a: {cmd: x, matrix: {v: ["x y"]}, name: "a-\${v}"}\n`, code: 'expansion-name', token: '"a-', message: 'stage `a`: name pattern `a-${v}` gives "a-x y" for v="x y", which is not a valid stage name' },
      { name: 'a name without a matrix', text: `${V}  a: {cmd: x, name: b}\n`, code: 'expansion-name', token: 'name', message: 'stage `a`: `name` names the expansions of a template, and this stage has no `matrix`' },
      { name: 'a name pattern naming no key', text: `${V}  a: {cmd: x, matrix: {bits: [8]}, name: "a-\${bit}"}\n`, code: 'unknown-interpolation', token: '${bit}', message: 'stage `a`: `${bit}` in `name:` names no matrix key (did you mean `bits`?)' },
      { name: 'an out naming no key', text: `${V}  a: {cmd: x, matrix: {bits: [8]}, params: {p: 1}, outs: ["o\${bits}", "o\${p}"]}\n`, code: 'unknown-interpolation', token: '${p}', message: 'stage `a`: `${p}` in `outs` names no matrix key' },
      { name: 'an out of a plain stage with a reference', text: `${V}  a: {cmd: x, params: {p: 1}, outs: ["o\${p}"]}\n`, code: 'unknown-interpolation', token: '${p}', message: 'stage `a`: `${p}` in `outs` names no matrix key' },
      { name: 'a metrics file naming no key', text: `${V}  a: {cmd: x, matrix: {b: [1]}, outs: ["m\${b}"], metrics: ["m\${c}/x.json"]}\n`, code: 'unknown-interpolation', token: '${c}', message: 'stage `a`: `${c}` in `metrics` names no matrix key (did you mean `b`?)' },
      { name: 'an unterminated reference in a name', text: `${V}  a: {cmd: x, matrix: {b: [1]}, name: "a-\${b"}\n`, code: 'unknown-interpolation', token: '${b"', message: 'stage `a`: `${b` in `name:` has no closing `}`' },
      { name: 'a command naming no key or param', text: `${V}  a: {cmd: "echo \${bit}", matrix: {bits: [8, 16]}, outs: ["o\${bits}"]}\n`, code: 'unknown-interpolation', token: '${bit}', message: 'stage `a`: `${bit}` names no param of this stage (did you mean `bits`?)' },
      { name: 'a value listed twice', text: `${V}  a: {cmd: x, matrix: {bits: [8, 16, 8]}, outs: ["o\${bits}"]}\n`, code: 'expansion-clash', token: '8]', message: 'stage `a`: matrix key `bits` lists 8 twice: two expansions would be named `a@8`' },
      { name: 'a pattern that does not tell values apart', text: `${V}  a: {cmd: x, matrix: {b: [1, 2], c: [x, y]}, name: "a-\${b}", outs: ["o\${b}\${c}"]}\n`, code: 'expansion-clash', token: '"a-', message: 'stage `a`: the expansions for b=1, c="x" and for b=1, c="y" are both named `a-1`' },
      { name: 'an expansion named like a stage', text: `${V}  a-8: {cmd: x}\n  a: {cmd: x, matrix: {bits: [8]}, name: "a-\${bits}"}\n`, code: 'expansion-clash', token: '"a-', message: 'stage `a`: the expansion for bits=8 is named `a-8`, as is stage `a-8`' },
      { name: 'an expansion named like another template\'s', text: `${V}  a: {cmd: x, matrix: {b: [1]}, name: "x-\${b}", outs: ["a\${b}"]}\n  c: {cmd: x, matrix: {d: [1]}, name: "x-\${d}", outs: ["c\${d}"]}\n`, code: 'expansion-clash', token: '"x-', nth: 2, message: 'stage `c`: the expansion for d=1 is named `x-1`, as is the expansion of `a` for b=1' },
      { name: 'expansions writing one out', text: `${V}  a: {cmd: x, matrix: {b: [1, 2]}, outs: [same]}\n`, code: 'out-overlap', token: 'same', message: 'stage `a@2`: out `same` is also written by stage `a@1` (at 3:43)' },
    ];
    for (const c of cases) {
      it(`${c.code}: ${c.name}`, () => {
        const ds = diagnosticsOf(c.text);
        expect(ds.length, 'a diagnostic').to.be.greaterThan(0);
        expect([ds[0].code, ds[0].message], JSON.stringify(ds.map((d) => d.message))).to.deep.equal([c.code, c.message]);
        expect(where(ds[0])).to.equal(at(c.text, c.token, c.nth));
        expect(ds[0].hint ?? '').to.not.equal('');
      });
    }

    it('a collision gives both places', () => {
      const text = `${V}  a-8: {cmd: x}\n  a: {cmd: x, matrix: {bits: [8]}, name: "a-\${bits}"}\n  b: {cmd: x, matrix: {bits: [8, 16, 8]}, outs: ["o\${bits}"]}\n`;
      const ds = diagnosticsOf(text);
      expect(ds.map((d) => [where(d), d.related.map((r) => `${where(r)} ${r.message}`)])).to.deep.equal([
        [at(text, '"a-'), [`${at(text, 'a-8:')} stage \`a-8\``]],
        [at(text, '8]', 2), [`${at(text, '8,')} \`b@8\` for bits=8`]],
      ]);
    });

    it('a clash with a param gives the param\'s place; a global param the stage does not read is no clash', () => {
      const text = `version: 1\nparams: {bits: 4, seed: 1}\nstages:\n  a: {cmd: x, uses: [seed], matrix: {bits: [8]}, outs: ["o\${bits}"]}\n  b: {cmd: x, matrix: {seed: [1]}, outs: ["p\${seed}"]}\n`;
      const ds = diagnosticsOf(text);
      expect(ds.map((d) => [d.code, d.message, d.related.map(where)])).to.deep.equal([
        ['matrix-param-clash', 'stage `b`: matrix key `seed` is also a global param the stage reads', [at(text, 'seed: 1')]],
      ]);
    });

    it('a mistake in a template\'s text is reported once, not once per expansion', () => {
      const text = `${V}  a:\n    module: stages/nope.ts\n    matrix: {b: [1, 2, 3]}\n    deps: ["\${nope}"]\n    outs: ["o\${b}", "/abs"]\n`;
      const ds = diagnosticsOf(text);
      expect(ds.map((d) => d.code)).to.deep.equal(['missing-module', 'bad-path', 'unknown-interpolation']);
      expect(ds.every((d) => d.message.startsWith('stage `a`: '))).to.equal(true);
    });

    it('every independent mistake of every template in one pass', () => {
      const text = `${V}  a: {cmd: x, matrix: {bits: []}}\n  b: {cmd: x, matrix: {v: [1, {x: 1}]}}\n  c: {cmd: x, matrix: {k: [1]}, name: c}\n  d: {cmd: x, needs: [a, b, c]}\n`;
      expect(diagnosticsOf(text).map((d) => d.code)).to.deep.equal(['matrix-empty', 'matrix-value', 'expansion-name']);
    });

    it('refuses more than 10,000 combinations before making them', () => {
      const values = `[${Array.from({ length: 101 }, (_, i) => i).join(', ')}]`;
      const text = `${V}  a: {cmd: x, matrix: {x: ${values}, y: ${values}}}\n`;
      const [d] = diagnosticsOf(text);
      expect([d.code, d.message]).to.deep.equal(['matrix-shape', 'stage `a`: the matrix has 10201 combinations; a template may have at most 10000']);
    });

    it('__proto__ as a matrix key is a reserved name', () => {
      const [d] = diagnosticsOf(`${V}  a: {cmd: x, matrix: {__proto__: [1]}}\n`);
      expect(d.code).to.equal('reserved-name');
    });
  });
});
