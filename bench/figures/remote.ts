// The remote cache against the local servers (scripts/http-cache.sh and scripts/s3-server.sh; their `export` lines
// must be in the environment): push and pull throughput of the real pipeline's results, and a fresh clone's `pull` +
// no-op `run` against a full local cold run (large transfers against their peers: remote-wire.ts). Full bench only.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipelineCmd, realSource, realWorkspace, resetPipeline, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { exec, repeat, type Cmd } from '../measure.js';
import { allStatus } from './run-json.js';

const BUCKET = 'pipeline-remote-tests';

/** The servers' settings, or why they are missing. */
export function remoteServers(): { http: string; s3: Record<string, string> } | string {
  const e = process.env;
  if (!e.PIPELINE_TEST_HTTP_URL || !e.PIPELINE_TEST_S3_ENDPOINT || !e.PIPELINE_TEST_S3_ACCESS_KEY || !e.PIPELINE_TEST_S3_SECRET_KEY) {
    return 'the servers are not running (eval "$(scripts/http-cache.sh start)"; eval "$(scripts/s3-server.sh start)")';
  }
  return {
    http: e.PIPELINE_TEST_HTTP_URL,
    s3: { AWS_ENDPOINT_URL: e.PIPELINE_TEST_S3_ENDPOINT, AWS_ACCESS_KEY_ID: e.PIPELINE_TEST_S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: e.PIPELINE_TEST_S3_SECRET_KEY, AWS_REGION: 'us-east-1' },
  };
}

let counter = 0;
function remotes(servers: { http: string; s3: Record<string, string> }): [string, Record<string, string>][] {
  const id = `bench-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  return [
    ['HTTP (nginx)', { PIPELINE_REMOTE: `${servers.http}/${id}` }],
    ['S3 (Ceph radosgw)', { ...servers.s3, PIPELINE_REMOTE: `s3://${BUCKET}/${id}` }],
  ];
}

function withEnv(cmd: Cmd, env: Record<string, string>): Cmd {
  return { ...cmd, env: { ...cmd.env, ...env } };
}

/** pipeline push: "pushed N objects (X MiB) …" → bytes. */
function movedMiB(stdout: string): number {
  return Number(/(?:pushed|pulled) [0-9]+ objects \(([0-9.]+) MiB\)/.exec(stdout)?.[1] ?? NaN);
}

/** A fresh clone of a workspace: pipeline.yaml, sources and pipeline.lock, no outs, no store. */
function cloneOf(ctx: BenchContext, from: string, name: string, files: string[]): string {
  const dir = path.join(ctx.tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of files) cpSync(path.join(from, f), path.join(dir, f), { recursive: true, dereference: false, verbatimSymlinks: true });
  return dir;
}

export function remoteFigures(ctx: BenchContext): Figure[] {
  const servers = remoteServers();
  if (typeof servers === 'string') throw new Error(servers);
  const runs = Math.min(ctx.runs, 3);
  const real = newFigure('Remote cache: the real pipeline pushed, then pulled into a fresh clone');
  const ws = realWorkspace(ctx, 'remote-real');
  const cold = repeat(() => pipelineCmd(ctx, ws, ['run', '--json', ...realSource(ctx)]), {
    runs,
    before: () => resetPipeline(ws, ['build']),
    check: (o) => void allStatus(o.stdout, 'ran', 'cold run'),
  });
  real.rows.push({ label: 'local cold run, 7 stages executed', unit: 'ms', stats: cold.ms });
  const files = ['pipeline.yaml', 'package.json', 'tsconfig.json', 'stages', 'runner', 'node_modules', 'dist', 'pipeline.lock'];
  for (const [label, env] of remotes(servers)) {
    const push = exec(withEnv(pipelineCmd(ctx, ws, ['push']), env));
    const mib = movedMiB(push.stdout);
    real.rows.push({ label: `${label}: push of every result (${mib} MiB)`, unit: 'ms', value: push.ms });
    real.rows.push({ label: `${label}: push throughput`, unit: 'MiB/s', value: mib / (push.ms / 1000) });
    const pulls: number[] = [];
    const whole = repeat(
      (i) => {
        const clone = cloneOf(ctx, ws, `remote-clone-${i + 1}`, files);
        const t0 = performance.now();
        exec(withEnv(pipelineCmd(ctx, clone, ['pull']), env));
        pulls.push(performance.now() - t0);
        return withEnv(pipelineCmd(ctx, clone, ['run', '--json', ...realSource(ctx)]), env);
      },
      { runs, check: (o) => void allStatus(o.stdout, 'cached', 'no-op after pull') },
    );
    const pullMs = pulls.slice(-runs).sort((a, b) => a - b)[Math.floor(runs / 2)];
    real.rows.push({ label: `${label}: fresh clone \`pull\``, unit: 'ms', value: pullMs });
    real.rows.push({ label: `${label}: pull throughput`, unit: 'MiB/s', value: mib / (pullMs / 1000) });
    real.rows.push({ label: `${label}: then a no-op \`run\` (0 executed)`, unit: 'ms', stats: whole.ms });
    const ratio = (pullMs + whole.ms.median) / cold.ms.median;
    real.rows.push({ label: `${label}: (pull + no-op run) / local cold run`, unit: '×', value: ratio });
    real.targets.push({ what: `${label}: pull + no-op run against a cold run`, value: ratio, limit: 0.5, dir: 'max', unit: '×' });
  }
  real.notes.push(
    'The producer is a scratch copy of this repository run cold on the real data; `pipeline push` sends every result pipeline.lock records to a fresh prefix. ' +
      'Each clone holds pipeline.yaml, the stages, pipeline.lock and no store; the pull time is measured around `pipeline pull`, the no-op `run` after it must report every stage cached.',
  );

  return [real];
}
