#!/usr/bin/env node
// The `pipeline` command: the compiled CLI (built by `npm run build`, run by `npm ci` through `prepare`).
import { main } from '../dist/runner/cli/main.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
