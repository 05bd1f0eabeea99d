// The fresh record: a no-op `pipeline run` answered by stat alone, as `make` answers one, without loading the CLI.
//
// A `run` that found every stage up to date (nothing executed, restored, pulled or pushed, nothing on stderr) writes
// .pipeline/state/fresh.json: the command line, the folder, a digest of the environment, Node's version, whether the
// output is a terminal, the output it printed (as data), its last-run.json and history entry, and the lstat (and
// stat, for a symlink) of every path the engine says its decisions read (engine.reads, runner/core/read-set.ts: the
// config and the lookups that found it, pipeline.local.yaml, pipeline.lock, every dep, out and code file and the
// folders walked to them, the lookups a module's imports made, the package manifests, the run records, the engine's
// state), plus the CLI's own files and the lockfiles of the installs it loads packages from. The record also lists
// the decision's inputs by kind (config, lock, dep, out, code, package), and is obeyed only when every one of them is
// among its files. The next `run` with the same command line, folder, environment, Node and terminal compares those
// stats; when every one is unchanged (device, inode, type, size, mtime and ctime to the nanosecond; a missing file
// still missing) it prints the same answer and rewrites last-run.json and the history as the run did, and loads
// nothing else.
//
// What keeps it honest:
// - the list is the engine's own: each place that reads an input names it (as ninja's deps log and Bazel's action
//   cache do); nothing here traces the process in a normal run;
// - PIPELINE_FRESH_CHECK=1 (the test suite runs with it) checks that list: Node's fs is traced as well, and a run
//   that writes a record fails (exit 1, the paths named) when it consulted a path the engine's list lacks; a run the
//   record would answer is decided in full instead, and fails (the stages named) when the decision differs;
// - ctime cannot be set back, so any write, rename, chmod or `touch -d` of a consulted file changes its record;
// - the record is written only when every consulted file is older than the stat cache's racy window before the run
//   began (a file changed during the run, or within the timestamps' granularity of being read, is never certified),
//   but for the engine's own state in .pipeline/state/, written only under the run lock this run holds;
// - every holder of the run lock removes the record as soon as it has the lock (a run, gc, pull, ...): while another
//   run works, or after one was killed, no answer comes from it;
// - every run removes the record when its stages are done, before it may write its own: a record a stage planted
//   during the run never outlives it;
// - the record is authenticated: an HMAC-SHA256 of its text, keyed by a per-workspace secret the runner creates in
//   .pipeline/state/fresh-key (mode 0600, a regular file owned by this user); a hand-edited record, or one copied
//   from another workspace, answers nothing. Stages run as the same user and could read the key: the end-of-run
//   removal is what defeats a record planted by a stage, the HMAC what defeats one written by hand or copied;
// - the answer is rendered from data (stage names, statuses and reasons, each checked to be printable text), never
//   replayed bytes, and writes only last-run.json and one history file, in .pipeline/ and .pipeline/history/ as real
//   folders (a symlink there answers nothing): no field of the record names a path the answer writes or removes;
// - any difference, any unreadable or malformed record: the CLI runs as without it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const FORMAT = 3;
const RECORD = path.join('.pipeline', 'state', 'fresh.json');
/** The per-workspace secret the record's HMAC is keyed by. */
const KEY = path.join('.pipeline', 'state', 'fresh-key');
const KEY_BYTES = 32;
/** History entries kept (report/history.ts KEEP_ENTRIES): a constant here, never a field of the record. */
const HISTORY_KEEP = 200;
/** The names of history entries (report/history.ts ENTRY_NAME): only those are pruned. */
const HISTORY_ENTRY = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-\d+\.json$/;
/** Stage names as pipeline.yaml accepts them (config/keys.ts NAME_PATTERN), and the statuses a no-op shows. */
const STAGE_NAME = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.@-]*$/;
const NO_OP_STATUSES = ['cached', 'skipped'];
/** Printable text: no control character (C0, DEL, C1), no line break. */
// eslint-disable-next-line no-control-regex -- looking for control characters
const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/;
/** Set to a file's path, each answer from the record appends a line to it (not part of the environment's digest). */
const LOG_VARIABLE = 'PIPELINE_FRESH_LOG';
/** Set to 1, the engine's list is checked against a trace of fs, and every run the record would answer is decided in full. */
const CHECK_VARIABLE = 'PIPELINE_FRESH_CHECK';
/** The decision's inputs a record lists by kind (core/read-set.ts REQUIRED_KINDS): each must be among its files. */
const REQUIRED_KINDS = ['config', 'lock', 'dep', 'out', 'code', 'package'];
/** The stat cache's racy window (store/stat-cache.ts): nothing changed this close to the run is certified. */
const RACY_NS = 2_000_000_000n;
/** Milliseconds on a monotonic clock: the global `performance` would load Node's perf_hooks (≈ 1 ms) on every run. */
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Engine files under .pipeline/ written by every run and never an input of one: not part of the record. */
const OWN_OUTPUTS = ['', 'last-run.json', 'history', 'logs', 'running', 'tmp', 'run-holder.json', 'state', 'state/run-key', 'state/fresh.json', 'state/fresh-key', 'build'];

