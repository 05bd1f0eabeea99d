// The host of a `module:` stage: a child process that imports the stage's bundle and calls its default export
// with a StageContext. The context arrives as JSON in PIPELINE_CONTEXT. A host started ahead of need (pool.ts) has
// none: it blocks reading its one job from stdin — the working folder and the exact environment a process started
// for the stage would have, PIPELINE_CONTEXT included — applies both, then goes on as any host; when stdin closes
// without a job (the runner ended or closed its pool) it exits at once, running nothing. Exit 0 on success; on a thrown error,
// the message is the last line of stderr and the exit code is 1. A thrown GateVerdict (recognised by its brand,
// whichever copy of `pipeline-dag/stage` the stage imported) is also written to PIPELINE_VERDICT_FILE, so it is
// the stage's reason whatever else the stage printed, and never comes with a stack trace. Any other thrown error's
// stack, as V8 wrote it (positions in the bundle), goes to the input's `thrownFile`: the runner maps it to the
// stage's source after the failure (thrown.ts), so the host loads no source-map support.
// With `--mask-output NAME…` it is instead the filter a Slurm job's output goes through (mask.ts).
import { readSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isGateVerdict, type StageContext, type StageFunction } from '../public/stage.js';
import { MaskingStream } from './mask.js';

/** What the runner passes: the context minus what only exists in this process, plus the bundle to import. */
type HostInput = Omit<StageContext, 'log' | 'signal'> & { bundle: string; thrownFile?: string; loadErrorFile?: string };

/** The job of a host started ahead: where and with what environment the stage runs. */
interface HostJob {
  cwd: string;
  env: Record<string, string>;
  /**
   * The environment this process was started with, when what started it may have added to it: a host started ahead
   * as a Slurm job step (slurm-step-hosts.ts) keeps every variable Slurm set or changed for its step (SLURM_*,
   * SRUN_DEBUG, TMPDIR, …) over the job's, as a step started for the stage would have them.
   */
  startedWith?: Record<string, string>;
}

/** All of stdin (the runner ends it after the job); undefined when it closes empty: nobody will send a job. */
function readJob(): HostJob | undefined {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(64 * 1024);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buffer, 0, buffer.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as HostJob;
}

/**
 * The environment and folder a fresh process would have: every variable not in the job removed, then the job's set
 * in its order (the order a process started with them would list them in).
 */
function apply(job: HostJob): void {
  const { startedWith } = job;
  const kept = startedWith ? Object.entries(process.env).filter(([name, value]) => startedWith[name] !== value) : [];
  for (const name of Object.keys(process.env)) delete process.env[name];
  for (const [name, value] of Object.entries(job.env)) process.env[name] = value;
  for (const [name, value] of kept) process.env[name] = value;
  if (process.cwd() !== job.cwd) process.chdir(job.cwd);
}

/** `host --mask-output NAME…`: stdin to stdout, the values of these variables masked (a Slurm job's output filter). */
async function maskOutput(names: string[]): Promise<number> {
  const mask = new MaskingStream(names.map((n) => process.env[n] ?? ''));
  for await (const chunk of process.stdin) process.stdout.write(mask.push(chunk as Buffer));
  process.stdout.write(mask.end());
  return 0;
}

async function main(): Promise<number | undefined> {
  if (process.argv[2] === '--mask-output') return maskOutput(process.argv.slice(3));
  if (process.env.PIPELINE_CONTEXT === undefined) {
    const job = readJob();
    if (!job) return undefined;
    apply(job);
  }
  const input = JSON.parse(process.env.PIPELINE_CONTEXT ?? '{}') as HostInput;
  const controller = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      controller.abort(new Error(`stage interrupted (${sig})`));
      setTimeout(() => process.exit(130), 2000).unref();
    });
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(input.bundle).href)) as { default?: unknown };
  } catch (err) {
    return cannotLoad(input, `stage \`${input.stage}\`: its module failed while loading: ${(err as Error)?.message ?? String(err)}`, err);
  }
  if (typeof mod.default !== 'function')
    return cannotLoad(input, `stage \`${input.stage}\`: its module has no default-exported function; export default async function (ctx) { … }`);
  const ctx: StageContext = {
    stage: input.stage,
    workspace: input.workspace,
    params: input.params,
    inputs: input.inputs,
    deps: input.deps,
    outs: input.outs,
    attempt: input.attempt ?? 1,
    signal: controller.signal,
    log: {
      info: (m) => process.stdout.write(`${m}\n`),
      warn: (m) => process.stderr.write(`warning: ${m}\n`),
      error: (m) => process.stderr.write(`${m}\n`),
    },
  };
  try {
    await (mod.default as StageFunction)(ctx);
    return 0;
  } catch (err) {
    const e = err as Error;
    if (isGateVerdict(err)) {
      if (process.env.PIPELINE_VERDICT_FILE) writeFileSync(process.env.PIPELINE_VERDICT_FILE, `${err.message}\n`);
    } else if (input.thrownFile && typeof e?.stack === 'string') {
      try {
        // The host's own frames (the call of the stage's function) say nothing about the stage.
        const stack = e.stack.split('\n').filter((line) => !line.includes(import.meta.url));
        writeFileSync(input.thrownFile, JSON.stringify({ stack: stack.join('\n') }));
      } catch {
        // the message below is the stage's reason all the same
      }
    }
    process.stderr.write(`${e?.message ?? String(err)}\n`);
    return 1;
  }
}

/**
 * The module could not be loaded (it throws while it is imported, or exports no function): said on stderr, and in
 * the file the runner reads to know that running it again would fail the same way (it is never retried).
 */
function cannotLoad(input: HostInput, message: string, err?: unknown): number {
  if (process.env.PIPELINE_DEBUG && (err as Error)?.stack) process.stderr.write(`${(err as Error).stack}\n`);
  process.stderr.write(`${message}\n`);
  if (input.loadErrorFile) writeFileSync(input.loadErrorFile, message);
  return 2;
}

main().then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
