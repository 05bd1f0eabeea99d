// Config errors as values: every diagnostic code, at its place (line:col and the end of the node), all the
// independent mistakes of a file in one pass, related locations, the cap, and the human form.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigText, MAX_CONFIG_BYTES } from '../../runner/config/load.js';
import { interpolate } from '../../runner/config/interpolate.js';
import { applyOverrides, parseSetArg } from '../../runner/config/overrides.js';
import { generateWorkflow } from '../../runner/ci/generate.js';
import { DIAGNOSTIC_CODES, formatDiagnostics, MAX_DIAGNOSTICS, type Diagnostic, type DiagnosticCode } from '../../runner/core/diagnostic.js';
import { ConfigError, ExitCode } from '../../runner/core/errors.js';
import { at } from '../helpers/positions.js';

let ws: string;
let file: string;

before(() => {
  ws = mkdtempSync(path.join(tmpdir(), 'pipeline-diag-'));
  file = path.join(ws, 'pipeline.yaml');
  mkdirSync(path.join(ws, 'stages', 'dir'), { recursive: true });
  writeFileSync(path.join(ws, 'stages', 'a.ts'), 'export default async () => {};\n');
  writeFileSync(path.join(ws, '..', `${path.basename(ws)}-outside.ts`), 'export default async () => {};\n');
  symlinkSync(path.join(ws, '..', `${path.basename(ws)}-outside.ts`), path.join(ws, 'stages', 'evil.ts'));
});
after(() => {
  rmSync(ws, { recursive: true, force: true });
  rmSync(path.join(ws, '..', `${path.basename(ws)}-outside.ts`), { force: true });
});

/** Every diagnostic of a text (none when it loads). */
function diagnosticsOf(text: string, sets: string[] = []): Diagnostic[] {
  try {
    const config = parseConfigText(text, file);
    interpolate(sets.length ? applyOverrides(config, sets.map(parseSetArg)) : config);
    generateWorkflow(config);
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).exitCode).to.equal(ExitCode.usage);
    return (err as ConfigError).diagnostics;
  }
  return [];
}


const V = 'version: 1\nstages:\n';
const CI_BASE = `${V}  load: {cmd: make load, outs: [build/a]}\n  train: {cmd: make train, needs: [load], outs: [build/b]}\n`;

