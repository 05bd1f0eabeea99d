// `passEnv` values masked as `***` everywhere the tool writes or prints them (runner/exec/mask.ts): the stream
// masker on its own (a value split across chunks at every byte, one value inside another, short values), then
// through the real CLI: a stage printing the value to stdout and stderr in pieces and failing with it in its last
// stderr line, a module stage throwing it, a gate's verdict holding it — no output and no file under the workspace
// or the store holds it — and a runner SIGKILLed while the stage runs leaves no raw value in .pipeline/logs/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { MaskingStream, maskText, MIN_MASKED } from '../../runner/exec/mask.js';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.js';

/** Every file below `dir`, with its content. */
function filesBelow(dir: string): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (const entry of readdirSync(dir)) {
    const abs = path.join(dir, entry);
    const st = statSync(abs, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...filesBelow(abs));
    else if (st?.isFile()) out.push([abs, readFileSync(abs)]);
  }
  return out;
}

/** Feed `chunks` through a masker, as the runner does with a stream. */
function streamed(values: string[], chunks: (string | Buffer)[]): string {
  const m = new MaskingStream(values);
  return chunks.map((c) => m.push(typeof c === 'string' ? Buffer.from(c) : c)).join('') + m.end();
}

describe('mask: the stream masker', () => {
  const SECRET = 'sekret-Vä1ue-4242';

  it('masks a value split at every byte, multi-byte characters included, and never returns a piece of it before it is known', () => {
    const text = Buffer.from(`before ${SECRET} middle ${SECRET}${SECRET} after\n`);
    for (let i = 0; i <= text.length; i++) {
      for (const j of [i, Math.min(text.length, i + 3), text.length]) {
        const m = new MaskingStream([SECRET]);
        const parts = [m.push(text.subarray(0, i)), m.push(text.subarray(i, j)), m.push(text.subarray(j))];
        // No partial output holds a piece of the value as long as 5 characters that could still become it.
        for (const p of parts) expect(p).to.not.include('sekre');
        expect(parts.join('') + m.end(), `split at ${i}, ${j}`).to.equal('before *** middle ****** after\n');
      }
    }
  });

  it('a value inside another is masked as the longer; a held-back start that does not become a value comes out as it was', () => {
    expect(streamed(['abcd', 'xxabcdyy'], ['1 xxab', 'cdyy 2 abcd 3'])).to.equal('1 *** 2 *** 3');
    expect(streamed(['abcdef'], ['zz abc', 'dzz ab', ''])).to.equal('zz abcdzz ab');
    expect(streamed(['abab'], ['ababab', 'ab'])).to.equal('******');
  });

  it(`values shorter than ${MIN_MASKED} characters are not masked; regex characters in a value are literal`, () => {
    expect(maskText('1 2 abc', ['1', 'abc'])).to.equal('1 2 abc');
    expect(maskText('a.b*c(d) axbxcd', ['a.b*c(d)'])).to.equal('*** axbxcd');
    expect(streamed([], ['as ', 'is'])).to.equal('as is');
  });
});

/** A cmd stage: the value in pieces on stdout and stderr, then (with `hold`) a handshake, else a failure naming it. */
const LEAK_JS = `const fs = require('node:fs');
const v = Buffer.from(process.env.SECRET);
const tick = () => new Promise((r) => setTimeout(r, 30));
(async () => {
  fs.writeSync(1, v.subarray(0, 9));
  await tick();
  fs.writeSync(1, Buffer.concat([v.subarray(9), Buffer.from(' on stdout\\n')]));
  fs.writeSync(2, v.subarray(0, 3));
  await tick();
  fs.writeSync(2, Buffer.concat([v.subarray(3), Buffer.from(' on stderr\\n')]));
  if (process.argv[2] === 'hold') {
    fs.writeSync(1, 'marker\\n');
    const log = '.pipeline/logs/' + process.env.PIPELINE_STAGE + '.log';
    while (!fs.readFileSync(log, 'utf8').includes('marker')) await tick();
    fs.writeFileSync('printed', '');
    for (;;) await tick();
  }
  fs.writeSync(2, 'cannot connect with ' + process.env.SECRET + '\\n');
  process.exit(1);
})();
`;

