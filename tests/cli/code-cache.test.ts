// bin/pipeline.js compiles the CLI's bundle (dist/cli/main.cjs) through V8's code cache, one file per command in
// dist/cli/.cache/: whatever that folder holds (nothing, garbage, a damaged or another build's cache) or whether it
// can be written, a command prints and exits exactly as without it. Run on a copy of bin/ and dist/cli/, so the
// repository's own cache is left alone.
import { expect } from 'chai';
import { hash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, runCli } from '../helpers/workspace.js';

describe('cli: the code cache of the bundle', function () {
  let copy: string;
  let cacheDir: string;
  /** The copy's CLI: exit code and output (without its last newline). */
  const cli = async (args: string[]) => {
    const r = await runCli(copy, args, { entry: path.join(copy, 'bin', 'pipeline.js') });
    return { exitCode: r.exitCode, stdout: r.stdout.replace(/\n$/, ''), stderr: r.stderr.replace(/\n$/, '') };
  };
  /** The first line of a cache file: what it was made from. */
  const header = (name: string) => readFileSync(path.join(cacheDir, name), 'latin1').split('\n')[0];
  /** Whether a cache file's payload is the one its header's SHA-1 names. */
  const intact = (name: string) => {
    const bytes = readFileSync(path.join(cacheDir, name));
    const end = bytes.indexOf(10);
    return hash('sha1', bytes.subarray(end + 1)) === bytes.subarray(end - 40, end).toString('latin1');
  };
  const build = () => /\/\/# build ([0-9a-f]+)\n$/.exec(readFileSync(path.join(copy, 'dist/cli/main.cjs'), 'latin1'))?.[1];

  beforeEach(() => {
    copy = mkdtempSync(path.join(os.tmpdir(), 'pipeline-code-cache-'));
    cpSync(path.join(repoRoot, 'bin'), path.join(copy, 'bin'), { recursive: true });
    cpSync(path.join(repoRoot, 'dist/cli'), path.join(copy, 'dist/cli'), { recursive: true, filter: (src) => path.basename(src) !== '.cache' });
    cpSync(path.join(repoRoot, 'package.json'), path.join(copy, 'package.json'));
    cacheDir = path.join(copy, 'dist/cli/.cache');
  });
  afterEach(() => rmSync(copy, { recursive: true, force: true }));

  it('the first run of a command writes its cache, named after the build, Node and the CPU; later runs print the same', async () => {
    const first = await cli(['schema']);
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(build()).to.match(/^[0-9a-f]{32}$/);
    expect(header('schema.v8')).to.match(new RegExp(`^pipeline code cache 1 ${build()} ${process.version} ${process.arch} [0-9a-f]{40}$`));
    expect(intact('schema.v8')).to.equal(true);
    const again = await cli(['schema']);
    expect(again).to.deep.equal(first);
    const version = await cli(['--version']);
    expect(version.exitCode).to.equal(0);
    expect(existsSync(path.join(cacheDir, 'other.v8'))).to.equal(true);
  });

  it('garbage, a damaged cache and another build\'s cache are ignored and replaced; the output is the same', async () => {
    const expected = await cli(['schema']);
    const good = readFileSync(path.join(cacheDir, 'schema.v8'));
    const damaged = Buffer.from(good);
    damaged[damaged.length - 100] ^= 0xff;
    const otherBuild = Buffer.from(good.toString('latin1').replace(build()!, '0'.repeat(32)), 'latin1');
    for (const bytes of [Buffer.from('garbage'), Buffer.alloc(0), damaged, otherBuild]) {
      writeFileSync(path.join(cacheDir, 'schema.v8'), bytes);
      expect(await cli(['schema'])).to.deep.equal(expected);
      expect(header('schema.v8')).to.match(new RegExp(`^pipeline code cache 1 ${build()} `));
      expect(intact('schema.v8')).to.equal(true);
    }
  });

  it('the files the bundle requires when first needed have caches of their own, shared by commands; a bad one changes nothing', async () => {
    const first = await cli(['schema']);
    expect(first.exitCode, first.stderr).to.equal(0);
    const own = 'file-lazy_config_json-schema.cjs.v8';
    expect(header(own)).to.match(new RegExp(`^pipeline code cache 1 ${build()} ${process.version} ${process.arch} [0-9a-f]{40}$`));
    expect(intact(own)).to.equal(true);
    const good = readFileSync(path.join(cacheDir, own));
    const damaged = Buffer.from(good);
    damaged[damaged.length - 50] ^= 0xff;
    for (const bytes of [Buffer.from('garbage'), damaged]) {
      writeFileSync(path.join(cacheDir, own), bytes);
      expect(await cli(['schema'])).to.deep.equal(first);
      expect(intact(own)).to.equal(true);
    }
  });

  it('a cache folder that cannot be written: the command runs as without a cache', async () => {
    writeFileSync(cacheDir, 'not a folder');
    const r = await cli(['--version']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
    expect(r.stderr).to.equal('');
    rmSync(cacheDir);
    mkdirSync(cacheDir);
    expect((await cli(['--version'])).stdout).to.equal(r.stdout);
  });
});
