// The CLI's bundle, built by `npm run build` after tsc: dist/runner/cli/main.js and everything it imports, the
// engine and its pure-JS packages, as one CommonJS file (dist/cli/main.cjs) instead of ~60 engine modules and hundreds
// of package files loaded one by one on every command. bin/pipeline.js starts from it when it is as new as the
// compiled files, through V8's code cache (see bin/pipeline.js): CommonJS because Node 20 caches no compiled ES
// module, and one file because one cached script loads faster than many.
//
// - Commands and modules imported with `await import(...)` stay lazy: esbuild wraps each in a function that runs on
//   first use, so a command runs only its own modules' top-level code.
// - Packages the engine requires lazily and synchronously (`createRequire(import.meta.url)('yaml')`: the config
//   parser, zod for the config's shapes, ...) are invisible to the bundler; each is bundled into one CommonJS file of
//   its own (dist/cli/packages/NAME.cjs) and the call is pointed at it, so it is still loaded only when needed. The
//   few that nearly every command loads (commander, graphlib, the stable stringify of fingerprints) are bundled into
//   main.cjs instead, still evaluated on first require, to be part of its code cache. zod and yaml, imported
//   statically by a few commands, are these same files too: the bundle would double in size with them inside.
// - So are engine modules required that way (`createRequire(import.meta.url)('./zod-schema.js')`: the config's zod
//   schema, the params check): each becomes one CommonJS file of its own (dist/cli/lazy/FOLDER+NAME.cjs) with only
//   the parts of its packages it uses (a `zod/mini` schema takes ~60 kB of zod instead of all of it). It keeps its
//   own copy of the engine files it imports, so such a module imports packages and constants only.
// - The bundle requires these files of its own with a plain `require('./packages/yaml.cjs')`: bin/pipeline.js gives
//   it a `require` that compiles each through a code cache of its own, as it does the bundle.
// - The module-stage host and the params probe run as processes of their own, found beside the code that starts
//   them (exec/process.ts, plan/params.ts): they are built into dist/cli/ too, as ES modules, the host with its
//   packages left as imports, the probe with the part of zod's core it uses inside.
// - Native, very large or optional packages stay imports of node_modules.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(repo, 'dist');
const out = path.join(dist, 'cli');

/** Kept as imports: native binaries (esbuild, resvg), big and rarely used (S3 client, vega, browsers), or optional. */
const EXTERNAL = ['esbuild', '@resvg/resvg-js', '@aws-sdk/*', 'vega', 'vega-lite', 'playwright-core', 'tsx', 'typescript', 'cosmiconfig'];

/** Required lazily by the engine, but by nearly every command: bundled into main.cjs (evaluated on first require). */
const IN_MAIN = ['commander', '@dagrejs/graphlib', 'safe-stable-stringify'];

/** Imported statically by a few commands, and large: the same one-file bundles as when required lazily. */
const OWN_FILE = ['zod', 'yaml'];

