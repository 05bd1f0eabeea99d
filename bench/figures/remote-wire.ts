// Remote transfers against the wire: one 200 MiB object (random bytes), and a folder out of 512 files of 64 KiB,
// pushed and pulled through the HTTP layout (nginx), S3 (Ceph radosgw, SigV4) and a folder remote, each beside its
// peer measured in the same run, interleaved run by run (the machine's load moves between runs, not within one).
//
// Ours is the transfer as `pipeline push` / `pipeline pull` do it, timed inside the process (remote-wire-driver.ts:
// modules loaded and the remote opened before the clock): push sends the objects the result names, skipping those the
// remote has, then its run record; pull fetches the record and every object, each hashed on arrival and verified
// against its name before it enters the local store. The commands themselves are timed as well (Node.js start, the
// CLI, the S3 SDK's load and, for pull, putting the out in the workspace included), beside the same peer.
//
// Every object must be hashed, so the peer is the transfer plus one sha256 pass: `H file && curl -T file URL` for a
// push, `curl URL | H` for a pull (S3: curl's --aws-sigv4 with the test credentials, `x-amz-content-sha256:
// UNSIGNED-PAYLOAD`, as the SDK sends a streamed body over http), `H file && cp file DEST` and `cp FILE DEST && H
// DEST` for the folder remote; for the many-files case curl moves the files 4 at a time (`-Z --parallel-max 4`, as
// PIPELINE_REMOTE_JOBS defaults to 4) and H hashes them all in one command. H is the fastest sha256 tool here
// (`sha256sum`, `openssl dgst -sha256`): a peer limited by a slow hasher would flatter us (floors.ts).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineCmd, type BenchContext } from '../context.js';
import { newFigure, type Figure } from '../figure.js';
import { fastestHash, peerWithinFloor, type HashTool } from '../floors.js';
import { exec, type Cmd } from '../measure.js';
import { summarize, type Stats } from '../stats.js';
import { loadAverage } from '../report.js';
import { remoteServers } from './remote.js';

const BUCKET = 'pipeline-remote-tests';
const MiB = 1024 * 1024;
const JOBS = 4;

/** A workspace whose one stage writes the case's out, run once; what the transfers move. */
interface Case {
  title: string;
  /** Folder of the workspace; the out inside it. */
  ws: string;
  out: string;
  fingerprint: string;
  /** Every blob a push of the result writes: objects (cas) and the record (ac). */
  blobs: { ns: 'cas' | 'ac'; key: string }[];
  /** The out's files with their object hashes (one for a file out). */
  files: { rel: string; hash: string }[];
  bytes: number;
}

