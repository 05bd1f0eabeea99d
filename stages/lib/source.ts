// Where the raw data comes from: the canonical archive (downloaded once, verified by sha256, kept in a data home) or
// a local file, either that archive or the extracted cal_housing.data.
//
// Checksum rule: a download of the canonical URL must hash to CANONICAL_SHA256. The optional `sha256` param, when
// set, is checked against whatever source is used instead (download or local file, archive or .data). A local file
// without `sha256` is taken as it is; its hash is recorded in build/data/summary.json.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const CANONICAL_URL = 'https://ndownloader.figshare.com/files/5976036';
export const CANONICAL_SHA256 = 'aaa5c9a6afe2225cc2aed2723682ae403280c4a3695a2ddda4ffb5d8215ea681';
export const ARCHIVE_MEMBER = 'CaliforniaHousing/cal_housing.data';
export const LOCAL_HINT = 'npx pipeline run --set load.source=../shared/data/cal_housing.data';

/** The folder downloads are kept in: $PIPELINE_DATA_HOME, else $XDG_CACHE_HOME/pipeline/data, else ~/.cache/pipeline/data. */
export function dataHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PIPELINE_DATA_HOME) return path.resolve(env.PIPELINE_DATA_HOME);
  const cache = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(cache, 'pipeline', 'data');
}

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface DownloadOptions {
  /** Expected sha256 (hex) of the whole body; a mismatch is refused and nothing is kept. */
  sha256?: string;
  /** Attempts in all (default 4); network errors, 5xx and 429 are retried, other statuses are not. */
  attempts?: number;
  /** Delay before the first retry, doubled after each (default 500 ms). */
  retryDelayMs?: number;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(`HTTP ${status} from ${url}`);
  }
}

/** Download `url` to `dest` atomically (temp file in the same folder, then rename); returns the body's sha256. */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  const attempts = opts.attempts ?? 4;
  let delay = opts.retryDelayMs ?? 500;
  await mkdir(path.dirname(dest), { recursive: true });
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await downloadOnce(url, dest, opts);
    } catch (err) {
      lastError = err;
      if (opts.signal?.aborted) throw err;
      const retryable = err instanceof HttpStatusError ? err.status >= 500 || err.status === 429 : !(err instanceof ChecksumError);
      if (!retryable || attempt === attempts) break;
      opts.log?.(`download of ${url} failed (${describe(err)}); retrying in ${delay} ms (attempt ${attempt + 1} of ${attempts})`);
      await sleep(delay, opts.signal);
      delay *= 2;
    }
  }
  throw lastError;
}

