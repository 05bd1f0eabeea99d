// The pure parts of steps mode and groups: srun's own lines kept out of a step's stderr (its step id taken from them),
// srun's flags from `resources:`, the chains `--slurm-group-chains` groups, and a grouped stage's script prelude.
import { expect } from 'chai';
import { execaSync } from 'execa';
import type { StageConfig } from '../../runner/config/types.js';
import { chainGroups, memberPrelude } from '../../runner/exec/slurm-groups.js';
import { hostStepFlags } from '../../runner/exec/slurm-step-hosts.js';
import { CpuLedger, SrunStderr, fitsHostStep, srunFlags } from '../../runner/exec/slurm-steps.js';

const stage = (name: string, needs: string[] = [], extra: Partial<StageConfig> = {}) => ({ name, needs, ...extra }) as StageConfig;

describe('slurm steps and groups: the pure parts', () => {
  it("srun's lines leave the stream, whole or split across chunks; the step id comes from `launching StepId=`", () => {
    const split = new SrunStderr();
    const out = [split.filter(Buffer.from('srun: jobid 7: nodes(1)\nsrun: launch')), split.filter(Buffer.from('ing StepId=7.12 on host vm\nerr one\npart')), split.filter(Buffer.from('ial\nsrun: error: vm: task 0: Exited with exit code 3\n')), split.filter()];
    expect(Buffer.concat(out).toString()).to.equal('err one\npartial\n');
    expect(split.stepId).to.equal('7.12');
    expect(split.own.at(-1)).to.equal('srun: error: vm: task 0: Exited with exit code 3');
  });

  it('a last line without a newline is kept at the end; bytes that are not UTF-8 pass unchanged', () => {
    const split = new SrunStderr();
    const bytes = Buffer.from([0xff, 0xfe, 0x0a, 0x61]);
    expect(Buffer.concat([split.filter(bytes), split.filter()]).equals(bytes)).to.equal(true);
  });

  it('srun flags: the allocation, one task, the cpus, the attempt\'s memory, the time limit', () => {
    const s = stage('fit', [], { resources: { cpus: 4, memory: ['1G', '2G'], timeMs: 90_000 } } as Partial<StageConfig>);
    expect(srunFlags(s, '42', { root: '/w', attempt: 3 })).to.deep.equal([
      '--jobid', '42', '-n1', '-N1', '-c4', '--exact', '-v', '--job-name=pipeline-fit', '--chdir=/w', '--export=ALL', '--input=none', '--mem=2G', '--time=1:30',
    ]);
    expect(srunFlags(stage('x'), '1', { root: '/w', attempt: 1 })).to.include('-c1');
  });

  it('the CPU ledger: stages wait until they fit the allocation, in turn as others end; an abort ends the wait; too big is not held back', async () => {
    const ledger = new CpuLedger(2);
    const run = new AbortController();
    const order: string[] = [];
    const take = (name: string, cpus: number, signal = run.signal) =>
      ledger.acquire(cpus, signal).then((held) => {
        order.push(`${name}:${held}`);
        return held;
      });
    const [a, b] = await Promise.all([take('a', 1), take('b', 1)]);
    const c = take('c', 2);
    const stop = new AbortController();
    const d = take('d', 1, stop.signal);
    const huge = await take('huge', 8);
    stop.abort();
    expect(await d).to.equal(undefined);
    expect(order).to.deep.equal(['a:1', 'b:1', 'huge:0', 'd:undefined']);
    const settled = () => new Promise((resolve) => setImmediate(resolve));
    ledger.release(a!);
    // c needs both CPUs: one free is not enough.
    await settled();
    expect(order.length).to.equal(4);
    ledger.release(b!);
    expect(await c).to.equal(2);
    ledger.release(huge!);
    const e = take('e', 1);
    await settled();
    expect(order.length).to.equal(5);
    ledger.release(2);
    expect(await e).to.equal(1);
    expect(order).to.deep.equal(['a:1', 'b:1', 'huge:0', 'd:undefined', 'c:2', 'e:1']);
  });

  it('which stages may take a step started ahead (any that asks nothing of resources:), and its step\'s flags', () => {
    expect(fitsHostStep(stage('m', [], { kind: 'module' }))).to.equal(true);
    expect(fitsHostStep(stage('m', [], { kind: 'module', timeoutMs: 5000 }))).to.equal(true);
    expect(fitsHostStep(stage('c', [], { kind: 'cmd' }))).to.equal(true);
    for (const resources of [{ cpus: 1 }, { memory: ['1G'] }, { timeMs: 60_000 }])
      expect(fitsHostStep(stage('m', [], { kind: 'module', resources } as Partial<StageConfig>)), JSON.stringify(resources)).to.equal(false);
    expect(hostStepFlags('42', '/w')).to.deep.equal(['--jobid', '42', '-n1', '-N1', '-c1', '--exact', '--overlap', '-v', '--job-name=pipeline-host', '--chdir=/w', '--export=ALL']);
  });

  it('chains: only links where a stage needs only the one before and nothing else needs that one; `group:` wins', () => {
    // a → b → c, then c fans out to d and e; f → g; h stands alone; x → y where y has its own group.
    const stages = [stage('a'), stage('b', ['a']), stage('c', ['b']), stage('d', ['c']), stage('e', ['c']), stage('f'), stage('g', ['f']), stage('h'), stage('x'), stage('y', ['x'], { group: 'mine' })];
    expect(Object.fromEntries(chainGroups(stages))).to.deep.equal({ a: 'chain-a', b: 'chain-a', c: 'chain-a', f: 'chain-f', g: 'chain-f' });
  });

  it("a grouped stage's prelude: the job's SLURM_* kept, everything else replaced by the stage's environment, quoted", () => {
    const prelude = memberPrelude({ PATH: '/bin:/usr/bin', ODD: "it's $HOME `x`", 'BAD-NAME': 'x', SLURM_JOB_ID: 'runner' }, '/tmp/l o g');
    const script = [...prelude.slice(0, -1), 'env'].join('\n');
    const r = execaSync('/bin/sh', ['-c', script], { env: { SLURM_JOB_ID: '99', KEEP_OUT: 'no', PATH: '/bin:/usr/bin' }, extendEnv: false });
    const env = Object.fromEntries(String(r.stdout).split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env.ODD).to.equal("it's $HOME `x`");
    expect(env.SLURM_JOB_ID).to.equal('99');
    expect(env).to.not.have.property('KEEP_OUT');
    expect(env).to.not.have.property('BAD-NAME');
    expect(prelude.at(-1)).to.equal("exec >'/tmp/l o g' 2>&1 </dev/null");
  });
});