function makeCase(ctx: BenchContext, name: string, title: string, cmd: string, out: string): Case {
  const ws = path.join(ctx.tmp, name);
  mkdirSync(ws, { recursive: true });
  writeFileSync(path.join(ws, 'pipeline.yaml'), `version: 1\nstages:\n  make:\n    cmd: ${JSON.stringify(cmd)}\n    shell: true\n    outs: [${out}]\n`);
  exec(pipelineCmd(ctx, ws, ['run', '-q']));
  const lock = JSON.parse(readFileSync(path.join(ws, 'pipeline.lock'), 'utf8')) as { stages: { make: { fingerprint: string; outs: { hash: string; type: string; size: number }[] } } };
  const entry = lock.stages.make;
  const objectText = (h: string) => readFileSync(path.join(ws, '.pipeline', 'cache', 'objects', h.slice(0, 2), h.slice(2)), 'utf8');
  const record = JSON.parse(readFileSync(path.join(ws, '.pipeline', 'cache', 'runs', entry.fingerprint.slice(0, 2), `${entry.fingerprint.slice(2)}.json`), 'utf8')) as { log?: string };
  const o = entry.outs[0];
  const files =
    o.type === 'dir' ? (JSON.parse(objectText(o.hash)) as { entries: { path: string; hash: string }[] }).entries.map((e) => ({ rel: `${out}/${e.path}`, hash: e.hash })) : [{ rel: out, hash: o.hash }];
  const objects = new Set([...(o.type === 'dir' ? [o.hash] : []), ...files.map((f) => f.hash), ...(record.log ? [record.log] : [])]);
  const blobs = [...[...objects].map((key) => ({ ns: 'cas' as const, key })), { ns: 'ac' as const, key: entry.fingerprint }];
  return { title, ws, out, fingerprint: entry.fingerprint, blobs, files, bytes: o.type === 'dir' ? files.length * 64 * 1024 : o.size };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const bash = (script: string, cwd: string): Cmd => ({ file: 'bash', args: ['-c', `set -eo pipefail; ${script}`], cwd });

/** A remote the figure talks to: how the engine names it, and how the peer reaches the same blobs. */
interface Side {
  label: string;
  env: Record<string, string>;
  /** PIPELINE_REMOTE for a prefix. */
  url(prefix: string): string;
  /** Where the blob lives: a URL (HTTP, S3) or a path (folder). */
  blob(prefix: string, ns: 'cas' | 'ac', key: string): string;
  /** curl's settings for it (credentials, signing), lines of a config file (-K): never on a command line. Undefined for the folder remote. */
  curl?: string;
}

function sides(ctx: BenchContext, servers: { http: string; s3: Record<string, string> }): Side[] {
  const folderRoot = path.join(ctx.tmp, 'folder-remote');
  const s3 = servers.s3;
  const sigv4 = `aws-sigv4 = "aws:amz:us-east-1:s3"\nuser = "${s3.AWS_ACCESS_KEY_ID}:${s3.AWS_SECRET_ACCESS_KEY}"\nheader = "x-amz-content-sha256: UNSIGNED-PAYLOAD"\n`;
  return [
    { label: 'HTTP (nginx)', env: {}, url: (p) => `${servers.http}/${p}`, blob: (p, ns, k) => `${servers.http}/${p}/${ns}/${k}`, curl: '' },
    { label: 'S3 (Ceph radosgw)', env: s3, url: (p) => `s3://${BUCKET}/${p}`, blob: (p, ns, k) => `${s3.AWS_ENDPOINT_URL}/${BUCKET}/${p}/${ns}/${k}`, curl: sigv4 },
    { label: 'folder', env: {}, url: (p) => path.join(folderRoot, p), blob: (p, ns, k) => path.join(folderRoot, p, ns, k.slice(0, 2), k) },
  ];
}

let serial = 0;
const fresh = (what: string) => `wire-${process.pid}-${Date.now().toString(36)}-${what}-${serial++}`;

/** A new prefix on a side; a folder remote must exist before it is used (as a mounted share does). */
function newPrefix(side: Side, what: string): string {
  const prefix = fresh(what);
  if (side.curl === undefined) mkdirSync(side.url(prefix), { recursive: true });
  return prefix;
}

/** Remove what was written under a prefix (untimed): the servers keep nothing of the bench. */
function removePrefix(ctx: BenchContext, side: Side, prefix: string, keys: { ns: 'cas' | 'ac'; key: string }[]): void {
  if (side.curl === undefined) {
    rmSync(side.url(prefix), { recursive: true, force: true });
    return;
  }
  const cfg = path.join(ctx.tmp, `${prefix}.delete.cfg`);
  writeFileSync(cfg, side.curl + keys.map((k) => `url = "${side.blob(prefix, k.ns, k.key)}"\n`).join(''));
  exec(bash(`curl -sS --noproxy '*' -X DELETE -Z --parallel-max 8 -K ${q(cfg)} >/dev/null`, ctx.tmp));
  rmSync(cfg, { force: true });
}

/** The engine's transfer, timed inside the process. */
function driver(ctx: BenchContext, side: Side, spec: { op: 'push' | 'pull'; remote: string; cache: string; fingerprint: string }): number {
  const script = path.join(ctx.repo, 'bench', 'figures', 'remote-wire-driver.ts');
  const out = exec({ file: process.execPath, args: ['--import', 'tsx', script, JSON.stringify(spec)], cwd: ctx.repo, env: { ...side.env, PIPELINE_REMOTE: undefined } });
  return (JSON.parse(out.stdout.trim().split('\n').pop()!) as { ms: number }).ms;
}

/** Run each contender once per round, `runs` rounds after a warm-up round; each returns its time in ms. */
function interleaved(runs: number, contenders: Record<string, () => number>): Record<string, Stats> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let round = -1; round < runs; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const ms = run();
      if (round >= 0) times[name].push(ms);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summarize(v)]));
}

const mibps = (bytes: number, s: Stats): Stats => summarize(s.samples.map((ms) => bytes / MiB / (ms / 1000)));

/** The peer's commands for one side and case: the peer itself, and its transfer part alone (its floor's other half). */
function peerPush(c: Case, side: Side, hash: HashTool, prefix: string, cfg: string): { peer: string; part: string } {
  const files = c.files.map((f) => q(f.rel)).join(' ');
  if (side.curl === undefined) {
    const dest = side.url(prefix);
    const copy = c.files.length === 1 ? `mkdir -p ${q(dest)} && cp ${files} ${q(dest)}/` : `mkdir -p ${q(dest)} && cp -r ${q(c.out)} ${q(dest)}/`;
    return { peer: `${hash.cmd} ${files} >/dev/null && ${copy}`, part: copy };
  }
  writeFileSync(cfg, side.curl + c.files.map((f) => `upload-file = "${path.join(c.ws, f.rel)}"\nurl = "${side.blob(prefix, 'cas', f.hash)}"\n`).join(''));
  const curl = (extra: string) => `curl -sSf --noproxy '*' ${extra}-Z --parallel-max ${JOBS} -K ${q(cfg)} >/dev/null`;
  // Alone, the upload does not wait for the server's 100-continue: a server slow to send it shows as a peer off its floor.
  return { peer: `${hash.cmd} ${files} >/dev/null && ${curl('')}`, part: curl('--expect100-timeout 0 ') };
}

