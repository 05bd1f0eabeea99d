// `retries: N` and `retryOn: [codes]` through the real CLI: a failed attempt is followed by another with the same
// inputs once what it left of its outs is removed, each attempt told its number (PIPELINE_ATTEMPT, ctx.attempt),
// every attempt in the stage's log, `stage-retry` events with their causes and `attempts` in `run --json`; the
// fingerprint and pipeline.lock are those of the same stage without the keys. Never retried: a gate's verdict, an
// interrupt, a module that cannot load or build, an exit `retryOn` does not list. Bad values: exit 2 with positions.
import { expect } from 'chai';
import { makeWorkspace, waitFor, type CliResult, type Workspace } from '../helpers/workspace.js';

interface StageJson {
  name: string;
  status: string;
  reason: string;
  attempts: number;
  fingerprint: string | null;
  outcome: { kind: string; cause?: Record<string, unknown> };
}

interface RetryEvent {
  type: string;
  name: string;
  attempt: number;
  message: string;
  cause: Record<string, unknown>;
}

/**
 * Fails on its first two executions (a counter outside its outs), each after writing a partial out; refuses to start
 * when the attempt before left that partial out behind.
 */
const FLAKY_SH = `#!/bin/sh
if [ -e out.txt ]; then echo "the attempt before left out.txt" >&2; exit 99; fi
n=$(( $(cat count.txt 2>/dev/null || echo 0) + 1 ))
echo "$n" > count.txt
echo "execution $n, PIPELINE_ATTEMPT=$PIPELINE_ATTEMPT"
echo partial > out.txt
if [ "$n" -lt 3 ]; then echo "flaky failure $n" >&2; exit 5; fi
echo done > out.txt
`;

const flakyYaml = (settings: string) => `version: 1
stages:
  flaky:
    cmd: sh flaky.sh
    deps: [flaky.sh]
    outs: [out.txt]
${settings}`;

function stageOf(r: CliResult, name: string): StageJson {
  const stage = (r.json.stages as StageJson[]).find((s) => s.name === name);
  expect(stage, `stage ${name} in run --json`).to.not.equal(undefined);
  return stage!;
}

function retriesOf(r: CliResult): RetryEvent[] {
  return ((r.json.events ?? []) as RetryEvent[]).filter((e) => e.type === 'stage-retry');
}

