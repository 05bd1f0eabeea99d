// The fresh record: a no-op `pipeline run` answered by stat alone, as `make` answers one, without loading the CLI.
//
// A `run` that found every stage up to date (nothing executed, restored, pulled or pushed, nothing on stderr) writes
// .pipeline/state/fresh.json: the command line, the folder, a digest of the environment, Node's version, whether the
// output is a terminal, the output it printed, its last-run.json and history entry, and the lstat (and stat, for a
// symlink) of every file and folder it consulted — traced here, on Node's fs module, from before the config is
// searched for until the run ends — plus the CLI's own files and the lockfiles of the installs it loads packages from.
// The next `run` with the same command line, folder, environment, Node and terminal compares those stats; when
// every one is unchanged (device, inode, type, size, mtime and ctime to the nanosecond; a missing file still missing)
// it prints the same answer and rewrites last-run.json and the history as the run did, and loads nothing else.
//
// What keeps it honest:
// - ctime cannot be set back, so any write, rename, chmod or `touch -d` of a consulted file changes its record;
// - the record is written only when every consulted file is older than the stat cache's racy window before the run
//   began (a file changed during the run, or within the timestamps' granularity of being read, is never certified),
//   but for the engine's own state in .pipeline/state/, written only under the run lock this run holds;
// - every holder of the run lock removes the record as soon as it has the lock (a run, gc, pull, ...): while another
//   run works, or after one was killed, no answer comes from it;
// - any difference, any unreadable or malformed record: the CLI runs as without it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const FORMAT = 1;
const RECORD = path.join('.pipeline', 'state', 'fresh.json');
/** Set to a file's path, each answer from the record appends a line to it (not part of the environment's digest). */
const LOG_VARIABLE = 'PIPELINE_FRESH_LOG';
/** The stat cache's racy window (store/stat-cache.ts): nothing changed this close to the run is certified. */
const RACY_NS = 2_000_000_000n;

/** Engine files under .pipeline/ written by every run and never an input of one: not part of the record. */
const OWN_OUTPUTS = ['', 'last-run.json', 'history', 'logs', 'running', 'tmp', 'run-holder.json', 'state', 'state/run-key', 'state/fresh.json', 'build'];

/** The environment, every variable but the log's and the shell's `_` (the path of the command it started). */
function envDigest(env) {
  const entries = Object.entries(env)
    .filter(([k]) => k !== LOG_VARIABLE && k !== '_')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return require('node:crypto').hash('sha256', JSON.stringify(entries));
}

/** Node itself: its version, platform and CPU (a stage's toolchain), and its own options. */
function node() {
  return JSON.stringify([process.version, process.platform, process.arch, process.execArgv]);
}

function terminal() {
  const tty = (s) => (s.isTTY ? `tty:${s.columns ?? ''}` : 'pipe');
  return `${tty(process.stdout)} ${tty(process.stderr)}`;
}

/** What a file is now: `-` when missing, else type, device, inode, size, mtime and ctime in ns (lstat; + stat for a link). */
function stateOf(file) {
  let s;
  try {
    s = fs.lstatSync(file, { bigint: true, throwIfNoEntry: false });
  } catch {
    return '?';
  }
  if (!s) return '-';
  const one = (x) => `${x.mode.toString(8)}:${x.dev}:${x.ino}:${x.size}:${x.mtimeNs}:${x.ctimeNs}`;
  if (!s.isSymbolicLink()) return one(s);
  let t;
  try {
    t = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  } catch {
    t = undefined;
  }
  return `${one(s)}>${t ? one(t) : '-'}`;
}

/** The newest ctime or mtime in a state string, in ns (0 for a missing file). */
function newestIn(state) {
  let newest = 0n;
  for (const part of state.split('>')) {
    const f = part.split(':');
    if (f.length < 6) continue;
    for (const t of [BigInt(f[4]), BigInt(f[5])]) if (t > newest) newest = t;
  }
  return newest;
}

/** The lockfiles of the installs above the CLI (npm's, pnpm's, yarn's): any install rewrites one of them. */
function installFiles(bundle) {
  const files = [bundle];
  for (let dir = path.dirname(bundle); ; dir = path.dirname(dir)) {
    for (const name of ['package.json', 'node_modules/.package-lock.json', 'node_modules/.modules.yaml', 'node_modules/.yarn-state.yml']) {
      files.push(path.join(dir, name));
    }
    if (path.dirname(dir) === dir) return files;
  }
}

/** The parts an answer uses have the shapes a run writes (a damaged or hand-made record answers nothing). */
function wellFormed(record) {
  const object = (x) => typeof x === 'object' && x !== null && !Array.isArray(x);
  return (
    object(record.files) &&
    Object.values(record.files).every((s) => typeof s === 'string') &&
    typeof record.stdout === 'string' &&
    object(record.lastRun) &&
    object(record.history) &&
    Number.isInteger(record.historyKeep) &&
    record.historyKeep > 0
  );
}

function sameArgv(a, b) {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
}