function peerPull(ctx: BenchContext, c: Case, side: Side, hash: HashTool, prefix: string, cfg: string): { peer: string; part: string; clean: () => void } {
  const dest = path.join(ctx.tmp, `${prefix}-peer-pull`);
  const clean = () => rmSync(dest, { recursive: true, force: true });
  if (side.curl === undefined) {
    const copy = `mkdir -p ${q(dest)} && ${c.files.map((f) => `cp ${q(side.blob(prefix, 'cas', f.hash))} ${q(dest)}/`).join(' && ')}`;
    const copyMany = `mkdir -p ${q(dest)} && cp -r ${q(side.url(prefix))}/cas ${q(dest)}/`;
    const [cp, copied] = c.files.length === 1 ? [copy, `${q(dest)}/*`] : [copyMany, `${q(dest)}/cas/*/*`];
    return { peer: `${cp} && ${hash.cmd} ${copied} >/dev/null`, part: cp, clean };
  }
  if (c.files.length === 1) {
    writeFileSync(cfg, `${side.curl}url = "${side.blob(prefix, 'cas', c.files[0].hash)}"\n`);
    const curl = `curl -sSf --noproxy '*' -K ${q(cfg)}`;
    return { peer: `${curl} | ${hash.cmd} | grep -q ${c.files[0].hash}`, part: `${curl} -o /dev/null`, clean };
  }
  writeFileSync(cfg, side.curl + c.files.map((f) => `url = "${side.blob(prefix, 'cas', f.hash)}"\noutput = "${path.join(dest, f.hash)}"\n`).join(''));
  const curl = `mkdir -p ${q(dest)} && curl -sSf --noproxy '*' -Z --parallel-max ${JOBS} -K ${q(cfg)}`;
  return { peer: `${curl} && ${hash.cmd} ${q(dest)}/* >/dev/null`, part: curl, clean };
}

function timed(cmd: Cmd, after?: () => void): number {
  const ms = exec(cmd).ms;
  after?.();
  return ms;
}

