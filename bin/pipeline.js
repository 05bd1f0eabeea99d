#!/usr/bin/env node
// The `pipeline` command: the compiled CLI (built by `npm run build`, run by `npm ci` through `prepare`, and at
// pack time through `prepack`). It starts from the CLI's bundle (dist/cli/: a few files instead of hundreds of
// modules) when that is as new as the compiled files; a build by tsc alone runs dist/runner/ as it is.
import { statSync } from 'node:fs';

const built = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const entry = built('../dist/cli/main.js') >= built('../dist/runner/cli/main.js') ? '../dist/cli/main.js' : '../dist/runner/cli/main.js';
const { main } = await import(entry);

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
