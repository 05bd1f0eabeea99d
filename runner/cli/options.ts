// The options every command takes before its name: where the workspace is and which config file to read.
import type { FreshRecorder } from '../report/fresh.js';
export interface GlobalOptions {
  /** Run as if started in this folder (`-C`). */
  cwd: string;
  /** The pipeline file (`--config`); by default pipeline.yaml here or in a parent folder. */
  config?: string;
  /** Given by bin/pipeline.js to `run`: traces what the run consults, to answer it by stat next time (bin/fresh.js). */
  fresh?: FreshRecorder;
}
