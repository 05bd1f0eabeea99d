// The `prepare` script: what `npm ci` and `npm install` run in a checkout, and what npm runs when it installs the
// package from a git URL (in its own clone, after installing the development dependencies there; `prepack` is not
// run then). It builds the CLI (`npm run build`) and the declarations of the public entry points, so a git install
// is as complete as the packed tarball (`import type { StageContext } from 'pipeline-dag/stage'` has its types).
//
// Without the development dependencies there is nothing to build with: `npm ci --omit=dev`, or `npx pipeline` in a
// checkout before `npm ci` (npx links the checkout into its cache and runs this). Then it says so and succeeds: a
// failure would leave npx's cache entry half-written, and every later `npx pipeline` in that checkout would fail
// until the entry was deleted. bin/pipeline.js, started from the unbuilt copy, names the command that builds it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  process.stderr.write(`pipeline-dag: not built: the development dependencies are not installed in ${root}; run \`npm ci\` there to build\n`);
  process.exit(0);
}

/** Runs a command in the package folder with the output shown; exits as it failed. */
function step(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: command === 'npm' && process.platform === 'win32' });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// npm runs this script with npm_execpath set to its own CLI: the same npm runs the build.
const npm = process.env.npm_execpath;
if (npm && /\.[cm]?js$/.test(npm)) step(process.execPath, [npm, 'run', 'build']);
else step('npm', ['run', 'build']);
step(process.execPath, [tsc, '-p', 'tsconfig.public-types.json']);
