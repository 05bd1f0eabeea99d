// Without servers: passEnv reaches the stage but not pipeline.lock, run records, logs or the fingerprint; a module
// stage's fingerprint names its toolchain (Node major, platform, imported package versions), so a result made by
// another toolchain is not restored; a no-op run never touches the remote; run --pull/--push and gc --remote
// with a folder remote.
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeWorkspace } from '../helpers/workspace.js';
import { statuses } from './fixtures.js';

const SECRET = 'tok-0123456789-very-secret';

function allText(dir: string): string {
  let text = '';
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) text += readFileSync(path.join(e.parentPath, e.name), 'latin1');
  }
  return text;
}

describe('engine: passEnv', () => {
  it('reaches the stage, is neither hashed nor recorded, and is masked in its log', async () => {
    const ws = makeWorkspace({
      yaml: `version: 1\nstages:\n  s:\n    cmd: [node, -e, "require('fs').writeFileSync('seen.txt', String(process.env.API_TOKEN.length)); console.log('token', process.env.API_TOKEN)"]\n    outs: [seen.txt]\n    passEnv: [API_TOKEN]\n`,
    });
    const first = await ws.run(['run', '--json'], { env: { API_TOKEN: SECRET } });
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(ws.read('seen.txt')).to.equal(String(SECRET.length));
    expect(first.stdout + first.stderr).to.not.include(SECRET);
    expect(readFileSync(ws.path('pipeline.lock'), 'utf8')).to.not.include(SECRET);
    expect(allText(ws.cacheDir)).to.not.include(SECRET);
    expect(allText(ws.path('.pipeline'))).to.not.include(SECRET);
    // Another value: the same fingerprint, so nothing runs.
    const other = await ws.run(['run', '--json'], { env: { API_TOKEN: 'another-token-value' } });
    expect(statuses(other.json)).to.deep.equal({ s: 'cached' });
    ws.cleanup();
  });
});

const MODULE_TS = `import { writeFileSync } from 'node:fs';
import { shout } from 'fakepkg';
export default async function (ctx: any): Promise<void> {
  writeFileSync(ctx.outs['out.txt'], shout('hi'));
}
`;
const fakePkg = (version: string) => ({
  'node_modules/fakepkg/package.json': JSON.stringify({ name: 'fakepkg', version, type: 'module', main: 'index.js' }),
  'node_modules/fakepkg/index.js': 'export const shout = (s) => s.toUpperCase();\n',
});

describe('engine: a module stage fingerprint names its toolchain', () => {
  it('records Node major, platform and imported package versions; another toolchain is not restored', async () => {
    const yaml = 'version: 1\nstages:\n  m: {module: mod.ts, outs: [out.txt]}\n';
    const ws = makeWorkspace({ yaml, files: { 'mod.ts': MODULE_TS, ...fakePkg('1.2.3') } });
    expect((await ws.run(['run', '-q'])).exitCode).to.equal(0);
    const code = ws.lock().stages.m.code as Record<string, string>;
    expect(code['toolchain:node']).to.equal(`v${process.versions.node.split('.')[0]}`);
    expect(code['toolchain:platform']).to.equal(`${process.platform}-${process.arch}`);
    expect(code['package:fakepkg']).to.equal('1.2.3');

    // A copy whose lock says the result was made under another Node major: not restored, and said why.
    const lock = ws.lock();
    lock.stages.m.code['toolchain:node'] = 'v18';
    const copy = makeWorkspace({ yaml, files: { 'mod.ts': MODULE_TS, ...fakePkg('1.2.3'), 'pipeline.lock': JSON.stringify(lock, null, 2) } });
    const status = await copy.run(['status', '--json']);
    const m = (status.json as { stages: { reasons: { code: string; message: string }[] }[] }).stages[0];
    expect(m.reasons.map((r) => r.message)).to.include('changed Node major version');
    const run = await copy.run(['run', '--json']);
    expect(statuses(run.json)).to.deep.equal({ m: 'ran' });

    // Another version of an imported package: a new fingerprint.
    ws.write('node_modules/fakepkg/package.json', JSON.stringify({ name: 'fakepkg', version: '1.3.0', type: 'module', main: 'index.js' }));
    const again = await ws.run(['run', '--json']);
    expect(statuses(again.json)).to.deep.equal({ m: 'ran' });
    expect(JSON.stringify(again.json)).to.include('changed version of package `fakepkg`');
    ws.cleanup();
    copy.cleanup();
  });
});