function formatDuration(ms) {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

/** A fresh temp name beside `target`, as core/atomic.ts names them (so its sweeps find what a killed answer left). */
function tempPathFor(target) {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${require('node:crypto').randomBytes(4).toString('hex')}.tmp`);
}

/** Write `text` to `target` through a fresh temp file and a rename. */
function writeAtomic(target, text) {
  const tmp = tempPathFor(target);
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Answer `pipeline run ARGV` from the record when it still holds: prints what the run printed, rewrites
 * last-run.json and adds the history entry, and returns true. False (having printed nothing) otherwise.
 */
function answer(argv, bundle) {
  const began = performance.now();
  const root = process.cwd();
  let record;
  try {
    record = JSON.parse(fs.readFileSync(path.join(root, RECORD), 'utf8'));
  } catch {
    return false;
  }
  if (record?.format !== FORMAT || record.cwd !== root || record.node !== node() || record.terminal !== terminal()) return false;
  if (!sameArgv(record.argv, argv) || record.bundle !== bundle || !wellFormed(record)) return false;
  for (const [file, state] of Object.entries(record.files)) if (stateOf(file) !== state) return false;
  if (record.env !== envDigest(process.env)) return false;
  const startedAt = new Date();
  const stamp = startedAt.toISOString();
  // last-run.json first: if the history entry cannot be written, the ordinary run that follows rewrites last-run.json
  // and adds the one entry.
  try {
    const lastRun = { ...record.lastRun, startedAt: stamp, durationMs: Math.round(performance.now() - began) };
    writeAtomic(path.join(root, '.pipeline', 'last-run.json'), JSON.stringify(lastRun, null, 2));
    const history = path.join(root, '.pipeline', 'history');
    fs.mkdirSync(history, { recursive: true });
    writeAtomic(path.join(history, `${stamp.replace(/[:.]/g, '-')}-${process.pid}.json`), JSON.stringify({ ...record.history, startedAt: stamp }));
    const names = fs.readdirSync(history).filter((n) => n.endsWith('.json')).sort();
    for (const old of names.slice(0, Math.max(0, names.length - record.historyKeep))) fs.rmSync(path.join(history, old), { force: true });
  } catch {
    return false; // a read-only workspace: the ordinary run says what is wrong
  }
  process.stdout.write(record.stdout.replace(/\(0ms\)(\n?)$/, `(${formatDuration(performance.now() - began)})$1`));
  try {
    if (process.env[LOG_VARIABLE]) fs.appendFileSync(process.env[LOG_VARIABLE], `${argv.join(' ')}\n`);
  } catch {
    // a log that cannot be written: the answer stands
  }
  process.exitCode = 0;
  return true;
}

/**
 * Trace the files this `run` consults, from now on (fs's sync, callback and promise forms, by path). The returned
 * recorder writes the record when the run says it found everything fresh (`certify`), or never.
 */
function trace(argv, bundle) {
  const began = BigInt(Date.now()) * 1_000_000n;
  const consulted = new Set();
  let stderrBytes = 0;
  // Paths as given (resolved when the record is written: the run does not change folder), so tracing costs a Set.add.
  const note = (p) => {
    if (typeof p === 'string') consulted.add(p);
    else if (p instanceof URL && p.protocol === 'file:') consulted.add(require('node:url').fileURLToPath(p));
    else if (Buffer.isBuffer(p)) consulted.add(path.resolve(p.toString()));
  };
  const wrap = (target, names) => {
    for (const name of names) {
      const original = target[name];
      if (typeof original !== 'function') continue;
      const wrapped = function (p, ...rest) {
        note(p);
        return original.call(this, p, ...rest);
      };
      Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(original));
      target[name] = wrapped;
    }
  };
  const reads = ['stat', 'lstat', 'readFile', 'readdir', 'opendir', 'open', 'access', 'realpath', 'readlink', 'exists'];
  wrap(fs, [...reads, ...reads.map((n) => `${n}Sync`), 'createReadStream']);
  wrap(fs.promises, reads);
  if (fs.realpathSync.native) wrap(fs.realpathSync, ['native']);
  const write = process.stderr.write;
  process.stderr.write = function (chunk, ...rest) {
    stderrBytes += typeof chunk === 'string' ? chunk.length : (chunk?.length ?? 0);
    return write.call(this, chunk, ...rest);
  };
  return {
    /**
     * The run found every stage up to date and printed `stdout` (its durations as 0ms): write the record, unless
     * something was printed on stderr or a consulted file is too new to be trusted by stat.
     */
    certify(root, { stdout, lastRun, history, historyKeep }) {
      if (stderrBytes > 0 || path.resolve(root) !== process.cwd()) return;
      const own = new Set(OWN_OUTPUTS.map((rel) => path.join(root, '.pipeline', rel).replace(/\/$/, '')));
      const ownDirs = OWN_OUTPUTS.filter((rel) => ['history', 'logs', 'running', 'tmp', 'build'].includes(rel)).map((rel) => path.join(root, '.pipeline', rel) + path.sep);
      const cliCache = path.join(path.dirname(bundle), '.cache') + path.sep;
      // The engine's own state (parsed config, stat cache, ...) is written only under the run lock, which this run
      // holds: what it wrote there itself is what the next run reads, however new.
      const state = path.join(root, '.pipeline', 'state') + path.sep;
      const files = {};
      for (const file of [...new Set([...consulted].map((p) => path.resolve(p))), ...installFiles(bundle)].sort()) {
        if (own.has(file) || ownDirs.some((d) => file.startsWith(d)) || file.startsWith(cliCache) || path.basename(file).endsWith('.tmp')) continue;
        const now = stateOf(file);
        if (now === '?' || (!file.startsWith(state) && newestIn(now) + RACY_NS >= began)) return;
        files[file] = now;
      }
      const record = { format: FORMAT, argv, cwd: process.cwd(), node: node(), terminal: terminal(), env: envDigest(process.env), bundle, files, stdout, lastRun, history, historyKeep };
      try {
        writeAtomic(path.join(root, RECORD), JSON.stringify(record));
      } catch {
        // best effort: the next run is an ordinary one
      }
    },
  };
}

// The engine's RACY_NS, duration format and temp names are copies here (this file runs before any of the engine
// loads); tests/cli/fresh-record.test.ts holds them equal.
module.exports = { answer, trace, RECORD, RACY_NS, formatDuration, tempPathFor };
