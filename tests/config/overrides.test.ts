// `--set [stage.]key=value`: parsing, resolution against the config, and what each stage ends up with.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../runner/config/load.js';
import { ConfigError, UsageError } from '../../runner/core/errors.js';
import { applyOverrides, parseGridArg, parseSetArg } from '../../runner/config/overrides.js';
import type { PipelineConfig } from '../../runner/config/types.js';

describe('config: --set overrides', () => {
  describe('parseSetArg', () => {
    it('parses the value as YAML', () => {
      expect(parseSetArg('fit.alpha=0.2')).to.deep.equal({ stage: 'fit', key: 'alpha', value: 0.2, raw: 'fit.alpha=0.2' });
      expect(parseSetArg('seed=7')).to.deep.equal({ key: 'seed', value: 7, raw: 'seed=7' });
      expect(parseSetArg('load.source=../x.data').value).to.equal('../x.data');
      expect(parseSetArg('a=true').value).to.equal(true);
      expect(parseSetArg('a=[1, 2]').value).to.deep.equal([1, 2]);
      expect(parseSetArg('a={x: 1}').value).to.deep.equal({ x: 1 });
      expect(parseSetArg('a="007"').value).to.equal('007');
      expect(parseSetArg('a=x=y').value).to.equal('x=y');
      expect(parseSetArg('a=').value).to.equal(null);
      expect(parseSetArg('a=null').value).to.equal(null);
    });

    it('splits provisionally at the last dot', () => {
      expect(parseSetArg('quantize-8.bits=8')).to.include({ stage: 'quantize-8', key: 'bits' });
      expect(parseSetArg('v1.2.alpha=1')).to.include({ stage: 'v1.2', key: 'alpha' });
    });

    const bad: [string, string][] = [
      ['fit.alpha', '--set fit.alpha: missing `=`'],
      ['=3', '--set =3: empty param name before `=`'],
      [' =3', '--set  =3: empty param name before `=`'],
      ['.alpha=3', '--set .alpha=3: `.alpha` is not a param name'],
      ['fit.=3', '--set fit.=3: `fit.` is not a param name'],
      ['a..b=3', '--set a..b=3: `a..b` is not a param name'],
      ['fit alpha=3', '--set fit alpha=3: `fit alpha` is not a param name'],
      ['a=[1, 2', '--set a=[1, 2: the value is not valid YAML'],
      ['a={x: 1', '--set a={x: 1: the value is not valid YAML'],
      ['a="unclosed', '--set a="unclosed: the value is not valid YAML'],
    ];
    for (const [arg, message] of bad) {
      it(`refuses ${JSON.stringify(arg)}`, () => {
        try {
          parseSetArg(arg);
          expect.fail('no error');
        } catch (err) {
          expect(err).to.be.instanceOf(UsageError);
          expect((err as UsageError).message.startsWith(message), (err as Error).message).to.equal(true);
          expect((err as UsageError).hint).to.include('--set [STAGE.]KEY=VALUE');
        }
      });
    }
  });

  describe('parseGridArg', () => {
    const values = (arg: string) => parseGridArg(arg).map((o) => o.value);
    it('splits a plain list at its commas, each value parsed as --set parses one', () => {
      expect(values('fit.alpha=0.1,0.2,x,true')).to.deep.equal([0.1, 0.2, 'x', true]);
      expect(parseGridArg('fit.alpha=0.1,0.2').map((o) => [o.stage, o.key])).to.deep.equal([['fit', 'alpha'], ['fit', 'alpha']]);
    });
    it('reads a list with quotes, brackets or braces as a YAML flow sequence: a quoted comma stays in its value', () => {
      expect(values('a.n="c,d",e')).to.deep.equal(['c,d', 'e']);
      expect(values(`a.n='x,y',"q\\"r",p|q`)).to.deep.equal(['x,y', 'q"r', 'p|q']);
      expect(values('a.n=[1, 2],[3]')).to.deep.equal([[1, 2], [3]]);
      expect(values('a.n={k: 1},"007"')).to.deep.equal([{ k: 1 }, '007']);
      expect(values('a.n=$(touch x),a b; c')).to.deep.equal(['$(touch x)', 'a b; c']);
    });
    const bad: [string, string][] = [
      ['a.n', '--grid a.n: missing `=`'],
      ['a.n=1,,2', '--grid a.n=1,,2: an empty value in the list'],
      ['a.n=1,', '--grid a.n=1,: an empty value in the list'],
      ['a.n=[1,2],[3', '--grid a.n=[1,2],[3: the values are not a valid list'],
      ['a.n="x"]', '--grid a.n="x"]: the values are not a valid list'],
      ['a.n=`x`,y', '--grid a.n=`x`,y: the value ``x`` is not valid YAML'],
      ['=1,2', '--grid =1,2: empty param name'],
    ];
    for (const [arg, message] of bad) {
      it(`refuses ${JSON.stringify(arg)}, naming --grid and its whole argument`, () => {
        try {
          parseGridArg(arg);
          expect.fail('no error');
        } catch (err) {
          expect(err).to.be.instanceOf(UsageError);
          expect((err as UsageError).message.startsWith(message), (err as Error).message).to.equal(true);
          expect((err as UsageError).hint).to.include('--grid [STAGE.]KEY=V1,V2');
        }
      });
    }
  });

  describe('applyOverrides', () => {
    let ws: string;
    let config: PipelineConfig;
    const file = () => path.join(ws, 'pipeline.yaml');
    before(() => {
      ws = mkdtempSync(path.join(os.tmpdir(), 'pipeline-set-'));
      config = parseConfigText(
        `version: 1
params:
  seed: 42
  note: global
stages:
  load:
    cmd: x
    params: {source: data/raw.csv}
  fit:
    cmd: x
    needs: [load]
    params: {alpha: 0.1, seed: 1}
  quantize-8:
    cmd: x
    params: {bits: 8}
  quantize:
    cmd: x
    params: {"8.bits": 3}
  empty:
    cmd: x
`,
        path.join(ws, 'pipeline.yaml'),
      );
    });
    after(() => rmSync(ws, { recursive: true, force: true }));

    const apply = (...args: string[]) => applyOverrides(config, args.map(parseSetArg));
    const params = (c: PipelineConfig, name: string) => c.stages.find((s) => s.name === name)!.params;

    it('sets a stage param for that stage only', () => {
      const c = apply('fit.alpha=0.2');
      expect(params(c, 'fit')).to.deep.equal({ seed: 1, note: 'global', alpha: 0.2 });
      expect(params(c, 'load')).to.deep.equal(config.stages[0].params);
    });

    it('sets a global param seen by a stage for that stage only', () => {
      const c = apply('load.seed=9');
      expect(params(c, 'load').seed).to.equal(9);
      expect(c.params.seed).to.equal(42);
      expect(params(c, 'quantize-8').seed).to.equal(42);
    });

    it('changes a global param for every stage that does not declare it itself', () => {
      const c = apply('seed=7');
      expect(c.params.seed).to.equal(7);
      expect(params(c, 'load').seed).to.equal(7);
      expect(params(c, 'quantize-8').seed).to.equal(7);
      expect(params(c, 'fit').seed).to.equal(1, 'the stage\'s own value wins');
    });

    it('lets stage overrides win over global ones in any order; the last of the same kind wins', () => {
      for (const args of [['load.seed=3', 'seed=7'], ['seed=7', 'load.seed=3']]) {
        const c = apply(...args);
        expect(params(c, 'load').seed).to.equal(3);
        expect(params(c, 'empty').seed).to.equal(7);
      }
      expect(params(apply('fit.alpha=1', 'fit.alpha=2'), 'fit').alpha).to.equal(2);
    });

    it('resolves stage names with dots and dashes by the longest matching prefix', () => {
      expect(params(apply('quantize-8.bits=16'), 'quantize-8').bits).to.equal(16);
      const c = apply('quantize.8.bits=4');
      expect(params(c, 'quantize')['8.bits']).to.equal(4);
    });

    it('takes values with paths and YAML types as they are', () => {
      const c = apply('load.source=../x.data', 'fit.alpha=[1, 2]');
      expect(params(c, 'load').source).to.equal('../x.data');
      expect(params(c, 'fit').alpha).to.deep.equal([1, 2]);
    });

    it('does not modify the config it is given and keeps positionOf', () => {
      const before = JSON.stringify(config);
      const c = apply('seed=5', 'fit.alpha=0.3');
      expect(JSON.stringify(config)).to.equal(before);
      expect(c).to.not.equal(config);
      expect(c.positionOf(['stages', 'fit'])).to.deep.equal(config.positionOf(['stages', 'fit']));
      expect(Object.keys(c)).to.not.include('positionOf');
      expect(applyOverrides(config, [])).to.equal(config);
    });

    it('refuses an unknown stage with a suggestion', () => {
      expect(() => apply('fti.alpha=1')).to.throw(UsageError, '--set fti.alpha=1: unknown stage `fti` (did you mean `fit`?)');
      expect(() => apply('quantize-9.bits=1')).to.throw(UsageError, 'unknown stage `quantize-9` (did you mean `quantize-8`?)');
    });

    it('refuses a param the stage does not have, at the stage\'s params', () => {
      try {
        apply('fit.alpah=1');
        expect.fail('no error');
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        expect((err as Error).message).to.equal(
          `${file()}:12:13: --set fit.alpah=1: stage \`fit\` has no param \`alpah\` (did you mean \`alpha\`?)`,
        );
      }
      expect(() => apply('empty.x=1')).to.throw(ConfigError, `${file()}:20:5: --set empty.x=1: stage \`empty\` has no param \`x\``);
    });

    it('refuses an unknown global param, pointing to the stage param of that name', () => {
      try {
        apply('alpha=1');
        expect.fail('no error');
      } catch (err) {
        expect((err as Error).message).to.equal(`${file()}:3:3: --set alpha=1: no global param \`alpha\``);
        expect((err as UsageError).hint).to.equal('it is a stage param: use --set fit.alpha=...');
      }
      expect(() => apply('sede=1')).to.throw(ConfigError, 'no global param `sede` (did you mean `seed`?)');
    });
  });
});