/** One config per code: the text, and the token the first diagnostic must point at (its first character). */
const cases: { code: DiagnosticCode; name: string; text: string; token: string; nth?: number; sets?: string[] }[] = [
  { code: 'file-too-large', name: 'a file over the size limit', text: `${V}  a: {cmd: x}\n# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`, token: 'version' },
  { code: 'yaml-syntax', name: 'an unclosed flow sequence', text: `${V}  a: {cmd: x, outs: [a\n`, token: '' },
  { code: 'empty-file', name: 'an empty file', text: '', token: '' },
  { code: 'yaml-alias', name: 'an alias bomb', text: `a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`, token: 'a:' },
  { code: 'duplicate-key', name: 'a key twice', text: `${V}  a: {cmd: x, outs: o, outs: p}\n`, token: 'outs', nth: 2 },
  { code: 'duplicate-stage', name: 'a stage twice', text: `${V}  a: {cmd: x}\n  a: {cmd: y}\n`, token: 'a:', nth: 2 },
  { code: 'reserved-name', name: 'a param __proto__ deep inside params', text: `${V}  a: {cmd: x, params: {opt: {lr: 1, __proto__: {x: 1}}}}\n`, token: '__proto__' },
  { code: 'not-a-mapping', name: 'a list at the top', text: '- a\n- b\n', token: '- a' },
  { code: 'unknown-key', name: 'a misspelled stage key', text: `${V}  a: {cmd: x, ouths: o}\n`, token: 'ouths' },
  { code: 'missing-key', name: 'no stages', text: 'version: 1\n', token: 'version' },
  { code: 'wrong-type', name: 'a number for outs', text: `${V}  a: {cmd: x, outs: 1}\n`, token: '1}' },
  { code: 'invalid-value', name: 'version 2', text: 'version: 2\nstages:\n  a: {cmd: x}\n', token: '2' },
  { code: 'invalid-name', name: 'a stage name with a slash', text: `${V}  a/b: {cmd: x}\n`, token: 'a/b' },
  { code: 'cmd-and-module', name: 'cmd and module', text: `${V}  a: {cmd: x, module: stages/a.ts}\n`, token: 'module' },
  { code: 'no-cmd-or-module', name: 'neither cmd nor module', text: `${V}  a: {outs: o}\n`, token: 'a:' },
  { code: 'cmd-syntax', name: 'a pipe without a shell', text: `${V}  a: {cmd: "sort x | uniq"}\n`, token: '| uniq' },
  { code: 'cmd-empty', name: 'an empty argv[0]', text: `${V}  a: {cmd: ["", x]}\n`, token: '""' },
  { code: 'shell-misuse', name: 'shell on a module stage', text: `${V}  a: {module: stages/a.ts, shell: true}\n`, token: 'shell' },
  { code: 'missing-module', name: 'a missing module', text: `${V}  a: {module: stages/nope.ts}\n`, token: 'stages/nope.ts' },
  { code: 'module-not-file', name: 'a module that is a folder', text: `${V}  a: {module: stages/dir}\n`, token: 'stages/dir' },
  { code: 'module-escapes', name: 'a module symlinked outside', text: `${V}  a: {module: stages/evil.ts}\n`, token: 'stages/evil.ts' },
  { code: 'bad-path', name: 'an absolute out', text: `${V}  a: {cmd: x, outs: [/etc/x]}\n`, token: '/etc/x' },
  { code: 'path-escapes', name: 'an out outside the workspace', text: `${V}  a: {cmd: x, outs: [../x]}\n`, token: '../x' },
  { code: 'unknown-interpolation', name: 'a reference to no param', text: `${V}  a: {cmd: x, deps: ["\${nope}"], params: {note: y}}\n`, token: '${nope}' },
  { code: 'unsafe-interpolation', name: 'a reference inside a command substitution', text: `${V}  a: {shell: true, cmd: 'echo "$(echo \${x})"', params: {x: y}}\n`, token: '${x}' },
  { code: 'glob-not-allowed', name: 'a glob out', text: `${V}  a: {cmd: x, outs: ["build/*.csv"]}\n`, token: '"build' },
  { code: 'reserved-out', name: 'pipeline.lock as an out', text: `${V}  a: {cmd: x, outs: [pipeline.lock]}\n`, token: 'pipeline.lock' },
  { code: 'dep-is-out', name: 'a dep inside its own out', text: `${V}  a: {cmd: x, deps: [build/x], outs: [build]}\n`, token: 'build/x' },
  { code: 'metrics-not-out', name: 'metrics not among outs', text: `${V}  a: {cmd: x, outs: [o], metrics: [m.json]}\n`, token: 'm.json' },
  { code: 'metrics-format', name: 'metrics neither JSON nor YAML', text: `${V}  a: {cmd: x, outs: [m], metrics: [m/x.csv]}\n`, token: 'm/x.csv' },
  { code: 'self-need', name: 'a stage that needs itself', text: `${V}  a: {cmd: x, needs: [a]}\n`, token: 'a]' },
  { code: 'unknown-need', name: 'an unknown need', text: `${V}  a: {cmd: x}\n  b: {cmd: x, needs: [c]}\n`, token: 'c]' },
  { code: 'reserved-env', name: 'PIPELINE_PARAMS in env', text: `${V}  a: {cmd: x, env: {PIPELINE_PARAMS: 1}}\n`, token: 'PIPELINE_PARAMS' },
  { code: 'pass-env-declared', name: 'a passEnv name also in env', text: `${V}  a: {cmd: x, env: {TOKEN: t}, passEnv: [HOME, TOKEN]}\n`, token: 'TOKEN]' },
  { code: 'pass-env-duplicate', name: 'a passEnv name listed twice', text: `${V}  a: {cmd: x, passEnv: [HF_TOKEN, HF_TOKEN]}\n`, token: 'HF_TOKEN', nth: 2 },
  { code: 'sbatch-option', name: 'an sbatch option the runner sets', text: `${V}  a: {cmd: x, resources: {sbatch: [--qos=low, --output=x.log]}}\n`, token: '--output' },
  { code: 'retry-unused', name: 'retryOn without retries', text: `${V}  a: {cmd: x, retryOn: [75]}\n`, token: '[75' },
  { code: 'retry-unused', name: 'retryOn on a gate', text: `${V}  a: {cmd: x, gate: true, retries: 1, retryOn: [75]}\n`, token: '[75' },
  { code: 'retry-unused', name: 'a memory list longer than the attempts', text: `${V}  a: {cmd: x, retries: 1, resources: {memory: [1G, 2G, 4G]}}\n`, token: '4G' },
  { code: 'matrix-shape', name: 'a matrix that is a list', text: `${V}  a: {cmd: x, matrix: [8, 16]}\n`, token: '[8' },
  { code: 'matrix-empty', name: 'a matrix key with an empty list', text: `${V}  a: {cmd: x, matrix: {bits: []}}\n`, token: '[]' },
  { code: 'matrix-value', name: 'a mapping among matrix values', text: `${V}  a: {cmd: x, matrix: {bits: [8, {b: 16}]}}\n`, token: '{b: 16' },
  { code: 'matrix-param-clash', name: 'a matrix key that is also a param', text: `${V}  a: {cmd: x, params: {bits: 4}, matrix: {bits: [8]}}\n`, token: 'bits: [' },
  { code: 'matrix-key-set', name: '--set of a matrix key', text: `${V}  a: {cmd: x, matrix: {bits: [8]}}\n`, token: 'bits', sets: ['a.bits=4'] },
  { code: 'expansion-name', name: 'a matrix value that cannot be part of a name, without a name pattern', text: `${V}  a: {cmd: x, matrix: {opt: [fast, "a b"]}}\n`, token: '"a b"' },
  { code: 'expansion-clash', name: 'an expansion named like another stage', text: `${V}  a-8: {cmd: x}\n  a: {cmd: x, matrix: {bits: [8]}, name: 'a-\${bits}'}\n`, token: "'a-" },
  { code: 'dep-unhashable', name: 'a dep under /proc', text: `${V}  a: {cmd: x, deps: [/proc/self/status]}\n`, token: '/proc' },
  { code: 'bad-remote', name: 'a remote url with an unknown scheme', text: `version: 1\nremote: {url: 'ftp://cache/team', pull: true}\nstages:\n  a: {cmd: x}\n`, token: "'ftp" },
  { code: 'out-overlap', name: 'two stages, one out', text: `${V}  a: {cmd: x, outs: [o]}\n  b: {cmd: x, outs: [o]}\n`, token: 'o]', nth: 2 },
  { code: 'cycle', name: 'a two-stage cycle', text: `${V}  a: {cmd: x, needs: [b]}\n  b: {cmd: x, needs: [a]}\n`, token: 'a]' },
  { code: 'dep-needs-producer', name: 'a glob dep matching another stage\'s out', text: `${V}  a: {cmd: x, outs: [data/a.csv]}\n  b: {cmd: x, deps: ["data/*.csv"]}\n`, token: '"data' },
  { code: 'command-builtin', name: 'a command named run', text: `${V}  a: {cmd: x}\ncommands:\n  run: stages/a.ts\n`, token: 'run:' },
  { code: 'unknown-param', name: '--set of an unknown param', text: `${V}  a: {cmd: x, params: {alpha: 1}}\n`, token: '{alpha', sets: ['a.beta=2'] },
  { code: 'unknown-stage', name: 'ci stage steps of an unknown stage', text: `${CI_BASE}ci:\n  stage-steps:\n    trian: [{run: echo}]\n`, token: 'trian' },
  { code: 'ci-job-id', name: 'an invalid CI job id', text: `${CI_BASE}ci:\n  jobs:\n    build.image: {steps: [{run: echo}]}\n`, token: '{steps' },
  { code: 'ci-artifact', name: 'artifacts of a stage that is not upstream', text: `${CI_BASE}ci:\n  jobs:\n    docker: {needs: [load], artifacts: [train], steps: [{run: echo}]}\n`, token: 'train]' },
  { code: 'ci-out-name', name: 'an out that cannot travel between CI jobs', text: `${V}  a: {cmd: x, outs: ["build/a\\nb"]}\n`, token: '"build' },
  { code: 'ci-secret-env', name: 'a credential of the remote in ci.env', text: `version: 1\nremote: s3://team/cache\nstages:\n  a: {cmd: x}\nci:\n  env: {AWS_SECRET_ACCESS_KEY: x}\n`, token: 'AWS_SECRET' },
];

