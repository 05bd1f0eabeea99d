// Every broken config in tests/fixtures/bad-configs is refused with the expected file:line:col and message.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, parseConfigText } from '../../runner/config/load.js';
import { ConfigError, ExitCode, UsageError } from '../../runner/core/errors.js';
import { DIAGNOSTIC_CODES } from '../../runner/core/diagnostic.js';
import { applyOverrides, parseSetArg } from '../../runner/config/overrides.js';
import { corpusCases, corpusDir, expectation } from '../helpers/bad-configs.js';

const dir = corpusDir;
const cases = corpusCases;

function run(name: string, file: string, text: string): unknown {
  const exp = expectation(name);
  try {
    const config = parseConfigText(text, file);
    if (exp.set) applyOverrides(config, exp.set.map(parseSetArg));
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('bad config corpus', () => {
  it('has at least 30 configs in the file and 5 bad --set forms, each with an expectation', () => {
    const withSet = cases.filter((c) => expectation(c).set);
    expect(cases.length - withSet.length).to.be.at.least(30);
    expect(withSet.length).to.be.at.least(5);
  });

  for (const name of cases) {
    it(name, () => {
      const exp = expectation(name);
      const file = path.join(dir, `${name}.yaml`);
      const err = run(name, file, readFileSync(file, 'utf8'));
      expect(err, 'an error').to.be.instanceOf(UsageError);
      const e = err as UsageError;
      expect(e.exitCode).to.equal(ExitCode.usage);
      if (exp.at !== undefined) {
        expect(e).to.be.instanceOf(ConfigError);
        expect(e.message.startsWith(`${file}:${exp.at}: `), e.message).to.equal(true);
        const [line, col] = exp.at.split(':').map(Number);
        expect((e as ConfigError).pos).to.deep.equal({ file, line, col });
        // The first diagnostic is this error; its range starts there and does not end before it.
        const [first] = (e as ConfigError).diagnostics;
        expect([first.file, first.line, first.col]).to.deep.equal([file, line, col]);
        expect(first.endLine > line || (first.endLine === line && first.endCol >= col), 'a range that ends after it starts').to.equal(true);
        expect(DIAGNOSTIC_CODES).to.include(first.code);
      } else {
        expect(e).not.to.be.instanceOf(ConfigError);
      }
      expect(e.message).to.include(exp.message);
      expect(e.hint ?? '', 'a hint on how to fix it').to.not.equal('');
    });
  }

  it('names the file relative to the working folder when loaded with loadConfig', async () => {
    const err = await loadConfig({ cwd: dir, configFile: 'unknown-stage-key.yaml' }).catch((e: unknown) => e);
    expect((err as Error).message).to.equal(
      'unknown-stage-key.yaml:5:5: stage `prepare`: unknown key `ouths` (did you mean `outs`?)',
    );
  });
});
