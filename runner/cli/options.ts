// The options every command takes before its name: where the workspace is and which config file to read.
export interface GlobalOptions {
  /** Run as if started in this folder (`-C`). */
  cwd: string;
  /** The pipeline file (`--config`); by default pipeline.yaml here or in a parent folder. */
  config?: string;
}
