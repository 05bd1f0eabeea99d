// What a remote that never answers costs a `run --pull --push`, with the default timeouts (connect 5 s, idle 30 s):
// a server this figure starts in a child process accepts every connection and never sends a byte, standing for the
// HTTP cache and (through AWS_ENDPOINT_URL) for S3. The cost is the run's time minus the same cold run without a
// remote; its bound is two idle timeouts (the first request and its one retry) plus the retry's backoff, whatever the
// number of stages or objects. Needs no server of its own. Full bench only: each measured run waits a minute.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../../runner/store/remote/backend.js';
import { S3_IDLE_CLOCK_DELAY_MS } from '../../runner/store/remote/s3.js';
import { pipelineCmd, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { repeat, type Cmd } from '../measure.js';
import { allStatus } from './run-json.js';

const STAGES = 6;

/** A chain of STAGES small stages: each would ask the remote first. */
function workspace(ctx: BenchContext): string {
  const dir = path.join(ctx.tmp, 'remote-dead');
  mkdirSync(dir, { recursive: true });
  const stages = Array.from({ length: STAGES }, (_, i) => {
    const needs = i > 0 ? `, needs: [s${i - 1}]` : '';
    return `  s${i}: {cmd: [node, -e, "require('fs').writeFileSync('o${i}.txt', String(Math.random()))"], outs: [o${i}.txt]${needs}}`;
  });
  writeFileSync(path.join(dir, 'pipeline.yaml'), `version: 1\nstages:\n${stages.join('\n')}\n`);
  return dir;
}

/**
 * A server in a child process (the bench's commands run synchronously, blocking this one) that accepts and never
 * answers; its port is read from the file it writes once it listens.
 */
function silentServer(dir: string): { port: number; child: ChildProcess } {
  const portFile = path.join(dir, 'port');
  const script = `const s = require('net').createServer(() => {}); s.listen(0, '127.0.0.1', () => require('fs').writeFileSync(${JSON.stringify(portFile)}, String(s.address().port)));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; !existsSync(portFile) || readFileSync(portFile, 'utf8') === ''; waited += 20) {
    if (waited > 10_000) throw new Error('the silent server did not start');
    Atomics.wait(pause, 0, 0, 20);
  }
  return { port: Number(readFileSync(portFile, 'utf8')), child };
}

function reset(dir: string): void {
  for (const p of ['.pipeline', 'pipeline.lock', ...Array.from({ length: STAGES }, (_, i) => `o${i}.txt`)]) rmSync(path.join(dir, p), { recursive: true, force: true });
}

export function remoteDeadFigure(ctx: BenchContext): Figure {
  const f = newFigure('A remote that never answers: what it costs `run --pull --push`, default timeouts');
  const dir = workspace(ctx);
  const { port, child } = silentServer(ctx.tmp);
  try {
    const runs = 1;
    const cold = repeat(() => pipelineCmd(ctx, dir, ['run', '--json']), { runs: ctx.runs, before: () => reset(dir), check: (o) => void allStatus(o.stdout, 'ran', 'cold run') });
    f.rows.push({ label: `local cold run, ${STAGES} stages, no remote`, unit: 'ms', stats: cold.ms });
    const env: [string, Record<string, string>][] = [
      ['HTTP', { PIPELINE_REMOTE: `http://127.0.0.1:${port}/team` }],
      ['S3', { PIPELINE_REMOTE: 's3://bucket/team', AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' }],
    ];
    for (const [label, vars] of env) {
      // The AWS SDK starts a request's idle clock 3 s into it (for limits of 6 s and more): each S3 attempt waits 3 s more.
      const bound = (2 * (DEFAULT_IDLE_TIMEOUT_MS + (label === 'S3' ? S3_IDLE_CLOCK_DELAY_MS : 0)) + 200) / 1000;
      const with_ = (cmd: Cmd): Cmd => ({ ...cmd, env: { ...cmd.env, ...vars, PIPELINE_REMOTE_TIMEOUT: undefined, PIPELINE_REMOTE_CONNECT_TIMEOUT: undefined } });
      const dead = repeat(() => with_(pipelineCmd(ctx, dir, ['run', '--pull', '--push', '--json'])), {
        runs,
        warmup: 0,
        before: () => reset(dir),
        check: (o) => {
          allStatus(o.stdout, 'ran', `run --pull --push against a ${label} server that never answers`);
          const warnings = o.stderr.split('\n').filter((l) => l.startsWith('warning:'));
          if (warnings.length !== 1 || !/timed out/.test(warnings[0])) throw new Error(`expected one timeout warning, got:\n${o.stderr.slice(-1000)}`);
        },
      });
      const cost = (dead.ms.median - cold.ms.median) / 1000;
      f.rows.push({ label: `${label}: the same run with --pull --push against it`, unit: 'ms', stats: dead.ms });
      f.rows.push({ label: `${label}: cost of the dead remote`, unit: 's', value: cost });
      f.targets.push({ what: `${label}: cost ≤ 2 idle timeouts + backoff (${bound.toFixed(1)} s) + 2.5 s`, value: cost, limit: bound + 2.5, dir: 'max', unit: 's' });
    }
    f.notes.push(
      `A chain of ${STAGES} stages, each of which asks the remote before it runs, and --push after the run. The server ` +
        'accepts connections and never answers; the first request waits one idle timeout (PIPELINE_REMOTE_TIMEOUT, default ' +
        `${DEFAULT_IDLE_TIMEOUT_MS / 1000} s), is retried once after 0.2 s, waits again, and the remote is given up for the run: ` +
        'every other stage and the push skip it at once, with one warning. A host that drops packets costs two connect timeouts ' +
        '(PIPELINE_REMOTE_CONNECT_TIMEOUT, default 5 s) instead; a refused connection, the retries with backoff (about 3 s). ' +
        'The AWS SDK starts watching a socket 3 s into a request, so each S3 attempt waits 3 s more. The 2.5 s of slack is ' +
        'starting the CLI and loading the SDK. One measured run per remote kind.',
    );
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  return f;
}
