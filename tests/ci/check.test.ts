// `pipeline ci generate` writes the workflow; `pipeline ci check` passes on it and fails with a diff after a hand edit.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCi } from '../../runner/ci/check.js';
import { WORKFLOW_PATH, generateWorkflow } from '../../runner/ci/generate.js';
import { configFromYaml } from './build-config.js';

const YAML = `version: 1
stages:
  prepare: {cmd: make prepare, outs: [data/clean.csv]}
  fit: {cmd: make fit, needs: [prepare], outs: [model/model.json]}
  check: {cmd: make check, needs: [fit], gate: true, outs: [model/score.json]}
`;

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function ci(sub: 'generate' | 'check', root: string, yaml = YAML) {
  const config = configFromYaml(yaml, path.join(root, 'pipeline.yaml'));
  const out = capture();
  const err = capture();
  const code = await runCi(sub, { config, stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('ci generate / ci check', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pipeline-ci-'));
    writeFileSync(path.join(root, 'pipeline.yaml'), YAML);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('check fails when the workflow does not exist and says how to create it', async () => {
    const r = await ci('check', root);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(`${WORKFLOW_PATH} does not exist; run \`npx pipeline ci generate\` and commit it\n`);
  });

  it('generate writes the workflow (nothing else) and check then passes', async () => {
    const g = await ci('generate', root);
    expect(g).to.deep.equal({ code: 0, stdout: `wrote ${WORKFLOW_PATH} (3 stage jobs)\n`, stderr: '' });
    const file = path.join(root, WORKFLOW_PATH);
    expect(readFileSync(file, 'utf8')).to.equal(generateWorkflow(configFromYaml(YAML, path.join(root, 'pipeline.yaml'))));
    expect(readdirSync(path.dirname(file))).to.deep.equal(['pipeline.yml']);
    const c = await ci('check', root);
    expect(c).to.deep.equal({ code: 0, stdout: `${WORKFLOW_PATH} matches pipeline.yaml\n`, stderr: '' });
    const again = await ci('generate', root);
    expect(again.stdout).to.equal(`${WORKFLOW_PATH} is up to date\n`);
  });

  it('check detects a hand edit: exit 1, a unified diff, and the command that fixes it', async () => {
    await ci('generate', root);
    const file = path.join(root, WORKFLOW_PATH);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('      - run: npm test\n', '      - run: npm test -- --bail\n'));
    const r = await ci('check', root);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    const lines = r.stderr.split('\n');
    expect(lines[0]).to.equal(`${WORKFLOW_PATH} differs from what pipeline.yaml generates:`);
    expect(lines).to.include(`--- ${WORKFLOW_PATH} (committed)`);
    expect(lines).to.include(`+++ ${WORKFLOW_PATH} (generated)`);
    expect(lines).to.include('-      - run: npm test -- --bail');
    expect(lines).to.include('+      - run: npm test');
    expect(lines.filter((l) => /^[-+] /.test(l) || /^[-+]\s{2,}/.test(l))).to.have.length(2);
    expect(lines.some((l) => /^@@ -\d+,7 \+\d+,7 @@$/.test(l))).to.equal(true);
    expect(r.stderr).to.contain('run `npx pipeline ci generate` to rewrite it');
    // check never writes
    expect(readFileSync(file, 'utf8')).to.contain('npm test -- --bail');
  });

  it('check detects a pipeline.yaml change that the workflow does not reflect (a new stage)', async () => {
    await ci('generate', root);
    const changed = YAML + '  publish: {cmd: make publish, needs: [check, prepare], outs: [dist/site]}\n';
    const r = await ci('check', root, changed);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('+  publish:');
    expect(r.stderr).to.contain('+      - check');
    expect(r.stderr).to.contain('+      - prepare');
  });

  it('a bad ci: section is a config error (exit code 2) and writes nothing', async () => {
    let error: unknown;
    try {
      await ci('generate', root, YAML + 'ci:\n  nodeversion: 20\n');
    } catch (err) {
      error = err;
    }
    expect((error as { exitCode?: number }).exitCode).to.equal(2);
    expect((error as Error).message).to.contain(':7:3: unknown key `nodeversion` in `ci` (did you mean `node-version`?)');
    expect(existsSync(path.join(root, '.github'))).to.equal(false);
  });
});