describe('config diagnostics: one code per kind of mistake, at its place', () => {
  for (const c of cases) {
    it(`${c.code}: ${c.name}`, () => {
      const ds = diagnosticsOf(c.text, c.sets);
      expect(ds.length, 'diagnostics').to.be.greaterThan(0);
      expect(ds[0].code, ds[0].message).to.equal(c.code);
      expect(ds[0].severity).to.equal('error');
      if (c.token !== '') expect(`${ds[0].line}:${ds[0].col}`, ds[0].message).to.equal(at(c.text, c.token, c.nth));
      const d = ds[0];
      expect(d.endLine > d.line || (d.endLine === d.line && d.endCol >= d.col), 'the range ends after it starts').to.equal(true);
      expect(ds[0].hint ?? '', 'a hint').to.not.equal('');
    });
  }

  it('has a case for every code', () => {
    // Codes about the values of params against a stage module's schema need the module: tests/engine/params.test.ts
    // and tests/engine/params-refine.test.ts.
    const inParamsTest = ['param-type', 'param-missing', 'param-check', 'params-schema'];
    // Warnings, which `pipeline validate` reports on a file that loads: tests/config/remote.test.ts,
    // tests/engine/debug-failures.test.ts (dep-not-found).
    const warnings = ['remote-credentials', 'dep-not-found'];
    expect([...new Set([...cases.map((c) => c.code), ...inParamsTest, ...warnings])].sort()).to.deep.equal([...DIAGNOSTIC_CODES].sort());
  });

  it('ranges end where the node ends', () => {
    const text = `${V}  a: {cmd: x, ouths: o}\n  b: {cmd: x, needs: [prepar]}\n`;
    const [unknown, need] = diagnosticsOf(text);
    expect([unknown.line, unknown.col, unknown.endLine, unknown.endCol]).to.deep.equal([3, 15, 3, 20]);
    expect([need.line, need.col, need.endLine, need.endCol]).to.deep.equal([4, 23, 4, 29]);
  });
});