/**
 * The environment, every variable but the log's, check mode's (which changes nothing a run decides) and the shell's
 * `_` (the path of the command it started).
 */
function envDigest(env) {
  const entries = Object.entries(env)
    .filter(([k]) => k !== LOG_VARIABLE && k !== CHECK_VARIABLE && k !== '_')
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
  const view = record.view;
  return (
    object(record.files) &&
    Object.values(record.files).every((s) => typeof s === 'string') &&
    object(record.lastRun) &&
    object(record.history) &&
    object(view) &&
    Number.isInteger(view.width) &&
    view.width >= 1 &&
    view.width <= 200 &&
    typeof view.color === 'boolean' &&
    Array.isArray(view.stages) &&
    view.stages.length > 0 &&
    view.stages.every(
      (st) =>
        Array.isArray(st) &&
        st.length === 3 &&
        typeof st[0] === 'string' &&
        STAGE_NAME.test(st[0]) &&
        NO_OP_STATUSES.includes(st[1]) &&
        typeof st[2] === 'string' &&
        PRINTABLE.test(st[2]),
    )
  );
}

const ANSI = { cached: ['\u001b[36m', '\u001b[39m'], skipped: ['\u001b[90m', '\u001b[39m'] };

/**
 * What a no-op run prints (report/progress.ts LineReporter: one line per stage, then the counts), from the record's
 * data: the durations of the stages as 0ms, the run's own `ms` in the summary.
 */
function render(view, ms) {
  const lines = view.stages.map(([name, status, reason]) => {
    const label = view.color ? `${ANSI[status][0]}${status.padEnd(7)}${ANSI[status][1]}` : status.padEnd(7);
    return `${name.padEnd(view.width)}  ${label}  ${formatDuration(0).padStart(7)}  ${reason}`.trimEnd() + '\n';
  });
  const count = (status) => view.stages.filter((st) => st[1] === status).length;
  const skipped = count('skipped');
  const summary = `${view.stages.length} stages: 0 ran, ${count('cached')} cached, 0 failed, 0 blocked${skipped > 0 ? `, ${skipped} skipped` : ''} (${formatDuration(ms)})\n`;
  return lines.join('') + summary;
}

/** The workspace's key, when it is a regular file of this user that nobody else may read; else undefined. */
function readKey(root) {
  const file = path.join(root, KEY);
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile() || (st.mode & 0o077) !== 0 || (typeof process.getuid === 'function' && st.uid !== process.getuid()) || st.size !== KEY_BYTES) return undefined;
    const key = fs.readFileSync(file);
    return key.length === KEY_BYTES ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The workspace's key, created (mode 0600, a fresh file) when there is none or the one there is not fit. */