export class ChecksumError extends Error {
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${what}: sha256 is ${actual}, expected ${expected}`);
    this.name = 'ChecksumError';
  }
}

async function downloadOnce(url: string, dest: string, opts: DownloadOptions): Promise<string> {
  const res = await fetch(url, { signal: opts.signal, redirect: 'follow' });
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new HttpStatusError(res.status, url);
  }
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  const h = createHash('sha256');
  const fh = await open(tmp, 'w');
  try {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        h.update(chunk);
        await fh.write(chunk);
      }
    } finally {
      await fh.close();
    }
    const digest = h.digest('hex');
    if (opts.sha256 && digest !== opts.sha256.toLowerCase()) throw new ChecksumError(`download of ${url}`, opts.sha256, digest);
    await rename(tmp, dest);
    return digest;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    }, { once: true });
  });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

export interface SourceOptions {
  /** Relative local paths resolve against it. */
  workspace: string;
  /** Expected sha256 of the source (see the rule at the top). */
  sha256?: string;
  env?: NodeJS.ProcessEnv;
  attempts?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

export interface LocatedSource {
  /** Absolute path of a local file holding the archive or the .data file. */
  file: string;
  /** The URL it was downloaded from, for a URL source. */
  url?: string;
  /** Whether it came from the data home without a download. */
  cached: boolean;
}

/** Turn the `source` param into a local file: download (or reuse) a URL, or check a local path. */
export async function locateSource(source: string, opts: SourceOptions): Promise<LocatedSource> {
  if (typeof source !== 'string' || source.trim() === '') {
    throw new Error(`load.source must be a URL or a file path, got ${JSON.stringify(source)}. Example: ${LOCAL_HINT}`);
  }
  if (!isUrl(source)) {
    const file = path.resolve(opts.workspace, source);
    const st = await stat(file).catch(() => undefined);
    if (!st || !st.isFile()) {
      throw new Error(
        `load.source: ${file} ${st ? 'is not a file' : 'does not exist'}. Point it at cal_housing.tgz or cal_housing.data, e.g. ${LOCAL_HINT}`,
      );
    }
    if (opts.sha256) {
      const actual = await sha256File(file);
      if (actual !== opts.sha256.toLowerCase()) {
        throw new ChecksumError(`load.source ${file}`, opts.sha256, `${actual}; fix load.sha256 or use the intended file`);
      }
    }
    return { file, cached: false };
  }
  const expected = opts.sha256 ?? (source === CANONICAL_URL ? CANONICAL_SHA256 : undefined);
  const home = dataHome(opts.env);
  const dest = path.join(home, cacheName(source));
  const existing = await stat(dest).catch(() => undefined);
  if (existing?.isFile()) {
    const actual = await sha256File(dest);
    if (!expected || actual === expected.toLowerCase()) return { file: dest, url: source, cached: true };
    opts.log?.(`${dest}: sha256 ${actual} does not match ${expected}; downloading again`);
  }
  opts.log?.(`downloading ${source} into ${home}`);
  try {
    await download(source, dest, { sha256: expected, attempts: opts.attempts, retryDelayMs: opts.retryDelayMs, signal: opts.signal, log: opts.log });
  } catch (err) {
    if (err instanceof ChecksumError) throw err;
    throw new Error(
      `could not download ${source} (${describe(err)}). Without network access, point load.source at a local copy of ` +
        `cal_housing.tgz or cal_housing.data, e.g. ${LOCAL_HINT}`,
      { cause: err },
    );
  }
  return { file: dest, url: source, cached: false };
}

/** File name in the data home for a URL: the canonical archive keeps its usual name. */
export function cacheName(url: string): string {
  if (url === CANONICAL_URL) return 'cal_housing.tgz';
  const base = path.posix.basename(new URL(url).pathname).replace(/[^A-Za-z0-9._-]/g, '_') || 'download';
  return `${createHash('sha256').update(url).digest('hex').slice(0, 12)}-${base}`;
}

export interface SourceData {
  /** Text of cal_housing.data. */
  text: string;
  /** sha256 of the source file (the archive or the .data file). */
  sourceSha256: string;
  /** sha256 of the cal_housing.data bytes. */
  dataSha256: string;
  archive: boolean;
  /** Name used in error messages: the file, or `archive.tgz!member`. */
  label: string;
}

/** Read a located source: a gzip'd tar archive (detected by its magic bytes) yields its member, any other file is the data. */
export async function readSourceData(file: string): Promise<SourceData> {
  const bytes = await readFile(file);
  const sourceSha256 = createHash('sha256').update(bytes).digest('hex');
  const archive = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const data = archive ? await extractMember(bytes, ARCHIVE_MEMBER, file) : bytes;
  return {
    text: data.toString('utf8'),
    sourceSha256,
    dataSha256: archive ? createHash('sha256').update(data).digest('hex') : sourceSha256,
    archive,
    label: archive ? `${file}!${ARCHIVE_MEMBER}` : file,
  };
}

/** The bytes of one member of a .tgz, read in memory; a truncated or corrupt archive is an error naming the file. */
export async function extractMember(archive: Uint8Array, member: string, file: string): Promise<Buffer> {
  const { Parser } = await import('tar');
  const seen: string[] = [];
  const found = await new Promise<Buffer | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let hit = false;
    const fail = (what: string) =>
      reject(new Error(`${file}: ${what}; the archive is truncated or corrupt. Download it again or point load.source at cal_housing.data (${LOCAL_HINT})`));
    const parser = new Parser({
      strict: true,
      onReadEntry(entry) {
        const name = entry.path.replace(/^\.\//, '');
        seen.push(name);
        if (name === member && entry.type === 'File') {
          hit = true;
          entry.on('data', (c: Buffer) => chunks.push(c));
        } else {
          entry.resume();
        }
      },
    });
    parser.on('error', (e: Error) => fail(e.message));
    parser.on('warn', (code: string, message: string | Error) => fail(`${code} ${message instanceof Error ? message.message : message}`));
    parser.on('close', () => resolve(hit ? Buffer.concat(chunks) : undefined));
    parser.end(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength));
  });
  if (!found) {
    const list = seen.length ? seen.slice(0, 10).join(', ') : 'none';
    throw new Error(`${file}: the archive has no member ${member} (members: ${list}). Point load.source at the canonical cal_housing.tgz or at cal_housing.data`);
  }
  return found;
}
