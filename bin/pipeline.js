#!/usr/bin/env node
// The `pipeline` command, also installed as `pipeline-dag` (the package's own name, which `npx` cannot resolve to
// another package): the compiled CLI (built by `npm run build`, run by `npm ci` through `prepare`, and at pack time
// through `prepack`). It starts from the CLI's bundle, dist/cli/main.cjs (one file instead of hundreds of
// modules), when that is as new as the compiled files; a build by tsc alone runs dist/runner/ as it is.
//
// This file is CommonJS (bin/package.json): Node starts a CommonJS file without setting up its ES module loader,
// and the bundle is compiled with V8's code cache, which Node 20 keeps for no module by itself. The cache is one
// file per command in dist/cli/.cache/, written by the first run of that command (so it holds the functions that
// command runs), named after the bundle's build, Node's version and the CPU, and checked by its SHA-1 before V8
// takes it. V8 refuses a cache made by another V8 or with other flags, and the next run writes a new one; a cache
// that cannot be read, refused or not writable only means compiling as without it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'cli', 'main.cjs');
const built = (file) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;

/** The commands with a code cache of their own; any other word shares one. */
const COMMANDS = ['run', 'status', 'update', 'dag', 'metrics', 'params', 'exp', 'validate', 'schema', 'gc', 'cache', 'fingerprint', 'push', 'pull', 'ci', 'init', 'watch', 'help'];

/** Which cache fits this command line: its first word that is not an option (or the value of -C/--config). */
function cacheName(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-C' || argv[i] === '--cwd' || argv[i] === '--config') i++;
    else if (!argv[i].startsWith('-')) return COMMANDS.includes(argv[i]) ? argv[i] : 'other';
  }
  return 'other';
}

/** A file of the bundle as text. The build writes ASCII: read as Latin-1 (a copy of the bytes), not decoded as UTF-8. */
function readSource(file) {
  const bytes = fs.readFileSync(file);
  return bytes.toString(require('node:buffer').isAscii(bytes) ? 'latin1' : 'utf8');
}

/**
 * One CommonJS file of the bundle (`source`, read from `file`) compiled through its code cache; `callWith` calls the
 * compiled wrapper (exports, require, module, __filename, __dirname, then `extra`'s names). `save()` writes a new
 * cache when there was none V8 could take.
 */
function compileCached(file, source, cacheFile, header, extra, callWith) {
  const vm = require('node:vm');
  let cachedData;
  if (header) {
    try {
      const stored = fs.readFileSync(cacheFile);
      const end = stored.indexOf(10);
      const [head, sum] = [stored.subarray(0, end - 40).toString('latin1'), stored.subarray(end - 40, end).toString('latin1')];
      const data = stored.subarray(end + 1);
      if (head === header && require('node:crypto').hash('sha1', data) === sum) cachedData = data;
    } catch {
      // none yet, or unreadable: compile without
    }
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname${extra.map((name) => `, ${name}`).join('')}) {${source}\n})`;
  const script = new vm.Script(wrapped, { filename: file, cachedData });
  const module = { exports: {}, filename: file, id: file };
  callWith(script.runInThisContext(), module);
  const save = () => {
    if (!header || (cachedData && !script.cachedDataRejected)) return;
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
      fs.accessSync(path.dirname(cacheFile), fs.constants.W_OK);
      const data = script.createCachedData();
      fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${header}${require('node:crypto').hash('sha1', data)}\n`, 'latin1'), data]));
      fs.renameSync(tmp, cacheFile);
    } catch {
      // a read-only install: every run compiles the bundle, as without a cache
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // nothing was written
      }
    }
  };
  return { exports: module.exports, save };
}

/**
 * The bundle (main.cjs) and the files of its own that it requires when first needed (packages/*.cjs: the YAML parser,
 * ...; lazy/*.cjs: the config's schema, ...), each compiled through a code cache of its own: the bundle's per command,
 * each other file's shared by all commands. All are named after the bundle's build, which they come from.
 */
function loadBundle(file, argv) {
  const dir = path.dirname(file);
  const source = readSource(file);
  const build = /\/\/# build ([0-9a-f]+)\n$/.exec(source.slice(-64))?.[1];
  const header = build && `pipeline code cache 1 ${build} ${process.version} ${process.arch} `;
  const { createRequire } = require('node:module');
  const saves = [];
  const loaded = new Map();
  /** A file of the bundle's own, once per process like require(). */
  const ownFile = (id) => {
    const abs = path.join(dir, id);
    if (!loaded.has(abs)) {
      const cacheFile = path.join(dir, '.cache', `file-${id.replace(/^\.\//, '').replace(/[^A-Za-z0-9.-]/g, '_')}.v8`);
      const own = createRequire(abs);
      const compiled = compileCached(abs, readSource(abs), cacheFile, header, [], (fn, module) => {
        loaded.set(abs, module);
        fn(module.exports, own, module, abs, path.dirname(abs));
      });
      saves.push(compiled.save);
    }
    return loaded.get(abs).exports;
  };
  const base = createRequire(file);
  const bundleRequire = Object.assign((id) => (id.startsWith('./packages/') || id.startsWith('./lazy/') ? ownFile(id) : base(id)), { resolve: base.resolve, cache: base.cache });
  // The bundle's import() of what stays outside it (esbuild, a workspace's command module, ...) is this one: code
  // compiled from a code cache cannot import by itself. bin/ and dist/cli/ resolve packages alike.
  const cliImport = (specifier) => import(specifier);
  const main = compileCached(file, source, header && path.join(dir, '.cache', `${cacheName(argv)}.v8`), header, ['__cliImport'], (fn, module) =>
    fn(module.exports, bundleRequire, module, file, dir, cliImport),
  );
  return {
    main: main.exports.main,
    save: () => {
      main.save();
      for (const save of saves) save();
    },
  };
}

// Output into a pipe whose reader has gone (`pipeline run | head -1`): the reader wanted no more, so the printing
// stops and the work goes on — a run still finishes its stages and records them. Without a listener the EPIPE
// would be thrown as an uncaught exception with a stack trace, in the middle of the run.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') return;
    throw err;
  });
}

const argv = process.argv.slice(2);
const bundleTime = built(bundle);
const compiledTime = built(path.join(dist, 'runner', 'cli', 'main.js'));
// Neither built: a checkout before `npm ci`, or an install whose build was skipped. Said in words (bin/unbuilt.js),
// at the cost of no file read beyond the two stats every start makes anyway.
if (bundleTime < 0 && compiledTime < 0) return require('./unbuilt.js').report(path.join(__dirname, '..'));
const fromBundle = bundleTime >= compiledTime;
// A no-op `run` is answered from the fresh record when every file the engine read for it is as it was
// (bin/fresh.js); any other `run` from the bundle writes that record from the engine's list when it finds everything
// fresh. With PIPELINE_FRESH_CHECK=1 no run is answered: each is decided in full and checked against the record.
const fresh = fromBundle && cacheName(argv) === 'run' ? require('./fresh.js') : undefined;
if (process.env.PIPELINE_FRESH_CHECK !== '1' && fresh?.answer(argv, bundle)) return;
const recorder = fresh?.recorder(argv, bundle);
const cli = fromBundle
  ? Promise.resolve(loadBundle(bundle, argv))
  : import('../dist/runner/cli/main.js').then(({ main }) => ({ main, save: () => {} }));

cli.then(({ main, save }) => {
  return main(argv, recorder).then((code) => {
    process.exitCode = recorder ? recorder.finish(code) : code;
    save();
  });
});
