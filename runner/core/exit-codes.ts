// The exit codes of every `pipeline` command, workspace commands included (`pipeline-dag/command` re-exports them).
// Plain values with no imports: a workspace command that loads the public entry point loads nothing else.
export const ExitCode = {
  ok: 0,
  stageFailed: 1,
  /** A bad command line, config or input: nothing was written. */
  usage: 2,
  gateFailed: 3,
  busy: 4,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