const LAZY_REQUIRE = /createRequire\(import\.meta\.url\)\((['"])([^'"]+)\1\)/g;

const fileOf = (name) => `./packages/${name.replaceAll('/', '+')}.cjs`;

const isExternal = (name) => EXTERNAL.some((e) => (e.endsWith('/*') ? name.startsWith(e.slice(0, -1)) : name === e));

/**
 * `import(x)` of what stays outside the bundle (an EXTERNAL package, a file URL): `__cliImport(x)`, which
 * bin/pipeline.js passes to the bundle (an import() of its own) — code compiled from V8's code cache loses
 * the import() of the script it came from. Relative modules and the other packages are bundled.
 */
const DYNAMIC_IMPORT = /\bimport\((\s*(['"])([^'"]*)\2)?/g;
function outsideImports(text) {
  return text.replace(DYNAMIC_IMPORT, (call, literal, _quote, name) => {
    if (literal !== undefined && (name.startsWith('.') || !isExternal(name))) return call;
    return `__cliImport(${literal ?? ''}`;
  });
}

const runner = path.join(dist, 'runner');
/** The one-file bundle of a lazily required engine module, e.g. `config/zod-schema.js` → `lazy/config+zod-schema.cjs`. */
const lazyName = (file) => `lazy/${path.relative(runner, file).replace(/\.js$/, '').replaceAll(path.sep, '+')}.cjs`;

/**
 * Points every lazy `createRequire(import.meta.url)('pkg')` of the engine at its one-file bundle (or, for IN_MAIN, at
 * the package bundled into main.cjs), every `createRequire(import.meta.url)('./module.js')` at the module's, and the
 * static imports of OWN_FILE packages at their files. `nested`: the file is itself a lazily required module's bundle,
 * which may not require lazily (it runs as CommonJS, without `import.meta.url`) and carries its packages inside.
 */
function lazyPackages(found, modules, nested = false) {
  return {
    name: 'lazy-packages',
    setup(build) {
      // The files of the bundle's own (a lazily required package's or engine module's): required as they are, through
      // the require bin/pipeline.js gives the bundle, which compiles each through a code cache of its own.
      build.onResolve({ filter: /^\.\/(packages|lazy)\// }, (args) => ({ path: args.path, external: true }));
      build.onResolve({ filter: /^(zod|yaml)$/ }, (args) => {
        if (nested || args.kind !== 'import-statement' || !OWN_FILE.includes(args.path)) return undefined;
        found.add(args.path);
        return { path: fileOf(args.path), external: true };
      });
      build.onLoad({ filter: /[\\/]dist[\\/]runner[\\/].*\.js$/ }, (args) => {
        const text = outsideImports(readFileSync(args.path, 'utf8'));
        const contents = text.replace(LAZY_REQUIRE, (call, quote, name) => {
          if (name.startsWith('node:') || EXTERNAL.includes(name)) return call;
          if (nested) throw new Error(`${path.relative(repo, args.path)}: a lazily required engine module may not require ${name} lazily itself`);
          if (name.startsWith('.')) {
            const file = path.resolve(path.dirname(args.path), name);
            modules.add(file);
            return `require(${quote}./${lazyName(file)}${quote})`;
          }
          if (IN_MAIN.includes(name)) return `require(${quote}${name}${quote})`;
          found.add(name);
          return `require(${quote}${fileOf(name)}${quote})`;
        });
        return { contents, loader: 'js' };
      });
    },
  };
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', absWorkingDir: repo };
const found = new Set();
const modules = new Set();
const main = await esbuild.build({
  ...common,
  entryPoints: [path.join(dist, 'runner/cli/main.js')],
  format: 'cjs',
  write: false,
  outfile: path.join(out, 'main.cjs'),
  external: EXTERNAL,
  // The engine finds files beside itself through import.meta.url: in CommonJS, the URL of main.cjs.
  define: { 'import.meta.url': '__cliUrl' },
  banner: { js: "'use strict';\nconst __cliUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Non-ASCII characters in strings and regexes as escapes (esbuild's default, said here because bin/pipeline.js
  // relies on it): an ASCII file is read as Latin-1, a copy of its bytes, instead of being decoded as UTF-8.
  charset: 'ascii',
  plugins: [lazyPackages(found, modules)],
});
// The last line names this build by its content: bin/pipeline.js keeps a code cache only for the build it was made from.
const [bundle] = main.outputFiles;
// What is left of non-ASCII is in comments esbuild keeps: escaped there too.
const text = bundle.text.replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
const stray = text.split('\n').filter((line) => /\bimport\(/.test(line) && !/^\s*(\/\/|\/?\*)/.test(line));
if (stray.length > 0) throw new Error(`import() left in dist/cli/main.cjs, where it cannot work:\n${stray.join('\n')}`);
const id = createHash('sha256').update(text).digest('hex').slice(0, 32);
writeFileSync(bundle.path, `${text}//# build ${id}\n`);
await esbuild.build({
  ...common,
  entryPoints: { host: path.join(dist, 'runner/exec/host.js') },
  format: 'esm',
  packages: 'external',
  outdir: out,
});
// The probe carries the part of zod it uses (its core's toJSONSchema, tree-shaken): it reads schemas made by
// any copy of zod, and one file loads much faster than zod's ~90.
await esbuild.build({
  ...common,
  entryPoints: { 'params-probe': path.join(dist, 'runner/plan/params-probe.js') },
  format: 'esm',
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
