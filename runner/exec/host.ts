// The host of a `module:` stage: a child process that imports the stage's bundle and calls its default export
// with a StageContext. The context arrives as JSON in PIPELINE_CONTEXT. Exit 0 on success; on a thrown error,
// the message is the last line of stderr and the exit code is 1. A thrown GateVerdict (recognised by its brand,
// whichever copy of `pipeline-dag/stage` the stage imported) is also written to PIPELINE_VERDICT_FILE, so it is
// the stage's reason whatever else the stage printed, and never comes with a stack trace.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isGateVerdict, type StageContext, type StageFunction } from '../public/stage.js';

/** What the runner passes: the context minus what only exists in this process, plus the bundle to import. */
type HostInput = Omit<StageContext, 'log' | 'signal'> & { bundle: string };

async function main(): Promise<number> {
  const input = JSON.parse(process.env.PIPELINE_CONTEXT ?? '{}') as HostInput;
  const controller = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      controller.abort(new Error(`stage interrupted (${sig})`));
      setTimeout(() => process.exit(130), 2000).unref();
    });
  }
  const mod = (await import(pathToFileURL(input.bundle).href)) as { default?: unknown };
  if (typeof mod.default !== 'function') {
    process.stderr.write(`stage \`${input.stage}\`: its module has no default-exported function; export default async function (ctx) { … }\n`);
    return 2;
  }
  const ctx: StageContext = {
    stage: input.stage,
    workspace: input.workspace,
    params: input.params,
    inputs: input.inputs,
    deps: input.deps,
    outs: input.outs,
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
    } else if (process.env.PIPELINE_DEBUG && e?.stack) process.stderr.write(`${e.stack}\n`);
    process.stderr.write(`${e?.message ?? String(err)}\n`);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