describe('engine: retries', function () {
  const made: Workspace[] = [];
  const make = (yaml: string, files: Record<string, string> = {}) => {
    const ws = makeWorkspace({ yaml, files });
    made.push(ws);
    return ws;
  };
  afterEach(() => {
    for (const ws of made.splice(0)) ws.cleanup();
  });

  it('fails twice, succeeds on attempt 3 of `retries: 2`: ran, 3 attempts, two stage-retry events with their causes, partial outs gone before each attempt, every attempt in the log; fingerprint and lock as without retries', async () => {
    const ws = make(flakyYaml('    retries: 2\n'), { 'flaky.sh': FLAKY_SH });
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const flaky = stageOf(r, 'flaky');
    expect(flaky.status).to.equal('ran');
    expect(flaky.attempts).to.equal(3);
    expect(retriesOf(r).map(({ name, attempt, cause, message }) => ({ name, attempt, cause, message }))).to.deep.equal([
      { name: 'flaky', attempt: 2, cause: { kind: 'exit', exitCode: 5, message: 'flaky failure 1' }, message: 'attempt 2, after: flaky failure 1' },
      { name: 'flaky', attempt: 3, cause: { kind: 'exit', exitCode: 5, message: 'flaky failure 2' }, message: 'attempt 3, after: flaky failure 2' },
    ]);
    // The partial out of a failed attempt was removed before the next began (else the stage exits 99).
    expect(ws.read('out.txt')).to.equal('done\n');
    expect(ws.read('count.txt')).to.equal('3\n');
    expect(ws.read('.pipeline/logs/flaky.log')).to.equal(
      [
        'execution 1, PIPELINE_ATTEMPT=1',
        'flaky failure 1',
        '──── attempt 2 of 3 (attempt 1 failed: flaky failure 1) ────',
        'execution 2, PIPELINE_ATTEMPT=2',
        'flaky failure 2',
        '──── attempt 3 of 3 (attempt 2 failed: flaky failure 2) ────',
        'execution 3, PIPELINE_ATTEMPT=3',
        '',
      ].join('\n'),
    );
    expect(r.stderr).to.match(/^flaky +running +attempt 2, after: flaky failure 1$/m);
    expect(r.stderr).to.match(/^flaky +ran +[0-9.]+m?s +never run \(3 attempts\)$/m);

    // The same stage without the keys, succeeding at once: the same fingerprint and pipeline.lock entry.
    const plain = make(flakyYaml(''), { 'flaky.sh': FLAKY_SH, 'count.txt': '2\n' });
    const p = await plain.run(['run', '--json']);
    expect(p.exitCode, p.stderr).to.equal(0);
    expect(stageOf(p, 'flaky').attempts).to.equal(1);
    expect(retriesOf(p)).to.deep.equal([]);
    expect(stageOf(p, 'flaky').fingerprint).to.equal(flaky.fingerprint);
    expect(plain.lock().stages.flaky).to.deep.equal(ws.lock().stages.flaky);
    const withRetryOn = make(flakyYaml('    retries: 3\n    retryOn: [5]\n'), { 'flaky.sh': FLAKY_SH, 'count.txt': '2\n' });
    const o = await withRetryOn.run(['run', '--json']);
    expect(stageOf(o, 'flaky').fingerprint).to.equal(flaky.fingerprint);
    expect(withRetryOn.lock().stages.flaky).to.deep.equal(ws.lock().stages.flaky);

    // Fresh afterwards: nothing executed, 0 attempts.
    const again = await ws.run(['run', '--json']);
    expect(stageOf(again, 'flaky')).to.include({ status: 'cached', attempts: 0 });
    expect(ws.read('count.txt')).to.equal('3\n');
  });

  it('retries exhausted: failed with the last attempt\'s cause, exit 1, attempts N+1; the previous outs are back', async () => {
    const ws = make(
      `version: 1
stages:
  flaky:
    cmd: sh flaky.sh
    deps: [flaky.sh]
    outs: [out.txt]
    retries: 1
`,
      { 'flaky.sh': FLAKY_SH, 'count.txt': '2\n' },
    );
    expect((await ws.run(['run'])).exitCode).to.equal(0);
    ws.write('flaky.sh', FLAKY_SH.replace('-lt 3', '-lt 10'));
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(1);
    const flaky = stageOf(r, 'flaky');
    expect(flaky).to.include({ status: 'failed', attempts: 2, reason: 'flaky failure 5' });
    expect(flaky.outcome.cause).to.deep.equal({ kind: 'exit', exitCode: 5, message: 'flaky failure 5' });
    expect(retriesOf(r).map((e) => e.attempt)).to.deep.equal([2]);
    expect(r.stderr).to.match(/^flaky +failed +[0-9.]+m?s +flaky failure 5 \(2 attempts\)$/m);
    expect(ws.read('out.txt')).to.equal('done\n');
    expect(ws.read('.pipeline/logs/flaky.log')).to.include('──── attempt 2 of 2 (attempt 1 failed: flaky failure 4) ────\n');
  });

  it('retryOn: an exit it does not list is not retried; one it lists is', async () => {
    const stage = (code: number) => `    cmd: [sh, -c, 'n=$(( $(cat count-${code} 2>/dev/null || echo 0) + 1 )); echo $n > count-${code}; [ $n -ge 2 ] && echo ok > out-${code}.txt || exit ${code}']
    outs: [out-${code}.txt]
    retries: 2
    retryOn: [3]
`;
    const ws = make(`version: 1\nstages:\n  four:\n${stage(4)}  three:\n${stage(3)}`);
    const r = await ws.run(['run', '--json', '--keep-going']);
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(stageOf(r, 'four')).to.include({ status: 'failed', attempts: 1, reason: 'exited with code 4' });
    expect(stageOf(r, 'three')).to.include({ status: 'ran', attempts: 2 });
    expect(retriesOf(r).map((e) => [e.name, e.attempt, e.cause.exitCode])).to.deep.equal([['three', 2, 3]]);
  });

  it('retried by default: a timeout, a signal; not: a command that cannot start, inputs changed while it ran; a passEnv secret stays masked in the retry\'s cause and the attempt line', async () => {
    // Each stage notes its attempt outside its outs, then fails on attempt 1 its own way and succeeds on attempt 2.
    const note = (name: string) => `echo "$PIPELINE_ATTEMPT" >> ${name}.log; [ "$PIPELINE_ATTEMPT" -ge 2 ] && { echo ok > ${name}.txt; exit 0; }`;
    const ws = make(
      `version: 1
stages:
  timeout:
    cmd: '${note('timeout')}; while [ ! -e never ]; do sleep 0.05; done'
    shell: true
    outs: [timeout.txt]
    timeout: 1
    retries: 1
  signal:
    cmd: '${note('signal')}; kill -KILL $$'
    shell: true
    outs: [signal.txt]
    retries: 1
  nocmd:
    cmd: [no-such-command-for-retries]
    outs: [nocmd.txt]
    retries: 2
  changed:
    cmd: '${note('changed')}; echo more >> input.txt'
    shell: true
    deps: [input.txt]
    outs: [changed.txt]
    retries: 2
  secret:
    cmd: '${note('secret')}; echo "token $API_TOKEN refused" >&2; exit 1'
    shell: true
    outs: [secret.txt]
    passEnv: [API_TOKEN]
    retries: 1
`,
      { 'input.txt': 'data\n' },
    );
    const r = await ws.run(['run', '--json', '--keep-going'], { env: { API_TOKEN: 'sekrit-value-123' } });
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(stageOf(r, 'timeout')).to.include({ status: 'ran', attempts: 2 });
    expect(stageOf(r, 'signal')).to.include({ status: 'ran', attempts: 2 });
    expect(stageOf(r, 'secret')).to.include({ status: 'ran', attempts: 2 });
    expect(stageOf(r, 'nocmd')).to.include({ status: 'failed', attempts: 1 });
    expect(stageOf(r, 'nocmd').outcome.cause).to.include({ kind: 'spawn' });
    expect(stageOf(r, 'changed')).to.include({ status: 'failed', attempts: 1 });
    expect(stageOf(r, 'changed').outcome.cause).to.include({ kind: 'inputs-changed', path: 'input.txt' });
    const causes = Object.fromEntries(retriesOf(r).map((e) => [e.name, e.cause]));
    expect(Object.keys(causes).sort()).to.deep.equal(['secret', 'signal', 'timeout']);
    expect(causes.timeout).to.deep.include({ kind: 'timeout', timeoutMs: 1000 });
    expect(causes.signal).to.deep.include({ kind: 'signal', signal: 'SIGKILL' });
    expect(ws.lines('changed.log')).to.deep.equal(['1']);
    const log = ws.read('.pipeline/logs/secret.log');
    expect(log).to.include('──── attempt 2 of 2 (attempt 1 failed: token *** refused) ────\n');
    expect(log).to.not.include('sekrit-value-123');
    expect(causes.secret).to.deep.equal({ kind: 'exit', exitCode: 1, message: 'token *** refused' });
    expect(r.stdout + r.stderr).to.not.include('sekrit-value-123');
  });

  it('a gate\'s verdict is never retried', async () => {
    const ws = make(`version: 1
stages:
  gate:
    cmd: [sh, -c, 'echo run >> runs.log; echo "r2 too low" > "$PIPELINE_VERDICT_FILE"; exit 1']
    gate: true
    retries: 3
`);
    const r = await ws.run(['run', '--json']);
    expect(r.exitCode, r.stderr).to.equal(3);
    expect(stageOf(r, 'gate')).to.include({ status: 'failed', attempts: 1, reason: 'r2 too low' });
    expect(retriesOf(r)).to.deep.equal([]);
    expect(ws.lines()).to.deep.equal(['run']);
  });

  it('an interrupt is never retried: exit 130 after one attempt', async () => {
    const ws = make(`version: 1
stages:
  slow:
    cmd: [sh, -c, 'echo "$PIPELINE_ATTEMPT" >> runs.log; while [ ! -e never ]; do sleep 0.05; done']
    outs: [slow.txt]
    retries: 3
`);
    const child = ws.spawn(['run', '--json']);
    await waitFor(() => ws.lines().length > 0, 20_000, 'the stage to start', child);
    child.kill('SIGINT');
    const r = await child.result;
    expect(r.exitCode, r.stderr).to.equal(130);
    const slow = stageOf(r, 'slow');
    expect(slow).to.include({ status: 'failed', attempts: 1 });
    expect(slow.outcome.cause).to.include({ kind: 'interrupted' });
    expect(retriesOf(r)).to.deep.equal([]);
    expect(ws.lines()).to.deep.equal(['1']);
  });

  it('a module that does not build, or throws while loading, is not retried', async () => {
    const ws = make(
      `version: 1
stages:
  broken:
    module: broken.ts
    outs: [b.txt]
    retries: 2
  throws:
    module: throws.ts
    outs: [t.txt]
    retries: 2
`,
      {
        'broken.ts': 'export default async function (ctx: any) {\n  const x = ;\n}\n',
        // Loads when its params are read before the run, throws when its host loads it (as a missing driver would).
        'throws.ts': `import { appendFileSync } from 'node:fs';\nif (process.env.PIPELINE_ATTEMPT) {\n  appendFileSync('loads.log', 'loaded\\n');\n  throw new Error('no GPU driver');\n}\nexport default async function () {}\n`,
      },
    );
    const r = await ws.run(['run', '--json', '--keep-going']);
    expect(r.exitCode, r.stderr).to.equal(1);
    const broken = stageOf(r, 'broken');
    expect(broken).to.include({ status: 'failed', attempts: 0 });
    expect(broken.outcome.cause).to.include({ kind: 'module-error' });
    const throws = stageOf(r, 'throws');
    expect(throws).to.include({ status: 'failed', attempts: 1, reason: 'stage `throws`: its module failed while loading: no GPU driver' });
    expect(throws.outcome.cause).to.include({ kind: 'module-error' });
    expect(retriesOf(r)).to.deep.equal([]);
    expect(ws.lines('loads.log')).to.deep.equal(['loaded']);
  });

  for (const host of ['waiting', 'fresh'] as const) {
    it(`a module stage in a ${host} host: ctx.attempt and PIPELINE_ATTEMPT say the attempt, each retry in a ${host} host`, async () => {
      // NODE_OPTIONS differs from the runner's: no waiting host fits, each attempt gets a host started for it.
      const env = host === 'fresh' ? '    env: {NODE_OPTIONS: --no-deprecation}\n' : '';
      const ws = make(
        `version: 1
stages:
  train:
    module: train.ts
    outs: [model.txt]
    retries: 2
${env}`,
        {
          'train.ts': `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
export default async function (ctx: any): Promise<void> {
  const ahead = readFileSync('/proc/self/environ', 'utf8').split('\\0').every((v: string) => !v.startsWith('PIPELINE_STAGE='));
  appendFileSync('attempts.log', JSON.stringify([ctx.attempt, process.env.PIPELINE_ATTEMPT, ahead]) + '\\n');
  writeFileSync(ctx.outs['model.txt'], 'partial');
  if (ctx.attempt < 3) throw new Error('flaky ' + ctx.attempt);
  writeFileSync(ctx.outs['model.txt'], 'model');
}
`,
        },
      );
      const r = await ws.run(['run', '--json']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(stageOf(r, 'train')).to.include({ status: 'ran', attempts: 3 });
      // Each cause says where in the module it was thrown (mapped from the bundle to train.ts).
      expect(retriesOf(r).map((e) => [e.attempt, e.cause.message])).to.deep.equal([
        [2, 'flaky 1 (at train.ts:6:30)'],
        [3, 'flaky 2 (at train.ts:6:30)'],
      ]);
      const ahead = host === 'waiting';
      expect(ws.lines('attempts.log').map((l) => JSON.parse(l) as unknown)).to.deep.equal([
        [1, '1', ahead],
        [2, '2', ahead],
        [3, '3', ahead],
      ]);
      expect(ws.read('model.txt')).to.equal('model');
    });
  }

  it('bad values: `retries: -1`, `retries: x`, `retryOn: [0]`, `retryOn: [300]`, retryOn without retries, a memory list longer than the attempts → exit 2 with positions', async () => {
    const ws = make(`version: 1
stages:
  a:
    cmd: echo a
    retries: -1
  b:
    cmd: echo b
    retries: x
  c:
    cmd: echo c
    retries: 2
    retryOn: [0, 3, 300]
  d:
    cmd: echo d
    retryOn: [3]
  e:
    cmd: echo e
    retries: 1
    resources: {memory: [1G, 2G, 4G]}
  f:
    cmd: echo f
    retries: 21
`);
    const r = await ws.run(['validate', '--json']);
    expect(r.exitCode, r.stderr).to.equal(2);
    const found = (r.json.diagnostics as { code: string; line: number; col: number; message: string }[]).map((d) => [d.code, d.line, d.col, d.message]);
    expect(found).to.deep.include.members([
      ['invalid-value', 5, 14, 'stage `a`: `retries` must be a whole number from 0 to 20: how many times a failed stage is executed again; got the number -1'],
      ['wrong-type', 8, 14, 'stage `b`: `retries` must be a whole number from 0 to 20: how many times a failed stage is executed again; got the string "x"'],
      ['invalid-value', 12, 15, 'stage `c`: `retryOn` must be a list of exit codes from 1 to 255: only an exit with one of them is retried (default: any failure another attempt may cure); entry 1 is the number 0'],
      ['invalid-value', 12, 21, 'stage `c`: `retryOn` must be a list of exit codes from 1 to 255: only an exit with one of them is retried (default: any failure another attempt may cure); entry 3 is the number 300'],
      ['retry-unused', 15, 14, 'stage `d`: `retryOn` without `retries`: the stage is never retried'],
      ['retry-unused', 19, 34, 'stage `e`: `resources.memory` lists 3 values for 2 attempts (`retries: 1`): the values from entry 3 on are never used'],
      ['invalid-value', 22, 14, 'stage `f`: `retries` must be a whole number from 0 to 20: how many times a failed stage is executed again; got the number 21'],
    ]);
    expect(found).to.have.length(7);
  });
});
