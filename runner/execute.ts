// Running one stage as a child process (execa): a `cmd:` stage directly, a `module:` stage through the host.
// stdout and stderr are captured, interleaved, to the stage's log; the last line of stderr is kept as the
// reason a failure or a gate shows.
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StageConfig } from './types.js';

export interface ExecRequest {
  stage: StageConfig;
  root: string;
  /** Absolute paths: upstream outs by stage and out, deps, own outs. */
  inputs: Record<string, Record<string, string>>;
  deps: Record<string, string>;
  outs: Record<string, string>;
  /** The module bundle for `module:` stages. */
  bundle?: string;
  logFile: string;
  verdictFile: string;
  signal: AbortSignal;
  /** Called with each chunk of output as it arrives (live output). */
  onOutput?: (chunk: string) => void;
}

export interface ExecResult {
  ok: boolean;
  exitCode?: number;
  timedOut: boolean;
  interrupted: boolean;
  /** A gate's verdict or the last line the stage wrote to stderr. */
  message?: string;
  durationMs: number;
  log: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

function hostCommand(): string[] {
  const js = path.join(here, 'host.js');
  if (existsSync(js)) return [process.execPath, '--enable-source-maps', js];
  return [process.execPath, '--enable-source-maps', '--import', 'tsx', path.join(here, 'host.ts')];
}

export async function executeStage(req: ExecRequest): Promise<ExecResult> {
  const { stage } = req;
  mkdirSync(path.dirname(req.logFile), { recursive: true });
  // The stage may write its verdict there: the folder must exist.
  mkdirSync(path.dirname(req.verdictFile), { recursive: true });
  rmSync(req.verdictFile, { force: true });
  const log = createWriteStream(req.logFile);
  const chunks: string[] = [];
  let stderrTail = '';
  const env: Record<string, string> = {
    ...stage.env,
    PIPELINE_STAGE: stage.name,
    PIPELINE_PARAMS: JSON.stringify(stage.params),
    PIPELINE_WORKSPACE: req.root,
    PIPELINE_VERDICT_FILE: req.verdictFile,
  };
  let file: string;
  let args: string[];
  if (stage.kind === 'module') {
    [file, ...args] = hostCommand();
    env.PIPELINE_CONTEXT = JSON.stringify({
      bundle: req.bundle,
      stage: stage.name,
      workspace: req.root,
      params: stage.params,
      inputs: req.inputs,
      deps: req.deps,
      outs: req.outs,
    });
  } else {
    [file, ...args] = stage.cmd!;
  }
  const { execa } = await import('execa');
  const started = performance.now();
  const child = execa(file, args, {
    cwd: req.root,
    env,
    extendEnv: true,
    shell: stage.kind === 'cmd' && stage.shell,
    stdin: 'ignore',
    reject: false,
    buffer: false,
    timeout: stage.timeoutMs,
    cancelSignal: req.signal,
    forceKillAfterDelay: 3000,
    windowsHide: true,
  });
  const take = (isErr: boolean) => (data: Buffer) => {
    const text = data.toString();
    chunks.push(text);
    log.write(data);
    req.onOutput?.(text);
    if (isErr) stderrTail = (stderrTail + text).slice(-4096);
  };
  child.stdout?.on('data', take(false));
  child.stderr?.on('data', take(true));
  const result = await child;
  await new Promise<void>((resolve) => log.end(resolve));
  const durationMs = performance.now() - started;
  const ok = result.exitCode === 0 && !result.timedOut && !result.isCanceled;
  let message: string | undefined;
  if (!ok) {
    const verdict = existsSync(req.verdictFile) ? readFileSync(req.verdictFile, 'utf8').trim() : '';
    const lastLine = stderrTail.trimEnd().split('\n').at(-1)?.trim();
    if (result.timedOut) message = `timed out after ${((stage.timeoutMs ?? 0) / 1000).toFixed(1)}s`;
    else if (result.isCanceled) message = 'interrupted';
    else if (result.failed && result.exitCode === undefined && !result.signal) message = result.shortMessage;
    else message = verdict || lastLine || `exited with code ${result.exitCode ?? result.signal}`;
  }
  rmSync(req.verdictFile, { force: true });
  return {
    ok,
    exitCode: result.exitCode,
    timedOut: Boolean(result.timedOut),
    interrupted: Boolean(result.isCanceled),
    message,
    durationMs,
    log: chunks.join(''),
  };
}
