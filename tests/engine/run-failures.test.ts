// How a run's failures read and exit, through the real CLI: a stage killed by a signal says so (with the last line
// it wrote to stderr); an operating-system error once stages began — the workspace's disk full when pipeline.lock is
// written — is a failure during the run, exit 1 with the path and the remedy (before anything runs it is exit 2).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const isRoot = process.getuid?.() === 0;

interface StageJson {
  name: string;
  status: string;
  reason: string;
  outcome: { kind: string; cause?: Record<string, unknown> };
}

describe('engine: how a run fails', function () {
  let ws: Workspace | undefined;
  afterEach(() => {
    ws?.cleanup();
    ws = undefined;
  });

  it('a stage killed by a signal: "killed by signal SIGTERM", with its last line on stderr when it wrote one', async () => {
    ws = makeWorkspace({
      yaml: `version: 1
stages:
  termed:
    cmd: [node, -e, "process.stderr.write('saving state\\\\n'); process.kill(process.pid, 'SIGTERM')"]
    outs: [termed.txt]
  killed:
    cmd: [node, -e, "process.kill(process.pid, 'SIGKILL')"]
    outs: [killed.txt]
`,
    });
    const r = await ws.run(['run', '--keep-going', '--json']);
    expect(r.exitCode, r.stderr).to.equal(1);
    const stages = Object.fromEntries((r.json.stages as StageJson[]).map((s) => [s.name, s]));
    expect(stages.termed.reason).to.equal('killed by signal SIGTERM (last line on stderr: saving state)');
    expect(stages.termed.outcome.cause).to.deep.equal({ kind: 'signal', signal: 'SIGTERM', message: 'killed by signal SIGTERM (last line on stderr: saving state)' });
    expect(stages.killed.reason).to.equal('killed by signal SIGKILL');
    expect(stages.killed.outcome.cause).to.deep.equal({ kind: 'signal', signal: 'SIGKILL', message: 'killed by signal SIGKILL' });
    expect(r.stderr).to.match(/^termed +failed +[0-9.]+m?s +killed by signal SIGTERM \(last line on stderr: saving state\)$/m);
    expect(r.stderr).to.match(/^killed +failed +[0-9.]+m?s +killed by signal SIGKILL$/m);
    expect(r.stderr).to.not.include('exited with code SIG');
  });

  it('the disk of the workspace full when pipeline.lock is written (ENOSPC on a tmpfs, root only): exit 1 with the path and the remedy; freed, the next run records it without running it again', async function () {
    if (!isRoot) this.skip(); // mounting a tmpfs needs root
    const yaml = `version: 1
stages:
  fill:
    cmd: [node, -e, "const fs=require('fs'); fs.writeFileSync('out.txt','out'); const b=Buffer.alloc(65536,1); const fd=fs.openSync('filler.bin','w'); try { for(;;) fs.writeSync(fd,b) } catch {}"]
    outs: [out.txt]
`;
    ws = makeWorkspace({ yaml });
    // The workspace on a 1 MiB tmpfs, the store (PIPELINE_CACHE_DIR) beside it on the ordinary disk.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', ws.dir]);
    try {
      ws.write('pipeline.yaml', yaml);
      const r = await ws.run(['run']);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
      // Which record meets the full disk first (pipeline.lock, the module index, last-run.json, the history) depends
      // on the pages the run freed meanwhile; each is named with its path.
      const written = new RegExp(`^error: cannot (write|open) \`${ws.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[^\`]+\`: ENOSPC `, 'm');
      expect(r.stderr).to.match(written);
      expect(r.stderr).to.include('hint: the disk is full: free space');
      expect(r.stderr).to.not.include('internal error');
      if (ws.exists('pipeline.lock')) expect(Object.keys(ws.lock().stages), 'pipeline.lock whole when written').to.deep.equal(['fill']);
      ws.remove('filler.bin');
      const again = await ws.run(['run', '--json']);
      expect(again.exitCode, again.stderr).to.equal(0);
      const [fill] = again.json.stages as StageJson[];
      expect(fill.status).to.equal('cached');
      expect(ws.exists('filler.bin'), 'the stage did not run again').to.equal(false);
      expect(Object.keys(ws.lock().stages)).to.deep.equal(['fill']);
    } finally {
      execFileSync('umount', [ws.dir]);
    }
  });
});
