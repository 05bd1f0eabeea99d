// `remote:` and `passEnv:` in pipeline.yaml: the accepted forms and what they normalize to; each mistake a
// diagnostic at its place.
import { expect } from 'chai';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { parseConfigText } from '../../runner/config/load.js';
import { remoteWarnings } from '../../runner/config/remote.js';
import { ConfigError } from '../../runner/core/errors.js';
import type { Diagnostic } from '../../runner/core/diagnostic.js';

const file = path.join(tmpdir(), 'pipeline-remote-config', 'pipeline.yaml');
const STAGES = 'stages:\n  a: {cmd: x, passEnv: [HF_TOKEN]}\n';

function errorsOf(text: string): Diagnostic[] {
  try {
    parseConfigText(text, file);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).diagnostics;
  }
  throw new Error('expected a config error');
}

describe('config: remote and passEnv', () => {
  it('a string remote is the url; run neither pulls nor pushes by default', () => {
    const config = parseConfigText(`version: 1\nremote: s3://team-cache/housing\n${STAGES}`, file);
    expect(config.remote).to.deep.equal({ url: 's3://team-cache/housing', pull: false, push: false });
    expect(config.stages[0].passEnv).to.deep.equal(['HF_TOKEN']);
  });

  it('a mapping sets pull and push; no remote: leaves it unset', () => {
    const config = parseConfigText(`version: 1\nremote: {url: 'https://cache.example.test/team', pull: true, push: true}\n${STAGES}`, file);
    expect(config.remote).to.deep.equal({ url: 'https://cache.example.test/team', pull: true, push: true });
    expect(parseConfigText(`version: 1\n${STAGES}`, file).remote).to.equal(undefined);
  });

  const bad: [string, string, string, RegExp][] = [
    ['an unknown key', 'remote: {url: s3://b/p, pul: true}', '2:25', /remote: unknown key `pul` \(did you mean `pull`\?\)/],
    ['pull not a boolean', 'remote: {url: s3://b/p, pull: yes please}', '2:31', /remote: `remote.pull` must be true or false; got the string "yes please"/],
    ['an s3 url without a bucket', "remote: 's3://'", '2:9', /remote `s3:\/\/` names no bucket/],
    ['a number', 'remote: 42', '2:9', /`remote` must be the remote cache/],
    ['a url without url:', 'remote: {pull: true}', '2:9', /remote/],
  ];
  for (const [name, line, where, message] of bad) {
    it(`refuses ${name}, at its place`, () => {
      const [d] = errorsOf(`version: 1\n${line}\n${STAGES}`);
      expect(`${d.line}:${d.col}`, d.message).to.equal(where);
      expect(d.message).to.match(message);
      expect(d.hint ?? '').to.not.equal('');
    });
  }

  it('never shows the credentials of a refused url', () => {
    const [d] = errorsOf(`version: 1\nremote: 'gopher://user:hunter2@cache/x'\n${STAGES}`);
    expect(d.code).to.equal('bad-remote');
    expect(d.message).to.not.include('hunter2');
  });

  it('credentials in the url: a remote-credentials warning at the url, never showing them; an ambiguous or s3 one refused', () => {
    const config = parseConfigText(`version: 1\nremote: {url: 'https://ci:p@ss:w0rd@cache.example.test/team', push: true}\n${STAGES}`, file);
    const [w] = remoteWarnings(config);
    expect(`${w.code} ${w.severity} ${w.line}:${w.col}`).to.equal('remote-credentials warning 2:15');
    expect(w.message).to.equal('remote `https://cache.example.test/team` carries credentials (user:password@) in pipeline.yaml, which is committed');
    expect(w.hint).to.include('PIPELINE_REMOTE_PASSWORD');
    expect(remoteWarnings(parseConfigText(`version: 1\nremote: https://cache.example.test/team\n${STAGES}`, file))).to.deep.equal([]);
    for (const [url, problem] of [
      ['https://ci:2024/pw@cache.example.test/team', 'has an `@` after a `/`'],
      ['s3://AKID:secret@bucket/team', 'carries credentials: an S3 remote'],
    ]) {
      const [d] = errorsOf(`version: 1\nremote: '${url}'\n${STAGES}`);
      expect(d.code).to.equal('bad-remote');
      expect(d.message).to.include(problem);
      expect(d.message).to.not.match(/2024|pw@|AKID|secret/);
    }
  });

  it('passEnv: a bad name, a runner variable, a name also in env', () => {
    const [shape] = errorsOf(`version: 1\nstages:\n  a: {cmd: x, passEnv: [HOME, 1BAD]}\n`);
    expect(`${shape.code} ${shape.line}:${shape.col}`).to.equal('invalid-value 3:31');
    const ds = errorsOf(`version: 1\nstages:\n  a: {cmd: x, env: {MODE: fast}, passEnv: [PIPELINE_STAGE, MODE]}\n`);
    expect(ds.map((d) => `${d.code} ${d.line}:${d.col}`)).to.deep.equal(['reserved-env 3:44', 'pass-env-declared 3:60']);
  });
});
