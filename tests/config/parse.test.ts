// Valid pipeline.yaml files parse to exactly the expected PipelineConfig.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfigText } from '../../runner/config/load.js';
import { durationMs } from '../../runner/config/stage.js';
import { ConfigError, UsageError } from '../../runner/core/errors.js';
import type { PipelineConfig, StageConfig } from '../../runner/config/types.js';

function stage(over: Partial<StageConfig> & Pick<StageConfig, 'name' | 'pos'>): StageConfig {
  return {
    kind: 'cmd',
    shell: false,
    deps: [],
    needs: [],
    params: {},
    ownParams: [],
    outs: [],
    metrics: [],
    env: {},
    cache: true,
    gate: false,
    ...over,
  };
}

describe('config: valid files', () => {
  let ws: string;
  let file: string;
  beforeEach(() => {
    ws = mkdtempSync(path.join(os.tmpdir(), 'pipeline-config-'));
    file = path.join(ws, 'pipeline.yaml');
    mkdirSync(path.join(ws, 'stages'));
    writeFileSync(path.join(ws, 'stages/fit.ts'), 'export default async function () {}\n');
  });
  afterEach(() => rmSync(ws, { recursive: true, force: true }));

  const parse = (text: string) => parseConfigText(text, file);
  const pos = (line: number, col: number) => ({ file, line, col });

  it('parses the example from the README to the exact config', () => {
    const config = parse(`# yaml-language-server: $schema=./pipeline.schema.json
version: 1
params:                 # global params, visible to every stage
  seed: 42
  opt: {lr: 0.5}
stages:
  prepare:
    desc: clean the raw data
    cmd: node scripts/prepare.js --in "data/raw file.csv"
    deps: [scripts/prepare.js, ./data/raw.csv, "data/parts/*.csv"]
    outs: [build/clean.csv]
  fit:
    module: ./stages/fit.ts
    needs: [prepare]
    params: {alpha: 0.1, seed: 7}
    outs: [build/model.json, build/metrics/]
    metrics: [build/metrics/fit.json]
    env: {OMP_NUM_THREADS: 1, DEBUG: false, MODE: fast}
    timeout: 90
  gate:
    cmd: [node, scripts/gate.js]
    needs: fit
    gate: true
    cache: false
    timeout: 1.5m
  report:
    cmd: cat build/model.json | wc -c > build/size.txt
    shell: true
    needs: [gate, fit, gate]
    outs: build/size.txt
commands:
  explain: stages/fit.ts
ci:
  node: 20
  runs-on: [ubuntu-latest]
`);
    const expected: Omit<PipelineConfig, 'positionOf'> = {
      file,
      root: ws,
      version: 1,
      params: { seed: 42, opt: { lr: 0.5 } },
      stages: [
        stage({
          name: 'prepare',
          desc: 'clean the raw data',
          cmd: ['node', 'scripts/prepare.js', '--in', 'data/raw file.csv'],
          deps: ['scripts/prepare.js', 'data/raw.csv', 'data/parts/*.csv'],
          outs: ['build/clean.csv'],
          params: { seed: 42, opt: { lr: 0.5 } },
          pos: pos(7, 3),
        }),
        stage({
          name: 'fit',
          kind: 'module',
          module: 'stages/fit.ts',
          needs: ['prepare'],
          params: { seed: 7, opt: { lr: 0.5 }, alpha: 0.1 },
          ownParams: ['alpha', 'seed'],
          outs: ['build/model.json', 'build/metrics'],
          metrics: ['build/metrics/fit.json'],
          env: { OMP_NUM_THREADS: '1', DEBUG: 'false', MODE: 'fast' },
          timeoutMs: 90_000,
          pos: pos(12, 3),
        }),
        stage({
          name: 'gate',
          cmd: ['node', 'scripts/gate.js'],
          needs: ['fit'],
          gate: true,
          cache: false,
          timeoutMs: 90_000,
          params: { seed: 42, opt: { lr: 0.5 } },
          pos: pos(20, 3),
        }),
        stage({
          name: 'report',
          cmd: ['cat build/model.json | wc -c > build/size.txt'],
          shell: true,
          needs: ['gate', 'fit'],
          outs: ['build/size.txt'],
          params: { seed: 42, opt: { lr: 0.5 } },
          pos: pos(26, 3),
        }),
      ],
      commands: { explain: 'stages/fit.ts' },
      ci: { node: 20, 'runs-on': ['ubuntu-latest'] },
      digest: config.digest,
    };
    expect(config.digest).to.match(/^[0-9a-f]{64}$/);
    expect(config).to.deep.equal(expected);
    expect(Object.keys(config)).to.not.include('positionOf');
    expect(JSON.parse(JSON.stringify(config))).to.deep.equal(expected);
  });

  it('gives each stage its own copy of the global params', () => {
    const config = parse('version: 1\nparams: {opt: {lr: 1}}\nstages:\n  a: {cmd: x}\n  b: {cmd: y}\n');
    expect(config.stages[0].params.opt).to.not.equal(config.stages[1].params.opt);
    expect(config.stages[0].params.opt).to.deep.equal(config.params.opt);
  });

  it('accepts an empty stages mapping and defaults everything else', () => {
    const config = parse('version: 1\nstages: {}\n');
    expect(config.stages).to.deep.equal([]);
    expect(config.params).to.deep.equal({});
    expect(config.commands).to.deep.equal({});
    expect(config.ci).to.deep.equal({});
  });

  it('normalizes paths: forward slashes, no ./, no trailing /, inner .. resolved', () => {
    const config = parse(`version: 1
stages:
  a:
    cmd: x
    deps: ['./src//a.js', 'src\\\\b.js', 'lib/../src/c.js']
    outs: ['build/out/', './build/x/./y.json']
`);
    expect(config.stages[0].deps).to.deep.equal(['src/a.js', 'src/b.js', 'src/c.js']);
    expect(config.stages[0].outs).to.deep.equal(['build/out', 'build/x/y.json']);
  });

  it('accepts a single string wherever a list of paths or stage names goes', () => {
    const config = parse(`version: 1
stages:
  a: {cmd: x, outs: build/a.json, metrics: build/a.json}
  b: {cmd: y, needs: a, deps: src/b.js}
`);
    expect(config.stages[0].outs).to.deep.equal(['build/a.json']);
    expect(config.stages[0].metrics).to.deep.equal(['build/a.json']);
    expect(config.stages[1].needs).to.deep.equal(['a']);
    expect(config.stages[1].deps).to.deep.equal(['src/b.js']);
  });

  it('lets a stage list an upstream stage\'s out as a dep', () => {
    const config = parse(`version: 1
stages:
  a: {cmd: x, outs: [build/a]}
  b: {cmd: y, needs: [a]}
  c: {cmd: z, needs: [b], deps: [build/a/part.csv]}
`);
    expect(config.stages[2].deps).to.deep.equal(['build/a/part.csv']);
  });

  it('converts timeouts to milliseconds', () => {
    expect(durationMs(30)).to.equal(30_000);
    expect(durationMs(0.25)).to.equal(250);
    expect(durationMs('500ms')).to.equal(500);
    expect(durationMs('30s')).to.equal(30_000);
    expect(durationMs('10m')).to.equal(600_000);
    expect(durationMs('1h')).to.equal(3_600_000);
    expect(durationMs('1.5h')).to.equal(5_400_000);
  });

  it('positionOf finds keys, list entries and falls back to the nearest ancestor', () => {
    const config = parse(`version: 1
params:
  seed: 42
stages:
  fit:
    cmd: x
    params: {alpha: 0.1}
    outs:
      - build/a
      - build/b
    deps:
`);
    expect(config.positionOf(['params', 'seed'])).to.deep.equal(pos(3, 9));
    expect(config.positionOf(['stages', 'fit'])).to.deep.equal(pos(6, 5));
    expect(config.positionOf(['stages', 'fit', 'params', 'alpha'])).to.deep.equal(pos(7, 21));
    expect(config.positionOf(['stages', 'fit', 'outs', 1])).to.deep.equal(pos(10, 9));
    expect(config.positionOf(['stages', 'fit', 'outs', 5])).to.deep.equal(pos(9, 7));
    expect(config.positionOf(['stages', 'fit', 'nope', 'deeper'])).to.deep.equal(pos(6, 5));
    expect(config.positionOf(['stages', 'fit', 'deps'])).to.deep.equal(pos(11, 5), 'an empty value points at its key');
    expect(config.positionOf([])).to.deep.equal(pos(1, 1));
  });

  it('refuses a module that resolves outside the workspace through a symlink', () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'pipeline-outside-'));
    try {
      writeFileSync(path.join(outside, 'evil.ts'), 'export default () => {}\n');
      symlinkSync(path.join(outside, 'evil.ts'), path.join(ws, 'stages/evil.ts'));
      expect(() => parse('version: 1\nstages:\n  a: {module: stages/evil.ts}\n'))
        .to.throw(ConfigError, /3:15: stage `a`: module `stages\/evil.ts` resolves to .*, outside the workspace/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses a module that is a folder, and a workspace command whose module is missing', () => {
    expect(() => parse('version: 1\nstages:\n  a: {module: stages}\n')).to.throw(ConfigError, /3:15: stage `a`: module `stages` is not a file/);
    expect(() => parse('version: 1\nstages: {}\ncommands:\n  report: tools/report.ts\n')).to.throw(
      ConfigError,
      /4:11: command `report`: module `tools\/report.ts` not found/,
    );
  });

  it('reports the first of several problems in file order, a misspelled key before a missing one', () => {
    expect(() => parse('version: 1\nstagess:\n  a: {cmd: x}\n')).to.throw(ConfigError, /2:1: unknown top-level key `stagess` \(did you mean `stages`\?\)/);
    expect(() => parse('version: 1\nstages:\n  a: {cmd: x, outs: 1}\n  b: {cmd: 2}\n')).to.throw(ConfigError, /3:21: stage `a`: `outs`/);
  });

  it('points at the stage setting placed at the top level', () => {
    const err = (() => {
      try {
        parse('version: 1\ncmd: echo hi\nstages: {}\n');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.message).to.equal(`${file}:2:1: unknown top-level key \`cmd\``);
    expect(err?.hint).to.include('put it under `stages:`');
  });
});

describe('config: loadConfig', () => {
  let ws: string;
  beforeEach(() => {
    ws = mkdtempSync(path.join(os.tmpdir(), 'pipeline-load-'));
  });
  afterEach(() => rmSync(ws, { recursive: true, force: true }));

  it('finds pipeline.yaml in the working folder', async () => {
    writeFileSync(path.join(ws, 'pipeline.yaml'), 'version: 1\nstages:\n  a: {cmd: x}\n');
    const config = await loadConfig({ cwd: ws });
    expect(config.file).to.equal(path.join(ws, 'pipeline.yaml'));
    expect(config.root).to.equal(ws);
    expect(config.stages[0].pos).to.deep.equal({ file: 'pipeline.yaml', line: 3, col: 3 });
  });

  it('finds pipeline.yml in a parent folder; the workspace is that folder', async () => {
    writeFileSync(path.join(ws, 'pipeline.yml'), 'version: 1\nstages:\n  a: {cmd: x}\n');
    mkdirSync(path.join(ws, 'src/deep'), { recursive: true });
    const config = await loadConfig({ cwd: path.join(ws, 'src/deep') });
    expect(config.file).to.equal(path.join(ws, 'pipeline.yml'));
    expect(config.root).to.equal(ws);
  });

  it('prefers the nearest config and pipeline.yaml over pipeline.yml', async () => {
    writeFileSync(path.join(ws, 'pipeline.yaml'), 'version: 1\nstages: {outer: {cmd: x}}\n');
    mkdirSync(path.join(ws, 'inner'));
    writeFileSync(path.join(ws, 'inner/pipeline.yml'), 'version: 1\nstages: {yml: {cmd: x}}\n');
    writeFileSync(path.join(ws, 'inner/pipeline.yaml'), 'version: 1\nstages: {yaml: {cmd: x}}\n');
    const config = await loadConfig({ cwd: path.join(ws, 'inner') });
    expect(config.stages.map((s) => s.name)).to.deep.equal(['yaml']);
  });

  it('reports an empty config file instead of skipping it', async () => {
    writeFileSync(path.join(ws, 'pipeline.yaml'), '\n\n');
    const err = await loadConfig({ cwd: ws }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.equal('pipeline.yaml:1:1: the file is empty');
  });

  it('uses --config relative to the working folder, any file name', async () => {
    mkdirSync(path.join(ws, 'conf'));
    writeFileSync(path.join(ws, 'conf/other.yaml'), 'version: 1\nstages:\n  a: {cmd: x, outs: [o]}\n');
    const config = await loadConfig({ cwd: ws, configFile: 'conf/other.yaml' });
    expect(config.file).to.equal(path.join(ws, 'conf/other.yaml'));
    expect(config.root).to.equal(path.join(ws, 'conf'));
    const bad = await loadConfig({ cwd: ws, configFile: 'conf/missing.yaml' }).catch((e: unknown) => e);
    expect(bad).to.be.instanceOf(UsageError);
    expect((bad as Error).message).to.equal(`config file conf/missing.yaml not found (looked for ${path.join(ws, 'conf/missing.yaml')})`);
  });

  it('says how to start when there is no config anywhere up to the root', async () => {
    const err = await loadConfig({ cwd: ws }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UsageError);
    expect((err as Error).message).to.equal(
      `no pipeline.yaml in ${ws} or its parents; run \`pipeline init\` to create one here, or pass --config FILE`,
    );
  });

  describe('with a cache folder', () => {
    const cacheDir = () => path.join(ws, '.pipeline');
    const configModule = new URL('../../runner/config/load.ts', import.meta.url).href;
    /** Loads in a fresh process; prints which of yaml and zod were loaded. */
    const loadedLibraries = () =>
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `import('${configModule}').then(async (m) => { await m.loadConfig({ cwd: ${JSON.stringify(ws)}, cacheDir: ${JSON.stringify(cacheDir())} });` +
            ` const k = Object.keys(require.cache); process.stdout.write(['yaml', 'zod'].filter((l) => k.some((f) => f.includes('/node_modules/' + l + '/'))).join(',')); })`,
        ],
        { encoding: 'utf8' },
      );

    it('loads an unchanged file from the cache, without yaml or zod, to the same config', async () => {
      mkdirSync(path.join(ws, 'stages'));
      writeFileSync(path.join(ws, 'stages/b.ts'), 'export default () => {}\n');
      writeFileSync(path.join(ws, 'pipeline.yaml'), 'version: 1\nstages:\n  a: {cmd: x, outs: [o]}\n  b: {module: stages/b.ts, needs: [a]}\n');
      expect(loadedLibraries()).to.equal('yaml,zod');
      expect(existsSync(cacheDir()), 'the loader does not create the cache folder').to.equal(false);
      mkdirSync(cacheDir());
      expect(loadedLibraries()).to.equal('yaml,zod', 'first load: parsed and checked');
      expect(loadedLibraries()).to.equal('', 'second load: from the cache');
      const fresh = parseConfigText(readFileSync(path.join(ws, 'pipeline.yaml'), 'utf8'), path.join(ws, 'pipeline.yaml'));
      const cached = await loadConfig({ cwd: ws, cacheDir: cacheDir() });
      expect({ ...cached, stages: cached.stages.map((s) => ({ ...s, pos: { ...s.pos, file: path.join(ws, 'pipeline.yaml') } })) }).to.deep.equal(fresh);
      expect(cached.stages[1].pos).to.deep.equal({ file: 'pipeline.yaml', line: 4, col: 3 });
      expect(cached.positionOf(['stages', 'b', 'needs', 0])).to.deep.equal({ file: 'pipeline.yaml', line: 4, col: 36 });
    });

    it('checks a changed file again, and still checks module files of a cached one', async () => {
      mkdirSync(path.join(ws, 'stages'));
      writeFileSync(path.join(ws, 'stages/b.ts'), 'export default () => {}\n');
      writeFileSync(path.join(ws, 'pipeline.yaml'), 'version: 1\nstages:\n  b: {module: stages/b.ts}\n');
      mkdirSync(cacheDir());
      await loadConfig({ cwd: ws, cacheDir: cacheDir() });
      rmSync(path.join(ws, 'stages/b.ts'));
      const gone = await loadConfig({ cwd: ws, cacheDir: cacheDir() }).catch((e: unknown) => e);
      expect((gone as Error).message).to.match(/^pipeline.yaml:3:15: stage `b`: module `stages\/b.ts` not found/);
      writeFileSync(path.join(ws, 'pipeline.yaml'), 'version: 1\nstages:\n  b: {cmd: x, cache: maybe}\n');
      const changed = await loadConfig({ cwd: ws, cacheDir: cacheDir() }).catch((e: unknown) => e);
      expect((changed as Error).message).to.equal('pipeline.yaml:3:22: stage `b`: `cache` must be true or false; got the string "maybe"');
    });

    it('ignores a damaged cache file and replaces it', async () => {
      writeFileSync(path.join(ws, 'pipeline.yaml'), 'version: 1\nstages:\n  a: {cmd: x}\n');
      mkdirSync(cacheDir());
      writeFileSync(path.join(cacheDir(), 'config.json'), '{"format": "pipeline.yaml normalized 1", "dig');
      const config = await loadConfig({ cwd: ws, cacheDir: cacheDir() });
      expect(config.stages.map((s) => s.name)).to.deep.equal(['a']);
      const entry = JSON.parse(readFileSync(path.join(cacheDir(), 'config.json'), 'utf8'));
      expect(entry.digest).to.equal(config.digest);
      expect(readdirSync(cacheDir())).to.deep.equal(['config.json']);
    });

    it('takes a relative cache folder from the workspace root', async () => {
      writeFileSync(path.join(ws, 'pipeline.yaml'), 'version: 1\nstages:\n  a: {cmd: x}\n');
      mkdirSync(path.join(ws, 'sub'));
      mkdirSync(cacheDir());
      const config = await loadConfig({ cwd: path.join(ws, 'sub'), cacheDir: '.pipeline' });
      expect(JSON.parse(readFileSync(path.join(ws, '.pipeline/config.json'), 'utf8')).digest).to.equal(config.digest);
    });

    it('writes nothing for a bad config', async () => {
      writeFileSync(path.join(ws, 'pipeline.yaml'), 'version: 1\nstages:\n  a: {cmd: x, needs: [a]}\n');
      mkdirSync(cacheDir());
      const err = await loadConfig({ cwd: ws, cacheDir: cacheDir() }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConfigError);
      expect(readdirSync(cacheDir())).to.deep.equal([]);
    });
  });
});
