// The other commands and the command line itself: `dag` in every format, `metrics` (table, JSON, diff),
// -C / --config, and usage errors (exit 2 with a message).
import { expect } from 'chai';
import { STAGE_SCRIPT, makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { CHAIN_YAML, chainWorkspace } from './fixtures.js';

const METRICS_YAML = `${CHAIN_YAML.replace('  report:\n', '  report:\n    gate: true\n')}  score:
    cmd: [node, -e, "const p = JSON.parse(process.env.PIPELINE_PARAMS); require('fs').writeFileSync('build/metrics.json', JSON.stringify({ rmse: p.rmse, fit: { r2: p.r2, n: 3 }, name: 'x' }))"]
    needs: [report]
    outs: [build/metrics.json]
    metrics: [build/metrics.json]
    params: {rmse: 0.5, r2: 0.8}
`;

describe('engine: dag and metrics', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: METRICS_YAML, files: { 'stage.js': STAGE_SCRIPT, 'fit.js': STAGE_SCRIPT, 'data/raw.txt': 'x\n' } });
  });
  after(() => ws.cleanup());

  const out = async (...args: string[]) => {
    const r = await ws.run(args);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    return r.stdout;
  };

  it('dag --format ascii (the default): boxes and lines, fan-in drawn as lines meeting, gates marked', async () => {
    const ascii = [
      '+---------+',
      '| prepare |',
      '+---------+',
      '      *',
      '      *',
      '      *',
      '      *',
      '  +-----+   +------+',
      '  | fit |   | side |',
      '  +-----+   +------+',
      '      *         *',
      '      *         *',
      '      *         *',
      '       **     **',
      '  +---------------+',
      '  | report [gate] |',
      '  +---------------+',
      '           *',
      '           *',
      '           *',
      '           *',
      '      +-------+',
      '      | score |',
      '      +-------+',
      '',
    ].join('\n');
    expect(await out('dag', '--format', 'ascii')).to.equal(ascii);
    expect(await out('dag')).to.equal(ascii);
  });

  it('dag --format mermaid', async () => {
    expect(await out('dag', '--format', 'mermaid')).to.equal(
      [
        'flowchart TD',
        '  s_prepare["prepare"]',
        '  s_fit["fit"]',
        '  s_side["side"]',
        '  s_report["report"]',
        '  s_score["score"]',
        '  s_prepare --> s_fit',
        '  s_fit --> s_report',
        '  s_side --> s_report',
        '  s_report --> s_score',
        '',
      ].join('\n'),
    );
  });

  it('dag --format dot', async () => {
    expect(await out('dag', '--format', 'dot')).to.equal(
      [
        'digraph pipeline {',
        '  rankdir=TB;',
        '  node [shape=box, style=rounded];',
        '  "prepare";',
        '  "fit";',
        '  "side";',
        '  "report";',
        '  "score";',
        '  "prepare" -> "fit";',
        '  "fit" -> "report";',
        '  "side" -> "report";',
        '  "report" -> "score";',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('dag --format json', async () => {
    const text = await out('dag', '--format', 'json');
    expect(JSON.parse(text)).to.deep.equal({
      nodes: ['prepare', 'fit', 'side', 'report', 'score'],
      edges: [
        ['prepare', 'fit'],
        ['fit', 'report'],
        ['side', 'report'],
        ['report', 'score'],
      ],
    });
  });

  it('metrics before any run, then as a table and as JSON (numbers only, flattened keys)', async () => {
    expect(await out('metrics')).to.equal('metrics files missing: build/metrics.json (stage `score`); `pipeline run score` writes them\n');
    expect(await out('metrics', '--diff')).to.equal('metrics files missing: build/metrics.json (stage `score`); `pipeline run score` writes them\n');
    expect(JSON.parse(await out('metrics', '--diff', '--json'))).to.deep.equal([]);
    // A run that wrote no metrics, then one that did: nothing to compare, said in one line (not a row per metric
    // reading "— → new"), with --all too; --json answers an empty list of changes.
    expect((await ws.run(['run', 'fit'])).exitCode).to.equal(0);
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    const nothing = 'nothing to compare: no recorded run has other metrics than the current ones (3 metrics in 1 file; `pipeline metrics` lists them)\n';
    expect(await out('metrics', '--diff')).to.equal(nothing);
    expect(await out('metrics', '--diff', '--all')).to.equal(nothing);
    expect(JSON.parse(await out('metrics', '--diff', '--json'))).to.deep.equal([]);
    expect(await out('metrics')).to.equal(
      ['file                metric  value', 'build/metrics.json  rmse      0.5', 'build/metrics.json  fit.r2    0.8', 'build/metrics.json  fit.n       3', ''].join('\n'),
    );
    expect(JSON.parse(await out('metrics', '--json'))).to.deep.equal({ 'build/metrics.json': { rmse: 0.5, 'fit.r2': 0.8, 'fit.n': 3 } });
  });

  it('metrics --diff against the previous run: changed values only; --all shows every value', async () => {
    expect((await ws.run(['run', '--set', 'score.rmse=0.4'])).exitCode).to.equal(0);
    expect(await out('metrics', '--diff')).to.equal(
      ['file                metric  old  new  change', 'build/metrics.json  rmse    0.5  0.4    -0.1', ''].join('\n'),
    );
    expect(JSON.parse(await out('metrics', '--diff', '--json'))).to.deep.equal([{ file: 'build/metrics.json', key: 'rmse', old: 0.5, new: 0.4 }]);
    expect(await out('metrics', '--diff', '--all')).to.equal(
      [
        'file                metric  old  new  change',
        'build/metrics.json  fit.n     3    3      +0',
        'build/metrics.json  fit.r2  0.8  0.8      +0',
        'build/metrics.json  rmse    0.5  0.4    -0.1',
        '',
      ].join('\n'),
    );
    // A no-op run does not move the baseline: the diff still shows the last change.
    expect((await ws.run(['run', '--set', 'score.rmse=0.4'])).exitCode).to.equal(0);
    expect(await out('metrics', '--diff')).to.include('build/metrics.json  rmse    0.5  0.4    -0.1\n');
  });
});

describe('engine: command line', function () {
  let ws: Workspace;
  before(() => {
    ws = chainWorkspace();
  });
  after(() => ws.cleanup());

  const usage = async (args: string[], stderr: string | RegExp) => {
    // The derived state in .pipeline/state (the parsed config of a valid file) may be refreshed; nothing else.
    const before = ws.userSnapshot();
    const r = await ws.run(args);
    expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
    if (typeof stderr === 'string') expect(r.stderr).to.equal(stderr);
    else expect(r.stderr).to.match(stderr);
    expect(r.stdout).to.equal('');
    expect(ws.userSnapshot(), 'nothing written').to.deep.equal(before);
  };

  it('an unknown stage: exit 2 with a did-you-mean and the list of stages', async () => {
    await usage(
      ['run', 'fitt'],
      `error: unknown stage \`fitt\` (did you mean \`fit\`?)\nhint: stages in ${ws.path('pipeline.yaml')}: prepare, fit, side, report\n`,
    );
    await usage(['run', 'xyzzy', '--dry-run'], /^error: unknown stage `xyzzy`\nhint: stages in /);
    await usage(['status', 'reprot'], /^error: unknown stage `reprot` \(did you mean `report`\?\)\n/);
  });

  it('a bad --jobs: exit 2, saying what is expected', async () => {
    for (const bad of ['0', '-1', 'x', '1.5']) {
      await usage(
        ['run', '--jobs', bad],
        `error: option '-j, --jobs <n>' argument '${bad}' is invalid. expected a positive whole number, e.g. --jobs 4\n(run \`pipeline help\` for usage)\n`,
      );
    }
  });

  it('a bad --set: exit 2, what is wrong and the expected form', async () => {
    await usage(
      ['run', '--set', 'alpha'],
      'error: --set alpha: missing `=`\nhint: expected --set [STAGE.]KEY=VALUE, e.g. --set fit.alpha=0.2 or --set seed=7\n',
    );
    await usage(['run', '--set', 'fit.nope=1'], /^error: pipeline\.yaml:\d+:\d+: --set fit\.nope=1: stage `fit` has no param `nope`\nhint: its params are: seed, alpha, value/);
    await usage(['run', '--set', 'fitt.alpha=1'], /^error: .*--set fitt\.alpha=1: .*`fitt`.*\(did you mean `fit`\?\)/);
  });

  it('an unknown command or option: exit 2', async () => {
    await usage(['runn'], 'error: unknown command `runn` (did you mean `run`?)\nhint: commands: init, run, status, dag, metrics, params, exp, validate, gc, schema, ci, cache, fingerprint, push, pull, update, watch\n');
    await usage(['run', '--bogus'], "error: unknown option '--bogus'\n(run `pipeline help` for usage)\n");
    await usage(['dag', '--format', 'png'], /^error: option '--format <format>' argument 'png' is invalid\. Allowed choices are ascii, mermaid, dot, json\.\n/);
  });

  it('-C DIR and --config FILE pick the workspace from elsewhere', async () => {
    const here = makeWorkspace({ yaml: 'version: 1\nstages: {}\n' });
    try {
      const r = await here.run(['-C', ws.dir, 'status', '--json']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.json.stages.map((s: { name: string }) => s.name)).to.deep.equal(['prepare', 'fit', 'side', 'report']);
      const v = await here.run(['--config', ws.path('pipeline.yaml'), 'validate']);
      expect(v.exitCode, v.stderr).to.equal(0);
      expect(v.stdout).to.equal(`${ws.path('pipeline.yaml')}: valid, 4 stages (prepare, side → fit → report)\n`);
    } finally {
      here.cleanup();
    }
  });

  it('progress is plain lines without escape codes when stdout is not a terminal', async () => {
    const env = { NO_COLOR: undefined, CI: undefined, TERM: 'xterm-256color' };
    const r = await ws.run(['run'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    const s = await ws.run(['status'], { env });
    for (const text of [r.stdout, r.stderr, s.stdout]) expect(text).to.not.include('\u001b');
    expect(r.stdout).to.match(/^prepare +ran +[\d.]+m?s {2}never run$/m);
    expect(r.stdout).to.match(/^4 stages: 4 ran, 0 cached, 0 failed, 0 blocked \([\d.]+m?s\)$/m);
  });
});