/** Push then pull through one side: ours in the process, the command, the peer and the peer's transfer alone. */
function measureSide(ctx: BenchContext, f: Figure, c: Case, side: Side, hash: HashTool, runs: number): void {
  const cache = path.join(c.ws, '.pipeline', 'cache');
  const cfg = path.join(ctx.tmp, 'peer.cfg');
  const peerKeys = c.files.map((x) => ({ ns: 'cas' as const, key: x.hash }));
  const withRemote = (cmd: Cmd, prefix: string): Cmd => ({ ...cmd, env: { ...cmd.env, ...side.env, PIPELINE_REMOTE: side.url(prefix) } });
  // The peer's hash pass alone, in the same rounds: half of its floor.
  const hashAlone = () => exec(bash(`${hash.cmd} ${c.files.map((x) => q(x.rel)).join(' ')} >/dev/null`, c.ws)).ms;

  const push = interleaved(runs, {
    ours: () => {
      const prefix = newPrefix(side, 'push');
      const ms = driver(ctx, side, { op: 'push', remote: side.url(prefix), cache, fingerprint: c.fingerprint });
      removePrefix(ctx, side, prefix, c.blobs);
      return ms;
    },
    command: () => {
      const prefix = newPrefix(side, 'cli-push');
      return timed(withRemote(pipelineCmd(ctx, c.ws, ['push']), prefix), () => removePrefix(ctx, side, prefix, c.blobs));
    },
    peer: () => {
      const prefix = fresh('peer-push');
      return timed(bash(peerPush(c, side, hash, prefix, cfg).peer, c.ws), () => removePrefix(ctx, side, prefix, peerKeys));
    },
    part: () => {
      const prefix = fresh('peer-part');
      return timed(bash(peerPush(c, side, hash, prefix, cfg).part, c.ws), () => removePrefix(ctx, side, prefix, peerKeys));
    },
    hash: hashAlone,
  });

  // What the pulls read: one push of the result (untimed), kept until the pulls are done.
  const source = newPrefix(side, 'pull-source');
  driver(ctx, side, { op: 'push', remote: side.url(source), cache, fingerprint: c.fingerprint });
  const pull = interleaved(runs, {
    ours: () => {
      const into = path.join(ctx.tmp, fresh('pull-cache'));
      const ms = driver(ctx, side, { op: 'pull', remote: side.url(source), cache: into, fingerprint: c.fingerprint });
      rmSync(into, { recursive: true, force: true });
      return ms;
    },
    command: () => {
      const clone = path.join(ctx.tmp, fresh('clone'));
      mkdirSync(clone);
      for (const file of ['pipeline.yaml', 'pipeline.lock']) writeFileSync(path.join(clone, file), readFileSync(path.join(c.ws, file)));
      return timed(withRemote(pipelineCmd(ctx, clone, ['pull']), source), () => rmSync(clone, { recursive: true, force: true }));
    },
    peer: () => {
      const p = peerPull(ctx, c, side, hash, source, cfg);
      return timed(bash(p.peer, c.ws), p.clean);
    },
    part: () => {
      const p = peerPull(ctx, c, side, hash, source, cfg);
      return timed(bash(p.part, c.ws), p.clean);
    },
    hash: hashAlone,
  });
  removePrefix(ctx, side, source, c.blobs);

  for (const [op, s] of [['push', push], ['pull', pull]] as const) {
    const what = `${side.label} ${op}`;
    f.rows.push({ label: `${what}: pipeline, the transfer (in the process)`, unit: 'MiB/s', stats: mibps(c.bytes, s.ours) });
    f.rows.push({ label: `${what}: \`pipeline ${op}\`, the command${op === 'pull' ? ' (out restored in the workspace)' : ''}`, unit: 'MiB/s', stats: mibps(c.bytes, s.command) });
    f.rows.push({ label: `${what}: peer (${side.curl === undefined ? 'cp' : 'curl'} + ${hash.name})`, unit: 'MiB/s', stats: mibps(c.bytes, s.peer) });
    const sane = peerWithinFloor(f, `${what} peer`, s.peer, [s.part, s.hash], op === 'push' ? 'the upload alone (not waiting for 100-continue) + one hash pass' : 'the download alone + one hash pass');
    const ratio = s.peer.median / s.ours.median;
    f.rows.push({ label: `${what}: pipeline / peer (MiB/s)`, unit: '×', value: sane ? ratio : NaN, note: sane ? '' : 'withheld: the peer is off its floor' });
    f.rows.push({ label: `${what}: the command / peer (MiB/s)`, unit: '×', value: sane ? s.peer.median / s.command.median : NaN });
    f.targets.push({ what: `${c.title}: ${what} ≥ 0.8× the peer`, value: sane ? ratio : NaN, limit: 0.8, dir: 'min', unit: '×' });
  }
}

/** One case's figure: the out made by a one-stage workspace, moved through every side. */
function caseFigure(ctx: BenchContext, title: string, make: () => Case): Figure {
  const servers = remoteServers();
  if (typeof servers === 'string') throw new Error(servers);
  const runs = ctx.runs;
  const f = newFigure(`Remote transfers near the wire: ${title}`);
  const loadStart = loadAverage();
  const c = make();
  const hash = fastestHash(f, c.ws, c.files.map((x) => x.rel), runs);
  for (const side of sides(ctx, servers)) measureSide(ctx, f, c, side, hash, runs);
  f.notes.push(
    `${c.bytes / MiB} MiB in ${c.files.length} file(s); medians of ${runs} interleaved runs after a warm-up (load average ${loadStart} before, ${loadAverage()} after). ` +
      '"The transfer" is the engine moving the result (push: objects the remote lacks, then the run record; pull: the record and every object, each verified against its name into an empty local store), ' +
      'timed inside the process; "the command" is `pipeline push` (to a fresh prefix) or `pipeline pull` (in a fresh clone, the out restored in the workspace) from spawn to exit. ' +
      `The peer is the transfer plus one sha256 pass with ${hash.name}, the fastest sha256 tool here; every push goes to a fresh prefix that is removed afterwards.`,
  );
  rmSync(c.ws, { recursive: true, force: true });
  return f;
}

export const FILES = 512;

/** One 200 MiB object of random bytes. */
export function remoteWireFigure(ctx: BenchContext): Figure {
  return caseFigure(ctx, '200 MiB object (random bytes)', () => makeCase(ctx, 'wire-object', 'one 200 MiB object', 'head -c 209715200 /dev/urandom > big.bin', 'big.bin'));
}

/** A folder out of many small files: what each object costs beyond its bytes. */
export function remoteFilesFigure(ctx: BenchContext): Figure {
  return caseFigure(ctx, `a folder of ${FILES} files of 64 KiB (random bytes)`, () =>
    makeCase(ctx, 'wire-files', `a folder of ${FILES} × 64 KiB`, `mkdir -p parts && head -c ${FILES * 65536} /dev/urandom | split -b 65536 -a 4 - parts/p`, 'parts'),
  );
}
