// Every way a stage can fail, through the real CLI, as `run --json` reports it: the outcome `{kind, cause}` with
// its fields, and in every --json document (run, status, dry run) reasons with codes and a schemaVersion.
import { expect } from 'chai';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { outcomes, reasonCodes } from './fixtures.js';

const YAML = `version: 1
stages:
  ok:
    cmd: [node, -e, "require('fs').writeFileSync('build/ok.txt', 'ok')"]
    outs: [build/ok.txt]
  exits:
    cmd: [node, -e, "process.stderr.write('detail\\\\nbad row 7\\\\n'); process.exit(7)"]
    needs: [ok]
    outs: [build/exits.txt]
  killed:
    cmd: [node, -e, "process.kill(process.pid, 'SIGKILL')"]
    outs: [build/killed.txt]
  slow:
    cmd: [node, -e, "setTimeout(() => {}, 60000)"]
    outs: [build/slow.txt]
    timeout: 300ms
  lazy:
    cmd: [node, -e, "0"]
    outs: [build/lazy.txt, build/lazy2.txt]
  moving:
    cmd: [node, -e, "require('fs').writeFileSync('build/moving.txt', 'x'); require('fs').appendFileSync('data/in.txt', 'more')"]
    deps: [data/in.txt]
    outs: [build/moving.txt]
  gate:
    cmd: [node, -e, "process.stderr.write('score 3 is below 5\\\\n'); process.exit(3)"]
    needs: [ok]
    outs: [build/gate.txt]
    gate: true
  after:
    cmd: [node, -e, "0"]
    needs: [exits]
    outs: [build/after.txt]
`;

type Json = { schemaVersion: number; stages: { name: string; reasons: { code: string; message: string }[]; outcome: { kind: string; cause?: { kind: string } & Record<string, unknown> } }[] };

function expectReasonsWithCodes(json: Json): void {
  expect(json.schemaVersion).to.equal(1);
  expect(json.stages.length).to.be.greaterThan(0);
  for (const s of json.stages) {
    expect(s.reasons, s.name).to.be.an('array').with.length.above(0);
    for (const r of s.reasons) {
      expect(r.code, s.name).to.match(/^[a-z]+(-[a-z]+)*$/);
      expect(r.message, s.name).to.be.a('string').and.not.equal('');
    }
  }
}

describe('engine: outcomes and their causes in run --json', function () {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace({ yaml: YAML, files: { 'data/in.txt': 'in', 'build/.keep': '' } });
  });
  after(() => ws.cleanup());

  it('each failure has its cause: exit code, signal, timeout, missing outs, inputs changed while running, gate', async () => {
    const r = await ws.run(['run', '--json', '--keep-going']);
    expect(r.exitCode, r.stderr).to.equal(1);
    const json = r.json as Json;
    expectReasonsWithCodes(json);
    expect(outcomes(json)).to.deep.equal({
      ok: 'ran',
      exits: 'failed:exit',
      killed: 'failed:signal',
      slow: 'failed:timeout',
      lazy: 'failed:outs-missing',
      moving: 'failed:inputs-changed',
      gate: 'failed:gate',
      after: 'blocked',
    });
    const cause = (name: string) => json.stages.find((s) => s.name === name)!.outcome.cause;
    expect(cause('exits')).to.deep.equal({ kind: 'exit', exitCode: 7, message: 'bad row 7' });
    expect(cause('killed')).to.include({ kind: 'signal', signal: 'SIGKILL' });
    expect(cause('slow')).to.include({ kind: 'timeout', timeoutMs: 300 });
    expect(cause('lazy')).to.deep.include({ kind: 'outs-missing', paths: ['build/lazy.txt', 'build/lazy2.txt'] });
    expect(cause('moving')).to.include({ kind: 'inputs-changed', path: 'data/in.txt', what: 'input' });
    expect(cause('gate')).to.include({ kind: 'gate', exitCode: 3, message: 'score 3 is below 5' });
    expect(reasonCodes(json)).to.deep.include({ ok: ['never-run'], exits: ['never-run'], after: ['blocked-by'] });
    // Nothing of a failed stage is recorded, nor left behind.
    for (const out of ['build/lazy.txt', 'build/moving.txt', 'build/slow.txt']) expect(ws.exists(out), out).to.equal(false);
    // last-run.json holds the same outcomes and reasons.
    const last = JSON.parse(ws.read('.pipeline/last-run.json')) as Json;
    expect(last.schemaVersion).to.equal(1);
    expect(last.stages.map((s) => [s.name, s.outcome, s.reasons])).to.deep.equal(json.stages.map((s) => [s.name, s.outcome, s.reasons]));
  });

  it('fresh and restored are both `cached` in status, and precise in outcome', async () => {
    const only = ['ok'];
    ws.remove('build/ok.txt');
    const r = await ws.run(['run', '--json', ...only]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const s = (r.json as Json).stages.find((x) => x.name === 'ok')!;
    expect([(s as unknown as { status: string }).status, s.outcome.kind]).to.deep.equal(['cached', 'restored']);
    expect(s.reasons.map((x) => x.code)).to.deep.equal(['out-missing', 'restorable']);
    const again = await ws.run(['run', '--json', ...only]);
    expect(outcomes(again.json).ok).to.equal('fresh');
    expect(reasonCodes(again.json)).to.deep.include({ ok: ['up-to-date'], exits: ['not-selected'] });
  });

  it('status --json and run --dry-run --json: every stage has reasons with codes, and a schemaVersion', async () => {
    const status = await ws.run(['status', '--json']);
    expect(status.exitCode, status.stderr).to.equal(0);
    expectReasonsWithCodes(status.json as Json);
    expect(reasonCodes(status.json)).to.deep.include({ ok: ['up-to-date'], exits: ['never-run'] });
    const dry = await ws.run(['run', '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).to.equal(0);
    expectReasonsWithCodes(dry.json as Json);
    const forced = await ws.run(['run', '--dry-run', '--json', '--force', 'ok']);
    expect(reasonCodes(forced.json).ok).to.deep.equal(['forced']);
  });
});