const THROWS_TS = `export default async function (): Promise<void> {
  console.log('using', process.env.SECRET);
  throw new Error('token ' + process.env.SECRET + ' refused');
}
`;

const GATE_TS = `export default async function (): Promise<void> {
  throw Object.assign(new Error('verdict: ' + process.env.SECRET + ' is not allowed'), { [Symbol.for('pipeline-dag.gate-verdict')]: true });
}
`;

describe('engine: passEnv values never reach an output or a file', function () {
  const SECRET = 'sekret-Vä1ue-4242';
  const spaces: Workspace[] = [];
  after(() => spaces.forEach((w) => w.cleanup()));
  const workspace = (yaml: string, files: Record<string, string>) => {
    const ws = makeWorkspace({ yaml, files });
    spaces.push(ws);
    return ws;
  };

  it('a stage printing it (in pieces, stdout and stderr) and failing with it, a module throwing it, a gate verdict: all masked', async () => {
    const yaml =
      'version: 1\nstages:\n' +
      '  leaks: {cmd: [node, leak.js], passEnv: [SECRET], outs: [never.txt]}\n' +
      '  throws: {module: mod/throws.ts, passEnv: [SECRET]}\n' +
      '  judged: {module: mod/gate.ts, passEnv: [SECRET], gate: true}\n';
    const ws = workspace(yaml, { 'leak.js': LEAK_JS, 'mod/throws.ts': THROWS_TS, 'mod/gate.ts': GATE_TS });
    const env = { SECRET };
    const text = await ws.run(['run', '--verbose', '--keep-going'], { env });
    const json = await ws.run(['run', '--json', '--keep-going'], { env });
    const status = await ws.run(['status', '--json'], { env });
    const validate = await ws.run(['validate', '--json'], { env });
    expect(text.exitCode, text.stderr).to.not.equal(0);
    const outputs = [text, json, status, validate].map((r) => r.stdout + r.stderr).join('\n');
    expect(outputs).to.not.include(SECRET);
    // The reasons show, masked: the last stderr line, the thrown message, the verdict.
    const stages = Object.fromEntries((json.json.stages as { name: string; cause?: { message?: string } }[]).map((s) => [s.name, s.cause?.message]));
    expect(JSON.stringify(json.json)).to.include('cannot connect with ***');
    expect(JSON.stringify(json.json)).to.include('token *** refused');
    expect(JSON.stringify(json.json)).to.include('verdict: *** is not allowed');
    expect(Object.keys(stages)).to.have.members(['leaks', 'throws', 'judged']);
    expect(text.stdout + text.stderr).to.include('cannot connect with ***');
    const log = ws.read('.pipeline/logs/leaks.log');
    expect(log).to.include('*** on stdout').and.include('*** on stderr').and.include('cannot connect with ***');
    // No file of the workspace (.pipeline/ included: logs, last-run.json, history, state) or of the store holds it.
    const leaked = filesBelow(ws.base).filter(([, bytes]) => bytes.includes(SECRET));
    expect(leaked.map(([f]) => path.relative(ws.base, f))).to.deep.equal([]);
    expect(ws.exists('.pipeline/last-run.json')).to.equal(true);
  });

  it('SIGKILL of the runner while the stage runs: its log, as far as it was written, holds no raw value', async function () {
    const ws = workspace('version: 1\nstages:\n  holds: {cmd: [node, leak.js, hold], passEnv: [SECRET], cache: false}\n', { 'leak.js': LEAK_JS });
    const child = ws.spawn(['run'], { env: { SECRET } });
    // The stage wrote its handshake once its log held the line it printed after the value.
    await waitFor(() => ws.exists('printed'), 60_000, 'the stage to print the value', child);
    child.kill('SIGKILL');
    await child;
    const logs = filesBelow(ws.path('.pipeline/logs'));
    expect(logs.map(([f]) => path.basename(f))).to.deep.equal(['holds.log']);
    const log = logs[0][1].toString();
    expect(log).to.include('marker').and.include('*** on stdout');
    expect(log).to.not.include(SECRET);
    expect(filesBelow(ws.base).filter(([, bytes]) => bytes.includes(SECRET)).map(([f]) => f)).to.deep.equal([]);
  });
});
