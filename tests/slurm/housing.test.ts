// The real California-housing pipeline under `--executor slurm`: the same outputs and the same pipeline.lock as
// a local run of the same checkout (module stages run through the host inside the jobs).
import { expect } from 'chai';
import { cpSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { makeWorkspace, realData, repoRoot, type Workspace } from '../helpers/workspace.js';
import { noCluster, skipWithoutCluster } from './cluster.js';

function checkout(): Workspace {
  const ws = makeWorkspace({ yaml: readFileSync(path.join(repoRoot, 'pipeline.yaml'), 'utf8'), prefix: 'pipeline-slurm-housing-' });
  for (const f of ['package.json', 'tsconfig.json']) cpSync(path.join(repoRoot, f), ws.path(f));
  cpSync(path.join(repoRoot, 'stages'), ws.path('stages'), { recursive: true });
  for (const d of ['node_modules', 'dist', 'runner']) symlinkSync(path.join(repoRoot, d), ws.path(d), 'dir');
  return ws;
}

describe('slurm: the real pipeline', function () {
  const spaces: Workspace[] = [];
  before(function () {
    skipWithoutCluster(this, noCluster() ?? (existsSync(realData) ? undefined : `the data set is not at ${realData}`));
  });
  after(() => spaces.forEach((w) => w.cleanup()));

  it('gives the same outputs and the same pipeline.lock as a local run; every stage that ran has its job', async () => {
    const local = checkout();
    const cluster = checkout();
    spaces.push(local, cluster);
    const set = ['--set', `load.source=${realData}`];
    const l = await local.run(['run', ...set, '--json'], { timeoutMs: 300_000 });
    expect(l.exitCode, l.stderr).to.equal(0);
    const s = await cluster.run(['run', '--executor', 'slurm', ...set, '--json'], { timeoutMs: 300_000 });
    expect(s.exitCode, s.stderr).to.equal(0);
    type Stage = { name: string; status: string; jobId?: string };
    const ran = (json: { stages: Stage[] }) => json.stages.filter((x) => x.status === 'ran').map((x) => x.name);
    expect(ran(s.json)).to.deep.equal(ran(l.json));
    expect(ran(s.json).length).to.be.greaterThan(3);
    for (const x of s.json.stages as Stage[]) expect(x.jobId === undefined, x.name).to.equal(x.status !== 'ran');
    expect(cluster.snapshot('build')).to.deep.equal(local.snapshot('build'));
    expect(cluster.lock()).to.deep.equal(local.lock());
    const again = await cluster.run(['run', '--executor', 'slurm', ...set, '--json'], { timeoutMs: 120_000 });
    expect(ran(again.json)).to.deep.equal([]);
  });
});
