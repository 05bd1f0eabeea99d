// The `prepare` script: what `npm ci` and `npm install` run in a checkout, and what npm runs when it installs the
// package from a git URL (in its own clone, after installing the development dependencies there; `prepack` is not
// run then). It builds the CLI (`npm run build`) and the declarations of the public entry points, so a git install
// is as complete as the packed tarball (`import type { StageContext } from 'pipeline-dag/stage'` has its types).
//
// `npx pipeline` in a checkout (npm exec) links the checkout into npx's cache and runs this: it builds nothing then.
// npx runs the checkout as `npm ci` or `npm run build` built it, as `node bin/pipeline.js` does (building again cost
// a minute on the first npx of every checkout), and a failure would leave npx's cache entry half-written: every later
// `npx pipeline` in that checkout failed until the entry was deleted. Without the development dependencies
// (`npm ci --omit=dev`) there is nothing to build with: it says so and succeeds. bin/pipeline.js, started from an
// unbuilt copy, names the command that builds it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.env.npm_command === 'exec') process.exit(0);

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
