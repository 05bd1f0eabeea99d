// Run a workspace command function in-process with captured stdout/stderr.
import { PassThrough, Writable } from 'node:stream';
import type { CommandFunction } from 'pipeline-dag/command';

export async function runCommand(
  fn: CommandFunction,
  workspace: string,
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (onData: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        onData(String(chunk));
        cb();
      },
    });
  const code = await fn({
    workspace,
    argv,
    stdin: new PassThrough(),
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
  });
  return { code, stdout, stderr };
}