describe('config diagnostics: every independent mistake in one pass', () => {
  const three = [
    'version: 1',
    'stages:',
    '  prepare:',
    '    cmd: node prep.js',
    '    ouths: [build/a.csv]',
    '  train:',
    '    cmd: node train.js',
    '    needs: [prepar]',
    '    outs: [build/model.json]',
    '  report:',
    '    cmd: node report.js',
    '    outs: [build/model.json]',
    '',
  ].join('\n');

  it('reports an unknown key, an unknown need and an out written twice together, in file order', () => {
    const ds = diagnosticsOf(three);
    expect(ds.map((d) => [d.code, d.line, d.col])).to.deep.equal([
      ['unknown-key', 5, 5],
      ['unknown-need', 8, 13],
      ['out-overlap', 12, 12],
    ]);
    expect(ds[2].related.map((r) => [r.line, r.col, r.endLine, r.endCol])).to.deep.equal([[9, 12, 9, 28]]);
  });

  it('keeps checking the other stages when one has a wrong value, and every unknown key of a stage', () => {
    const ds = diagnosticsOf(`${V}  a: {cmd: x, outs: 1, cache: maybe}\n  b: {cmd: x, needz: [a], ouths: o}\n  c: {cmd: x, needs: [nope]}\n`);
    expect(ds.map((d) => d.code)).to.deep.equal(['wrong-type', 'wrong-type', 'unknown-key', 'unknown-key', 'unknown-need']);
  });

  it('a need of a stage with a bad shape is not an unknown need', () => {
    const ds = diagnosticsOf(`${V}  a: {cmd: x, outs: 1}\n  b: {cmd: x, needs: [a]}\n`);
    expect(ds.map((d) => d.code)).to.deep.equal(['wrong-type']);
  });

  it('points a duplicate at its first definition', () => {
    const text = `${V}  a: {cmd: x}\n  b: {cmd: y}\n  a: {cmd: z}\n`;
    const [d] = diagnosticsOf(text);
    expect(d.code).to.equal('duplicate-stage');
    expect(d.related.map((r) => `${r.line}:${r.col}`)).to.deep.equal([at(text, 'a:')]);
  });

  it('gives a cycle the other needs of its path as related locations, and reports separate cycles', () => {
    const text = `${V}  a: {cmd: x, needs: [c]}\n  b: {cmd: x, needs: [a]}\n  c: {cmd: x, needs: [b]}\n  d: {cmd: x, needs: [e]}\n  e: {cmd: x, needs: [d]}\n`;
    const ds = diagnosticsOf(text);
    expect(ds.map((d) => d.code)).to.deep.equal(['cycle', 'cycle']);
    expect(ds[0].message).to.contain('a → c → b → a');
    expect(`${ds[0].line}:${ds[0].col}`).to.equal(at(text, 'a]'));
    expect(ds[0].related.map((r) => `${r.line}:${r.col}`)).to.deep.equal([at(text, 'c]'), at(text, 'b]')]);
    expect(ds[1].message).to.contain('d → e → d');
  });

  it('names the stage writing the out a dep reads, as a related location', () => {
    const text = `${V}  a: {cmd: x, outs: [build/feat]}\n  b: {cmd: x, deps: [build/feat/x.csv, "build/feat/*.csv"]}\n`;
    const ds = diagnosticsOf(text);
    expect(ds.map((d) => [d.code, `${d.line}:${d.col}`])).to.deep.equal([
      ['dep-needs-producer', at(text, 'build/feat/x.csv')],
      ['dep-needs-producer', at(text, '"build/feat/*')],
    ]);
    expect(ds[1].related.map((r) => `${r.line}:${r.col}`)).to.deep.equal([at(text, 'build/feat]')]);
  });

  it('accepts a glob dep whose producer is needed, directly or through another stage', () => {
    const text = `${V}  a: {cmd: x, outs: [data/a.csv]}\n  m: {cmd: x, needs: [a]}\n  b: {cmd: x, needs: [m], deps: ["data/*.csv", "other/*.csv"]}\n`;
    expect(diagnosticsOf(text)).to.deep.equal([]);
  });

  it(`keeps the first ${MAX_DIAGNOSTICS} and counts the rest`, () => {
    const needs = Array.from({ length: 25 }, (_, i) => `n${i}`);
    let err: unknown;
    try {
      parseConfigText(`${V}  a: {cmd: x, needs: [${needs.join(', ')}]}\n`, file);
    } catch (e) {
      err = e;
    }
    const e = err as ConfigError;
    expect(e.diagnostics.length).to.equal(MAX_DIAGNOSTICS);
    expect(e.omitted).to.equal(25 - MAX_DIAGNOSTICS);
    expect(e.diagnostics.every((d) => d.code === 'unknown-need')).to.equal(true);
    expect(e.format()).to.contain(`… and ${25 - MAX_DIAGNOSTICS} more errors not shown`);
  });

  it('refuses reserved names as stage names and as param names at any depth', () => {
    const text = `version: 1\nparams: {prototype: 1}\nstages:\n  constructor: {cmd: x}\n  b: {cmd: x, params: {list: [{__proto__: 1}]}}\n`;
    const ds = diagnosticsOf(text);
    expect(ds.filter((d) => d.code === 'reserved-name').map((d) => `${d.line}:${d.col}`)).to.deep.equal([
      at(text, 'prototype'),
      at(text, 'constructor'),
      at(text, '__proto__'),
    ]);
  });

  it('says the size limit before parsing a file that is too large', () => {
    const [d] = diagnosticsOf(`${V}  a: {cmd: x}\n# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(d.message).to.contain(`at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB`);
  });
});

describe('config diagnostics: the human form', () => {
  it('prints each diagnostic as file:line:col: message, its hint and related locations, then the count left out', () => {
    const d: Diagnostic = {
      code: 'out-overlap',
      severity: 'error',
      file: 'pipeline.yaml',
      line: 12,
      col: 12,
      endLine: 12,
      endCol: 28,
      message: 'stage `report`: out `build/model.json` is also written by stage `train` (at 9:12)',
      hint: 'outs may not overlap: each file or folder out belongs to one stage as a whole',
      related: [{ file: 'pipeline.yaml', line: 9, col: 12, endLine: 9, endCol: 28, message: 'stage `train` writes `build/model.json`' }],
    };
    expect(formatDiagnostics([d], 3)).to.equal(
      'error: pipeline.yaml:12:12: stage `report`: out `build/model.json` is also written by stage `train` (at 9:12)\n' +
        'hint: outs may not overlap: each file or folder out belongs to one stage as a whole\n' +
        '  related: pipeline.yaml:9:12: stage `train` writes `build/model.json`\n' +
        '… and 3 more errors not shown (fix these and run again)\n',
    );
  });
});
