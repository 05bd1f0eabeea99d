// `exp show --sort`: which metric column a name picks — a whole `FILE:KEY`, or a key that ends exactly one column —
// and the refusals: a key several files have (never the first one silently), a name no column has (with the
// nearest name and the columns, or their count when there are many).
import { expect } from 'chai';
import { sortColumn } from '../../runner/cli/commands/exp-show.js';
import { UsageError } from '../../runner/core/errors.js';

const refusal = (columns: string[], metric: string): UsageError => {
  try {
    sortColumn(columns, metric);
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`--sort ${metric} was accepted`);
};

describe('exp show --sort: the column a name picks', () => {
  const columns = ['build/compare.json:models.float.r2', 'build/gate.json:r2', 'build/predict.json:models.float.r2'];

  it('takes a whole column, or a key that ends exactly one column', () => {
    expect(sortColumn(columns, 'build/predict.json:models.float.r2')).to.equal('build/predict.json:models.float.r2');
    expect(sortColumn(columns, 'r2')).to.equal('build/gate.json:r2');
  });

  it('refuses a key several files have, naming them and how to choose', () => {
    const err = refusal(columns, 'models.float.r2');
    expect(err.message).to.equal('--sort models.float.r2: 2 metrics have that key: build/compare.json:models.float.r2, build/predict.json:models.float.r2');
    expect(err.hint).to.equal('name one with its file, e.g. --sort build/compare.json:models.float.r2');
  });

  it('refuses a name no column has, with the nearest name and the columns (their count when there are many)', () => {
    const err = refusal(columns, 'models.float.r3');
    expect(err.message).to.equal('--sort models.float.r3: no metric of that name');
    expect(err.hint).to.equal(`did you mean \`models.float.r2\`? metrics: ${columns.join(', ')}`);
    const many = Array.from({ length: 40 }, (_, i) => `m.json:k${i}`);
    expect(refusal(many, 'zzzzzz').hint).to.equal('40 metrics (`pipeline exp show --json` lists them), e.g. m.json:k0, m.json:k1, m.json:k2, m.json:k3');
    expect(refusal([], 'r2').hint).to.equal('no row has metrics');
  });

  it('prints a name with control characters escaped', () => {
    expect(refusal(columns, 'r2\u001b[2J').message).to.not.include('\u001b');
  });
});