describe('engine: a folder remote during runs', () => {
  let server: Server;
  let port: number;
  let connections = 0;
  before(async () => {
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  it('a no-op run with PIPELINE_REMOTE set makes no request (and a remote with pull: true is asked only when a stage would run)', async () => {
    const yaml = `version: 1\nremote: {url: 'http://127.0.0.1:${port}/team', pull: true}\nstages:\n  s: {cmd: [node, -e, "require('fs').writeFileSync('o.txt', 'x')"], outs: [o.txt]}\n`;
    const ws = makeWorkspace({ yaml });
    const env = { PIPELINE_REMOTE: `http://127.0.0.1:${port}/team`, PIPELINE_REMOTE_RETRIES: '0' };
    const first = await ws.run(['run', '--json', '--no-pull'], { env });
    expect(statuses(first.json)).to.deep.equal({ s: 'ran' });
    expect(connections).to.equal(0);
    for (const args of [['run', '--json'], ['status'], ['run', '--json', '--pull']]) {
      const r = await ws.run(args, { env });
      expect(r.exitCode, r.stderr).to.equal(0);
    }
    expect(connections, 'requests made by no-op runs and status').to.equal(0);
    ws.cleanup();
  });

  it('run --push, then a copy runs --pull and executes nothing; gc --remote keeps what is recent or locked', async () => {
    const remote = mkdtempSync(path.join(os.tmpdir(), 'pipeline-folder-remote-'));
    const yaml = `version: 1\nstages:\n  s: {cmd: [node, -e, "require('fs').mkdirSync('d', {recursive: true}); require('fs').writeFileSync('d/o.txt', String(Math.random()))"], outs: [d]}\n`;
    const ws = makeWorkspace({ yaml });
    const env = { PIPELINE_REMOTE: remote };
    expect((await ws.run(['run', '--push', '-q'], { env })).exitCode).to.equal(0);
    const copy = makeWorkspace({ yaml, files: { 'pipeline.lock': ws.read('pipeline.lock') } });
    const pull = await copy.run(['run', '--pull', '--json'], { env });
    expect(statuses(pull.json)).to.deep.equal({ s: 'cached' });
    expect(copy.read('d/o.txt')).to.equal(ws.read('d/o.txt'));

    const dry = await ws.run(['gc', '--remote', '--older-than', '1d', '--dry-run'], { env });
    expect(dry.stdout).to.match(/^would remove 0 objects .* and 0 run records/);
    for (const e of readdirSync(remote, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) utimesSync(path.join(e.parentPath, e.name), new Date(0), new Date(0));
    }
    const locked = await ws.run(['gc', '--remote', '--older-than', '1d'], { env });
    expect(locked.stdout).to.match(/^removed 0 objects .* and 0 run records/);
    ws.remove('pipeline.lock');
    const all = await ws.run(['gc', '--remote', '--older-than', '1d'], { env });
    expect(all.stdout).to.match(/^removed [1-9][0-9]* objects .* and 1 run records/);
    const http = await ws.run(['gc', '--remote'], { env: { PIPELINE_REMOTE: 'http://127.0.0.1:1/x' } });
    expect(http.exitCode).to.equal(2);
    expect(http.stderr).to.include('cannot list what it holds');
    ws.cleanup();
    copy.cleanup();
  });
});
