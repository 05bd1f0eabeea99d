#!/usr/bin/env node
// The `pipeline` command: the compiled CLI (built by `npm run build`, run by `npm ci` through `prepare`, and at
// pack time through `prepack`).
import { main } from '../dist/runner/cli/main.js';

// Output into a pipe whose reader has gone (`pipeline run | head -1`): the reader wanted no more, so the printing
// stops and the work goes on — a run still finishes its stages and records them. Without a listener the EPIPE
// would be thrown as an uncaught exception with a stack trace, in the middle of the run.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') return;
    throw err;
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
