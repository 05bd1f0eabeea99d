import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  ARCHIVE_MEMBER,
  cacheName,
  CANONICAL_SHA256,
  CANONICAL_URL,
  ChecksumError,
  dataHome,
  download,
  locateSource,
  readSourceData,
} from '../../stages/lib/source.js';
import { realData } from './harness.js';
import { ref } from './reference.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function makeArchive(dir: string, member = ARCHIVE_MEMBER): Promise<string> {
  const { create } = await import('tar');
  const src = path.join(dir, 'src');
  mkdirSync(path.join(src, path.dirname(member)), { recursive: true });
  copyFileSync(realData, path.join(src, member));
  const file = path.join(dir, 'cal_housing.tgz');
  await create({ gzip: true, file, cwd: src, portable: true }, [member]);
  return file;
}

describe('data source', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pipeline-source-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads the extracted .data file given by a path relative to the workspace', async () => {
    const ws = path.join(tmp, 'ws');
    mkdirSync(ws);
    copyFileSync(realData, path.join(tmp, 'cal_housing.data'));
    const loc = await locateSource('../cal_housing.data', { workspace: ws });
    expect(loc.file).to.equal(path.join(tmp, 'cal_housing.data'));
    const data = await readSourceData(loc.file);
    expect(data.archive).to.equal(false);
    expect(data.dataSha256).to.equal(ref.data_sha256);
    expect(data.sourceSha256).to.equal(ref.data_sha256);
  });

  it('reads the member CaliforniaHousing/cal_housing.data out of a real .tgz built with tar', async () => {
    const archive = await makeArchive(tmp);
    const data = await readSourceData(archive);
    expect(data.archive).to.equal(true);
    expect(data.dataSha256).to.equal(ref.data_sha256);
    expect(data.sourceSha256).to.equal(sha(readFileSync(archive)));
    expect(data.sourceSha256).to.not.equal(CANONICAL_SHA256);
    expect(data.label).to.equal(`${archive}!${ARCHIVE_MEMBER}`);
    expect(data.text).to.equal(readFileSync(realData, 'utf8'));
  });

  it('refuses a truncated archive, naming the file and saying what to do', async () => {
    const archive = await makeArchive(tmp);
    const bytes = readFileSync(archive);
    const cut = path.join(tmp, 'cut.tgz');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    let err: Error | undefined;
    await readSourceData(cut).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/cut\.tgz: .*truncated or corrupt\. Download it again or point load\.source at cal_housing\.data/);
  });

  it('refuses an archive without the member, listing what it holds', async () => {
    const archive = await makeArchive(tmp, 'other/housing.csv');
    let err: Error | undefined;
    await readSourceData(archive).catch((e: Error) => (err = e));
    expect(err?.message).to.contain(`has no member ${ARCHIVE_MEMBER} (members: other/housing.csv)`);
  });

  it('checks a local file against the sha256 param when one is given', async () => {
    const good = await locateSource(realData, { workspace: tmp, sha256: ref.data_sha256 });
    expect(good.file).to.equal(realData);
    let err: Error | undefined;
    await locateSource(realData, { workspace: tmp, sha256: CANONICAL_SHA256 }).catch((e: Error) => (err = e));
    expect(err).to.be.instanceOf(ChecksumError);
    expect(err?.message).to.contain(`sha256 is ${ref.data_sha256}`);
  });

  it('a missing local file says how to point load.source at a file', async () => {
    let err: Error | undefined;
    await locateSource('nope/cal_housing.data', { workspace: tmp }).catch((e: Error) => (err = e));
    expect(err?.message).to.contain(`${path.join(tmp, 'nope/cal_housing.data')} does not exist`);
    expect(err?.message).to.contain('npx pipeline run --set load.source=../shared/data/cal_housing.data');
  });

  it('keeps downloads in PIPELINE_DATA_HOME, else $XDG_CACHE_HOME/pipeline/data, else ~/.cache/pipeline/data', () => {
    expect(dataHome({ PIPELINE_DATA_HOME: '/d', XDG_CACHE_HOME: '/x' })).to.equal('/d');
    expect(dataHome({ XDG_CACHE_HOME: '/x' })).to.equal('/x/pipeline/data');
    expect(dataHome({})).to.equal(path.join(os.homedir(), '.cache', 'pipeline', 'data'));
    expect(cacheName(CANONICAL_URL)).to.equal('cal_housing.tgz');
    expect(cacheName('http://h/x/data.tgz')).to.match(/^[0-9a-f]{12}-data\.tgz$/);
  });

  it('a cached canonical archive whose sha256 is not the canonical one is not used: it is fetched again', async () => {
    const home = path.join(tmp, 'home');
    mkdirSync(home);
    writeFileSync(path.join(home, 'cal_housing.tgz'), 'not the archive');
    const logs: string[] = [];
    let err: Error | undefined;
    const loc = await locateSource(CANONICAL_URL, { workspace: tmp, env: { PIPELINE_DATA_HOME: home }, attempts: 1, log: (m) => logs.push(m) }).catch(
      (e: Error) => (err = e),
    );
    expect(logs[0]).to.equal(`${path.join(home, 'cal_housing.tgz')}: sha256 ${sha(Buffer.from('not the archive'))} does not match ${CANONICAL_SHA256}; downloading again`);
    if (err) {
      // Offline: the error says how to use a local file, and the bad copy is still not taken for the data.
      expect(err.message).to.contain('npx pipeline run --set load.source=../shared/data/cal_housing.data');
    } else {
      expect(sha(readFileSync((loc as { file: string }).file))).to.equal(CANONICAL_SHA256);
    }
  });

  describe('download from a local HTTP server', () => {
    let server: Server;
    let base: string;
    let plan: number[];
    let hits: number;
    let body: Buffer;

    beforeEach(async () => {
      body = readFileSync(realData);
      hits = 0;
      plan = [];
      server = createServer((req, res) => {
        hits++;
        const status = plan.shift() ?? 200;
        if (status === -1) {
          // Send the start of the body, then cut the connection once those bytes are handed to the socket.
          res.writeHead(200, { 'content-length': String(body.length) });
          res.write(body.subarray(0, 1000), () => res.destroy());
          return;
        }
        res.writeHead(status);
        res.end(status === 200 ? body : 'error');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    const leftovers = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

    it('retries a 500 and a cut connection, then succeeds; the file is complete and verified', async () => {
      plan = [500, -1, 200];
      const dest = path.join(tmp, 'home', 'f.data');
      const logs: string[] = [];
      const digest = await download(`${base}/f`, dest, { sha256: ref.data_sha256, retryDelayMs: 5, log: (m) => logs.push(m) });
      expect(hits).to.equal(3);
      expect(digest).to.equal(ref.data_sha256);
      expect(sha(readFileSync(dest))).to.equal(ref.data_sha256);
      expect(leftovers(path.dirname(dest))).to.deep.equal(['f.data']);
      expect(logs[0]).to.match(/HTTP 500 .*retrying in 5 ms \(attempt 2 of 4\)/);
    });

    it('rejects a sha256 mismatch without retrying and leaves nothing behind', async () => {
      const dest = path.join(tmp, 'home', 'f.data');
      let err: Error | undefined;
      await download(`${base}/f`, dest, { sha256: CANONICAL_SHA256, retryDelayMs: 5 }).catch((e: Error) => (err = e));
      expect(err).to.be.instanceOf(ChecksumError);
      expect(err?.message).to.contain(`sha256 is ${ref.data_sha256}, expected ${CANONICAL_SHA256}`);
      expect(hits).to.equal(1);
      expect(leftovers(path.dirname(dest))).to.deep.equal([]);
    });

    it('does not retry a 404, and gives up after the last attempt on repeated 500s, leaving nothing', async () => {
      plan = [404];
      const dest = path.join(tmp, 'home', 'f.data');
      let err: Error | undefined;
      await download(`${base}/f`, dest, { retryDelayMs: 5 }).catch((e: Error) => (err = e));
      expect(err?.message).to.contain('HTTP 404');
      expect(hits).to.equal(1);
      plan = [500, 500, 500];
      await download(`${base}/f`, dest, { attempts: 3, retryDelayMs: 5 }).catch((e: Error) => (err = e));
      expect(err?.message).to.contain('HTTP 500');
      expect(hits).to.equal(4);
      expect(leftovers(path.dirname(dest))).to.deep.equal([]);
    });

    it('locateSource downloads a URL once into the data home, then reuses the verified copy', async () => {
      const env = { PIPELINE_DATA_HOME: path.join(tmp, 'home') };
      const first = await locateSource(`${base}/cal_housing.data`, { workspace: tmp, env, sha256: ref.data_sha256, retryDelayMs: 5 });
      expect(first.cached).to.equal(false);
      expect(path.dirname(first.file)).to.equal(env.PIPELINE_DATA_HOME);
      const second = await locateSource(`${base}/cal_housing.data`, { workspace: tmp, env, sha256: ref.data_sha256 });
      expect(second.cached).to.equal(true);
      expect(second.file).to.equal(first.file);
      expect(hits).to.equal(1);
    });

    it('offline (connection refused) the error says how to point load.source at a local file', async () => {
      const dead = base;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      let err: Error | undefined;
      await locateSource(`${dead}/cal_housing.tgz`, {
        workspace: tmp,
        env: { PIPELINE_DATA_HOME: path.join(tmp, 'home') },
        attempts: 2,
        retryDelayMs: 5,
      }).catch((e: Error) => (err = e));
      expect(err?.message).to.match(/^could not download http:\/\/127\.0\.0\.1:\d+\/cal_housing\.tgz \(.+\)\. Without network access, point load\.source/);
      expect(err?.message).to.contain('npx pipeline run --set load.source=../shared/data/cal_housing.data');
      expect(leftovers(path.join(tmp, 'home'))).to.deep.equal([]);
      server = createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
  });
});