function ensureKey(root) {
  const key = readKey(root);
  if (key) return key;
  const file = path.join(root, KEY);
  fs.rmSync(file, { force: true });
  const fresh = require('node:crypto').randomBytes(KEY_BYTES);
  const tmp = tempPathFor(file);
  try {
    fs.writeFileSync(tmp, fresh, { flag: 'wx', mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return fresh;
}

function mac(key, text) {
  return require('node:crypto').createHmac('sha256', key).update(text).digest('hex');
}

/** The record's text, when its first line is a valid HMAC of the rest under the workspace's key. */
function authenticated(root, file) {
  const key = readKey(root);
  if (!key) return undefined;
  const text = fs.readFileSync(file, 'utf8');
  const nl = text.indexOf('\n');
  if (nl !== 64) return undefined;
  const given = Buffer.from(text.slice(0, nl), 'utf8');
  const body = text.slice(nl + 1);
  const want = Buffer.from(mac(key, body), 'utf8');
  return require('node:crypto').timingSafeEqual(given, want) ? body : undefined;
}

/** A real folder (not a symlink) at `dir`, created when missing; false when something else is there. */
function realFolder(dir) {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st) {
    fs.mkdirSync(dir);
    return true;
  }
  return st.isDirectory();
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
 * Whether the record covers what the engine's own decision reads: its inputs by kind are lists of paths, every one of
 * them among its files, with at least the config and pipeline.lock beside it; without `--config` or `-C`, the config
 * is looked for in the current folder first, and that lookup is among its files too.
 */
function covers(record, argv, root) {
  const inputs = record.inputs;
  if (typeof inputs !== 'object' || inputs === null) return false;
  for (const kind of REQUIRED_KINDS) {
    const list = inputs[kind];
    if (!Array.isArray(list) || !list.every((f) => typeof f === 'string' && Object.hasOwn(record.files, f))) return false;
  }
  if (!inputs.config.some((f) => inputs.lock.includes(path.join(path.dirname(f), 'pipeline.lock')))) return false;
  const elsewhere = argv.some((a) => a === '-C' || a === '--cwd' || a.startsWith('--cwd=') || a === '--config' || a.startsWith('--config='));
  return elsewhere || Object.hasOwn(record.files, path.join(root, 'pipeline.yaml'));
}

/** The record, when it answers `pipeline run ARGV` here and now: signed, made for this run, covering, every file as it was. */
function obeyed(argv, bundle, root) {
  let record;
  try {
    const body = authenticated(root, path.join(root, RECORD));
    if (body === undefined) return undefined;
    record = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (record?.format !== FORMAT || record.cwd !== root || record.node !== node() || record.terminal !== terminal()) return undefined;
  if (!sameArgv(record.argv, argv) || record.bundle !== bundle || !wellFormed(record) || !covers(record, argv, root)) return undefined;
  for (const [file, state] of Object.entries(record.files)) if (stateOf(file) !== state) return undefined;
  if (record.env !== envDigest(process.env)) return undefined;
  return record;
}

/** Appends the command line to PIPELINE_FRESH_LOG, when set: the record answered it. */
function logAnswer(argv) {
  try {
    if (process.env[LOG_VARIABLE]) fs.appendFileSync(process.env[LOG_VARIABLE], `${argv.join(' ')}\n`);
  } catch {
    // a log that cannot be written: the answer stands
  }
}

/**
 * Answer `pipeline run ARGV` from the record when it still holds: prints what the run printed, rewrites
 * last-run.json and adds the history entry, and returns true. False (having printed nothing) otherwise.
 */
function answer(argv, bundle) {
  const began = monotonicMs();
  const root = process.cwd();
  const record = obeyed(argv, bundle, root);
  if (!record) return false;
  const startedAt = new Date();
  const stamp = startedAt.toISOString();
  // last-run.json first: if the history entry cannot be written, the ordinary run that follows rewrites last-run.json
  // and adds the one entry.
  try {
    const dotPipeline = path.join(root, '.pipeline');
    const history = path.join(dotPipeline, 'history');
    // Only into the workspace's own folders: a symlinked .pipeline/ or history/ answers nothing.
    if (!realFolder(dotPipeline) || !realFolder(history)) return false;
    const lastRun = { ...record.lastRun, startedAt: stamp, durationMs: Math.round(monotonicMs() - began) };
    writeAtomic(path.join(dotPipeline, 'last-run.json'), JSON.stringify(lastRun, null, 2));
    writeAtomic(path.join(history, `${stamp.replace(/[:.]/g, '-')}-${process.pid}.json`), JSON.stringify({ ...record.history, startedAt: stamp }));
    const names = fs.readdirSync(history).filter((n) => HISTORY_ENTRY.test(n)).sort();
    for (const old of names.slice(0, Math.max(0, names.length - HISTORY_KEEP))) fs.rmSync(path.join(history, old), { force: true });
  } catch {
    return false; // a read-only workspace: the ordinary run says what is wrong
  }
  process.stdout.write(render(record.view, monotonicMs() - began));
  logAnswer(argv);
  process.exitCode = 0;
  return true;
}

/** Whether this process checks the record against the engine (PIPELINE_FRESH_CHECK=1). */
function checking() {
  return process.env[CHECK_VARIABLE] === '1';
}

/**
 * The files this process consults on Node's fs, from now on (the sync, callback and promise forms, by path): in
 * check mode only, to hold the engine's list against.
 */
function traceFs() {
  const consulted = new Set();
  // Paths as given (resolved when compared: the run does not change folder), so tracing costs a Set.add.
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
  return consulted;
}

/**
 * Whether the engine need not name a path the traced run consulted: the engine's own outputs in .pipeline/ (never an
 * input of a run), temp files, and the CLI's own install (its bundle, code cache and packages: covered by the
 * bundle's name and the installs' lockfiles the record holds).
 */
function notAnInput(file, root, bundle) {
  const own = new Set(OWN_OUTPUTS.map((rel) => path.join(root, '.pipeline', rel).replace(/\/$/, '')));
  const ownDirs = ['history', 'logs', 'running', 'tmp', 'build'].map((rel) => path.join(root, '.pipeline', rel) + path.sep);
  const install = path.resolve(path.dirname(bundle), '..', '..');
  const program = ['dist', 'bin', 'node_modules'].map((d) => path.join(install, d) + path.sep);
  // A program looked for in PATH's folders (exec/launch.ts finds `setpriv` there to start hosts ahead of need): how
  // processes start, which a no-op never does; PATH itself is in the environment's digest.
  const pathFolders = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.resolve(d));
  if (pathFolders.includes(path.dirname(file))) return true;
  // The run lock's holder file when .pipeline/ does not exist yet (exec/run-lock.ts): the lock's, never an input.
  const holder = path.dirname(file) === require('node:os').tmpdir() && /^pipeline-run-\d+-\d+\.json$/.test(path.basename(file));
  return (
    holder ||
    own.has(file) ||
    ownDirs.some((d) => file.startsWith(d)) ||
    path.basename(file).endsWith('.tmp') ||
    program.some((d) => file.startsWith(d)) ||
    installFiles(bundle).includes(file) ||
    file === install
  );
}

/** Stage lines as `name status reason` strings, for naming the stages two answers differ in. */
function disagreement(predicted, decided) {
  const line = (st) => `${st[0]} ${st[1]}${st[2] ? ` (${st[2]})` : ''}`;
  if (!decided) return predicted.map((st) => `${st[0]}: the record answered \`${line(st)}\`, the engine did not find it fresh`);
  const names = [...new Set([...predicted, ...decided].map((st) => st[0]))];
  const by = (list) => new Map(list.map((st) => [st[0], st]));
  const [p, d] = [by(predicted), by(decided)];
  return names
    .filter((n) => JSON.stringify(p.get(n)) !== JSON.stringify(d.get(n)))
    .map((n) => `${n}: the record answered \`${p.has(n) ? line(p.get(n)) : 'nothing'}\`, the engine decided \`${d.has(n) ? line(d.get(n)) : 'nothing'}\``);
}

/**
 * The recorder of this `run`: it writes the record when the run says it found everything fresh (`certify`), from
 * the files the engine names. In check mode it also traces fs (every traced path must be on the engine's list), and
 * when the record would have answered this run, holds the run's decisions (`decided`) against that answer; `finish`
 * turns what the checks found into a message on stderr and exit 1.
 */
function recorder(argv, bundle) {
  const began = BigInt(Date.now()) * 1_000_000n;
  const check = checking();
  const root = process.cwd();
  // Decided in full instead of answered: what the record would have answered, to compare.
  const record = check ? obeyed(argv, bundle, root) : undefined;
  const predicted = record?.view.stages;
  const consulted = check ? traceFs() : undefined;
  // What the record would have printed is what this run prints when the engine agrees (durations 0ms, as answered):
  // the full run's lines are held until then.
  let held = '';
  if (record) {
    process.stdout.write = (chunk, ...rest) => {
      held += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const done = rest.find((r) => typeof r === 'function');
      if (done) process.nextTick(done);
      return true;
    };
  }
  const startedMs = monotonicMs();
  const problems = [];
  let decided;
  let stderrBytes = 0;
  const write = process.stderr.write;
  process.stderr.write = function (chunk, ...rest) {
    stderrBytes += typeof chunk === 'string' ? chunk.length : (chunk?.length ?? 0);
    return write.call(this, chunk, ...rest);
  };
  return {
    /** The stages as the run finished them, `[name, status, reason]` each (any run, fresh or not). */
    decided(stages) {
      decided = stages;
    },
    /**
     * The run found every stage up to date and printed `stdout` (its durations as 0ms): write the record from the
     * engine's `files`, unless something was printed on stderr or a file is too new to be trusted by stat.
     */
    certify(runRoot, { stdout, view, lastRun, history, files: engineFiles, inputs }) {
      if (stderrBytes > 0 || path.resolve(runRoot) !== root) return;
      // The answer renders the view: only a view that renders what this run printed is recorded.
      if (typeof stdout !== 'string' || typeof view !== 'object' || view === null || !wellFormed({ files: {}, lastRun, history, view }) || render(view, 0) !== stdout) return;
      if (!Array.isArray(engineFiles) || !engineFiles.every((f) => typeof f === 'string' && path.isAbsolute(f))) return;
      if (consulted) {
        const listed = new Set(engineFiles);
        const missing = [...new Set([...consulted].map((p) => path.resolve(p)))].filter((f) => !listed.has(f) && !notAnInput(f, root, bundle)).sort();
        if (missing.length > 0) {
          problems.push(`the run consulted ${missing.length} path(s) the engine's list lacks (the record would not see them change):\n${missing.map((f) => `  ${f}`).join('\n')}`);
          return;
        }
      }
      // The engine's own state (parsed config, stat cache, ...) is written only under the run lock, which this run
      // holds: what it wrote there itself is what the next run reads, however new.
      const state = path.join(root, '.pipeline', 'state') + path.sep;
      const own = new Set(OWN_OUTPUTS.map((rel) => path.join(root, '.pipeline', rel).replace(/\/$/, '')));
      const files = {};
      for (const file of [...new Set([...engineFiles, ...installFiles(bundle)])].sort()) {
        if (own.has(file)) continue;
        const now = stateOf(file);
        if (now === '?' || (!file.startsWith(state) && newestIn(now) + RACY_NS >= began)) return;
        files[file] = now;
      }
      const record = { format: FORMAT, argv, cwd: root, node: node(), terminal: terminal(), env: envDigest(process.env), bundle, files, inputs, view, lastRun, history };
      // A record that would not be obeyed is not written.
      if (!covers(record, argv, root)) return;
      try {
        const body = JSON.stringify(record);
        writeAtomic(path.join(root, RECORD), `${mac(ensureKey(root), body)}\n${body}`);
      } catch {
        // best effort: the next run is an ordinary one
      }
    },
    /** The run ended with `code`: in check mode, what the checks found, said on stderr, makes it exit 1. */
    finish(code) {
      if (record) {
        const differ = disagreement(predicted, decided);
        delete process.stdout.write; // the stream's own write again
        if (differ.length > 0) {
          process.stdout.write(held);
          problems.push(`the fresh record would have answered this run, but the engine decides otherwise:\n${differ.map((d) => `  ${d}`).join('\n')}`);
        } else {
          process.stdout.write(render(record.view, monotonicMs() - startedMs));
          logAnswer(argv);
        }
      }
      if (problems.length === 0) return code;
      process.stderr.write(`pipeline: ${CHECK_VARIABLE}: ${problems.join('\n')}\nfix: every path a decision reads must be named in the engine's list (runner/core/read-set.ts)\n`);
      return code === 0 ? 1 : code;
    },
  };
}

// The engine's RACY_NS, duration format and temp names are copies here (this file runs before any of the engine
// loads); tests/cli/fresh-record.test.ts holds them equal.
module.exports = { answer, recorder, render, covers, REQUIRED_KINDS, RECORD, KEY, RACY_NS, HISTORY_KEEP, HISTORY_ENTRY, formatDuration, tempPathFor };
