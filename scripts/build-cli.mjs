// The CLI's bundle, built by `npm run build` after tsc: dist/runner/cli/main.js and everything it imports, the
// engine and its pure-JS packages, as a few files in dist/cli/ instead of ~60 engine modules and hundreds of package
// files loaded one by one on every command. bin/pipeline.js starts from it when it is as new as the compiled files.
//
// - Commands and packages imported with `await import(...)` stay lazy: each is a chunk loaded on first use.
// - Packages the engine requires lazily and synchronously (`createRequire(import.meta.url)('yaml')`: the config
//   parser, ...) are invisible to the bundler; each is bundled into one CommonJS file of its own
//   (dist/cli/packages/NAME.cjs) and the call is pointed at it, so it is still loaded only when needed.
// - So are engine modules required that way (`createRequire(import.meta.url)('./zod-schema.js')`: the config's zod
//   schema, the params check): each becomes one CommonJS file of its own (dist/cli/lazy/FOLDER+NAME.cjs) with only
//   the parts of its packages it uses (a `zod/mini` schema takes ~60 kB of zod instead of all of it). It keeps its
//   own copy of the engine files it imports, so such a module imports packages and constants only.
// - The module-stage host and the params probe run as processes of their own, found beside the code that starts
//   them (exec/process.ts, plan/params.ts): they are built into dist/cli/ too, with their packages left as imports,
//   so a stage's `zod` is the workspace's own.
// - Native, very large or optional packages stay imports of node_modules.
import * as esbuild from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(repo, 'dist');
const out = path.join(dist, 'cli');

/** Kept as imports: native binaries (esbuild, resvg), big and rarely used (S3 client, vega, browsers), or optional. */
const EXTERNAL = ['esbuild', '@resvg/resvg-js', '@aws-sdk/*', 'vega', 'vega-lite', 'playwright-core', 'tsx', 'typescript', 'cosmiconfig'];

const LAZY_REQUIRE = /createRequire\(import\.meta\.url\)\((['"])([^'"]+)\1\)/g;

const runner = path.join(dist, 'runner');
/** The one-file bundle of a lazily required engine module, e.g. `config/zod-schema.js` → `lazy/config+zod-schema.cjs`. */
const lazyName = (file) => `lazy/${path.relative(runner, file).replace(/\.js$/, '').replaceAll(path.sep, '+')}.cjs`;

/**
 * Points every lazy `createRequire(import.meta.url)('pkg')` of the engine at its package's one-file bundle, and every
 * `createRequire(import.meta.url)('./module.js')` at the module's. `nested`: the file is itself such a bundle, which
 * may not require lazily (it runs as CommonJS, without `import.meta.url`).
 */
function lazyPackages(found, modules, nested = false) {
  return {
    name: 'lazy-packages',
    setup(build) {
      build.onLoad({ filter: /[\\/]dist[\\/]runner[\\/].*\.js$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const contents = text.replace(LAZY_REQUIRE, (call, quote, name) => {
          if (name.startsWith('node:') || EXTERNAL.includes(name)) return call;
          if (nested) throw new Error(`${path.relative(repo, args.path)}: a lazily required engine module may not require ${name} lazily itself`);
          if (name.startsWith('.')) {
            const file = path.resolve(path.dirname(args.path), name);
            modules.add(file);
            return `createRequire(import.meta.url)(${quote}./${lazyName(file)}${quote})`;
          }
          found.add(name);
          return `createRequire(import.meta.url)(${quote}./packages/${name.replaceAll('/', '+')}.cjs${quote})`;
        });
        return { contents, loader: 'js' };
      });
    },
  };
}

rmSync(out, { recursive: true, force: true });
const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', absWorkingDir: repo };
const found = new Set();
const modules = new Set();
await esbuild.build({
  ...common,
  entryPoints: { main: path.join(dist, 'runner/cli/main.js') },
  format: 'esm',
  splitting: true,
  outdir: out,
  chunkNames: 'chunk-[hash]',
  external: EXTERNAL,
  // CommonJS packages inside ESM chunks (execa's cross-spawn, ...) require Node's built-ins through this.
  banner: { js: "import { createRequire as __cliRequire } from 'node:module'; const require = __cliRequire(import.meta.url);" },
  plugins: [lazyPackages(found, modules)],
});
await esbuild.build({
  ...common,
  entryPoints: { host: path.join(dist, 'runner/exec/host.js'), 'params-probe': path.join(dist, 'runner/plan/params-probe.js') },
  format: 'esm',
  packages: 'external',
  outdir: out,
});
await Promise.all(
  [...modules].map((file) =>
    esbuild.build({
      ...common,
      entryPoints: [file],
      format: 'cjs',
      external: EXTERNAL,
      outfile: path.join(out, lazyName(file)),
      plugins: [lazyPackages(found, modules, true)],
    }),
  ),
);
await Promise.all(
  [...found].map((name) =>
    esbuild.build({
      ...common,
      stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: repo, loader: 'js' },
      format: 'cjs',
      outfile: path.join(out, 'packages', `${name.replaceAll('/', '+')}.cjs`),
    }),
  ),
);
