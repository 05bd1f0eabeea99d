// `pipeline` started from a copy of the package that has no build (no dist/): loaded by bin/pipeline.js only then.
// Says which copy it is and the command that builds it, and exits 2 (nothing can run without the CLI's code).
//   - A checkout of the repository (its TypeScript sources beside bin/): `npm ci` installs the dependencies and
//     builds through the `prepare` script; with the dependencies already there, `npm run build` is enough (and is
//     what rebuilds after editing the sources).
//   - An installed copy without sources: a git dependency whose `prepare` script did not run (npm was told to skip
//     install scripts), or a copy of the files made by hand. It cannot be built where it is (its development
//     dependencies are not installed), so it is installed again.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The message (two lines: what, and the fix) for the package folder `root`. */
function message(root) {
  const has = (file) => fs.existsSync(path.join(root, file));
  if (has('runner/cli/main.ts')) {
    const fix = has('node_modules/typescript/package.json')
      ? `run \`npm run build\` in ${root} (and again after editing the sources)`
      : `run \`npm ci\` in ${root}: it installs the dependencies and builds (through the \`prepare\` script); after editing the sources, \`npm run build\``;
    return `error: this checkout of pipeline-dag is not built: ${path.join(root, 'dist')} is missing\nhint: ${fix}\n`;
  }
  return (
    `error: pipeline-dag in ${root} is installed without its build: ${path.join(root, 'dist')} is missing\n` +
    'hint: it was installed from a git URL with its install scripts skipped (--ignore-scripts, or a denial in `allowScripts`), and its `prepare` script builds it; ' +
    'install it again with scripts allowed, or install a tarball made by `npm pack` in a clone (see the README, Install)\n'
  );
}

function report(root) {
  process.stderr.write(message(root));
  process.exitCode = 2;
}

module.exports = { message, report };
