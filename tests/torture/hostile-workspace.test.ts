// Hostile workspace: symlinks that lead outside (an out, an out's folder, a dep, an out a stage creates as a
// symlink), a cache object replaced by a symlink, files the engine keeps in .pipeline/ replaced by symlinks, and stage
// names or paths with `..`. Each is refused with a clear error, treated as corrupt or replaced, and nothing outside
// the workspace is written, followed or removed.
import { expect } from 'chai';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writerWorkspace } from './fixtures/fan.js';
import { cleanupAll, diffSnapshots, filesUnder, objectPath, readLock, recordedOutsProblems, runCli, runJson, snapshotDir, tempDir } from '../helpers/workspace.js';

/** A workspace `ws/` beside a folder `outside/` holding a precious file and folder. */
function hostile(prefix: string, yaml: string | ((outside: string) => string)) {
  const outside = tempDir(`${prefix}-outside`);
  const ws = writerWorkspace(prefix, typeof yaml === 'string' ? yaml : yaml(outside));
  writeFileSync(path.join(outside, 'precious.txt'), 'do not touch\n');
  mkdirSync(path.join(outside, 'dir'));
  writeFileSync(path.join(outside, 'dir', 'keep.txt'), 'keep\n');
  return { ws, outside, before: snapshotDir(outside, { meta: true }) };
}

const writer = (out: string, seed: string, extra: string[] = []) =>
  JSON.stringify(['node', 'tools/writer.mjs', '--out', out, '--kb', '64', '--chunk', '16', '--seed', seed, ...extra]);

describe('torture: hostile workspace', function () {
  after(cleanupAll);

  it('an out that is a symlink to a file outside: refused with exit 2 before anything runs, nothing written there', async function () {
    const { ws, outside, before } = hostile('hw-outlink', `version: 1\nstages:\n  w:\n    cmd: ${writer('build/out.bin', 'w')}\n    outs: [build/out.bin]\n`);
    mkdirSync(path.join(ws, 'build'));
    symlinkSync(path.join(outside, 'precious.txt'), path.join(ws, 'build', 'out.bin'));
    const r = await runCli(ws, ['run']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(2);
    expect(r.stderr).to.include('out `build/out.bin` is a symlink');
    expect(r.stderr).to.match(/pipeline\.yaml:\d+:\d+: /);
    expect(diffSnapshots(before, snapshotDir(outside, { meta: true }))).to.deep.equal([]);
    expect(lstatSync(path.join(ws, 'build', 'out.bin')).isSymbolicLink(), 'the link is left for the user to remove').to.equal(true);
    expect(existsSync(path.join(ws, 'pipeline.lock'))).to.equal(false);
  });

  it('an out whose folder is a symlink leading outside: refused with exit 2, nothing written there', async function () {
    const { ws, outside, before } = hostile('hw-dirlink', `version: 1\nstages:\n  w:\n    cmd: ${writer('build/out.bin', 'w')}\n    outs: [build/out.bin]\n`);
    symlinkSync(path.join(outside, 'dir'), path.join(ws, 'build'));
    const r = await runCli(ws, ['run']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(2);
    expect(r.stderr).to.include(`out \`build/out.bin\` resolves outside the workspace (to ${path.join(outside, 'dir')})`);
    expect(diffSnapshots(before, snapshotDir(outside, { meta: true }))).to.deep.equal([]);
  });

  it('a folder out that is a symlink to a folder outside: refused, nothing removed there', async function () {
    const { ws, outside, before } = hostile('hw-folderlink', `version: 1\nstages:\n  w:\n    cmd: ${writer('build/d', 'w', ['--files', '2'])}\n    outs: [build/d]\n`);
    mkdirSync(path.join(ws, 'build'));
    symlinkSync(path.join(outside, 'dir'), path.join(ws, 'build', 'd'));
    const r = await runCli(ws, ['run']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(2);
    expect(r.stderr).to.include('out `build/d` is a symlink');
    expect(diffSnapshots(before, snapshotDir(outside, { meta: true }))).to.deep.equal([]);
  });

  it('a dep that is a symlink to a file outside: refused, not read into the cache', async function () {
    const { ws, outside, before } = hostile(
      'hw-deplink',
      `version: 1\nstages:\n  w:\n    cmd: ${writer('build/out.bin', 'w', ['--in', 'data/in.txt'])}\n    deps: [data/in.txt]\n    outs: [build/out.bin]\n`,
    );
    mkdirSync(path.join(ws, 'data'));
    symlinkSync(path.join(outside, 'precious.txt'), path.join(ws, 'data', 'in.txt'));
    const r = await runCli(ws, ['run']);
    expect([1, 2], r.stdout + r.stderr).to.include(r.exitCode);
    expect(r.stdout + r.stderr).to.include('dep `data/in.txt` is a symlink');
    expect(existsSync(path.join(ws, 'build', 'out.bin')), 'the stage did not run').to.equal(false);
    expect(diffSnapshots(before, snapshotDir(outside, { meta: true }))).to.deep.equal([]);
  });

  for (const previous of [false, true]) {
    it(`a stage that makes its out a symlink to a file outside${previous ? ', over a recorded result' : ''}: the stage fails cleanly, the link is removed and the target kept`, async function () {
      const { ws, outside, before } = hostile(
        `hw-evil${previous ? '2' : ''}`,
        (outside) => `version: 1
params:
  mode: good
stages:
  evil:
    cmd: [node, -e, ${JSON.stringify(
      `const fs=require('fs');fs.mkdirSync('build',{recursive:true});` +
        `if(JSON.parse(process.env.PIPELINE_PARAMS).mode==='good')fs.writeFileSync('build/out.txt','good\\n');` +
        `else fs.symlinkSync(${JSON.stringify(path.join(outside, 'precious.txt'))},'build/out.txt')`,
    )}]
    outs: [build/out.txt]
  other:
    cmd: ${writer('build/other.bin', 'o')}
    outs: [build/other.bin]
`,
      );
      if (previous) {
        const good = await runJson(ws);
        expect(good.exitCode, good.stdout + good.stderr).to.equal(0);
      }
      const r = await runJson(ws, ['--set', 'mode=evil', '--keep-going']);
      expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
      expect(r.statuses.evil).to.equal('failed');
      expect(r.statuses.other, 'the rest of the run is recorded normally').to.be.oneOf(['ran', 'cached']);
      expect(r.stdout + r.stderr).to.include('out `build/out.txt` is a symlink');
      expect(r.stderr).to.not.include('internal error');
      expect(diffSnapshots(before, snapshotDir(outside, { meta: true })), 'outside untouched').to.deep.equal([]);
      if (previous) {
        expect(readFileSync(path.join(ws, 'build', 'out.txt'), 'utf8'), 'the previous result is back').to.equal('good\n');
        expect(lstatSync(path.join(ws, 'build', 'out.txt')).isFile()).to.equal(true);
      } else {
        expect(lstatSync(path.join(ws, 'build', 'out.txt'), { throwIfNoEntry: false }), 'the link is gone').to.equal(undefined);
      }
      expect(readLock(ws).stages.other, '`other` recorded').to.not.equal(undefined);
      expect(recordedOutsProblems(ws)).to.deep.equal([]);
    });
  }

  it('a folder out holding a symlink that leads outside: the stage fails, the folder is removed, the target kept', async function () {
    const { ws, outside, before } = hostile(
      'hw-evildir',
      (outside) => `version: 1
stages:
  evil:
    cmd: [node, -e, ${JSON.stringify(`const fs=require('fs');fs.mkdirSync('build/d',{recursive:true});fs.writeFileSync('build/d/a.txt','a');fs.symlinkSync(${JSON.stringify(path.join(outside, 'dir'))},'build/d/escape')`)}]
    outs: [build/d]
`,
    );
    const r = await runCli(ws, ['run']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(1);
    expect(r.stdout + r.stderr).to.include('out `build/d/escape` is a symlink');
    expect(existsSync(path.join(ws, 'build', 'd'))).to.equal(false);
    expect(diffSnapshots(before, snapshotDir(outside, { meta: true }))).to.deep.equal([]);
    expect(readLock(ws).stages.evil).to.equal(undefined);
  });

  it('a cache object replaced by a symlink (even to the right bytes outside) is not followed: the stage re-runs', async function () {
    const { ws, outside } = hostile(
      'hw-objlink',
      `version: 1
params:
  variant: 0
stages:
  w:
    cmd: ${writer('build/out.bin', 'w')}
    outs: [build/out.bin]
  d:
    cmd: ${writer('build/dir', 'd', ['--files', '3'])}
    outs: [build/dir]
`,
    );
    expect((await runJson(ws)).exitCode).to.equal(0);
    const reference = filesUnder(ws, 'build');
    const lock = readLock(ws);
    expect((await runJson(ws, ['--set', 'variant=1'])).exitCode).to.equal(0);

    // Replace the file object of `w` and one file object of `d` by symlinks to copies outside with the same bytes.
    const fileObj = lock.stages.w.outs[0].hash;
    const manifest = JSON.parse(readFileSync(objectPath(ws, lock.stages.d.outs[0].hash), 'utf8')) as { entries: { hash: string }[] };
    const dirObj = manifest.entries[1].hash;
    for (const [i, h] of [fileObj, dirObj].entries()) {
      const copy = path.join(outside, `copy-${i}`);
      writeFileSync(copy, readFileSync(objectPath(ws, h)));
      rmSync(objectPath(ws, h));
      symlinkSync(copy, objectPath(ws, h));
    }
    const before = snapshotDir(outside, { meta: true });

    const verify = await runCli(ws, ['cache', 'verify', '--json']);
    expect(verify.exitCode).to.equal(1);
    expect((JSON.parse(verify.stdout) as { corrupt: string[] }).corrupt.sort()).to.deep.equal([fileObj, dirObj].sort());

    const back = await runJson(ws, ['--set', 'variant=0']);
    expect(back.exitCode, back.stdout + back.stderr).to.equal(0);
    expect(back.statuses).to.deep.equal({ w: 'ran', d: 'ran' });
    expect(filesUnder(ws, 'build')).to.deep.equal(reference);
    for (const h of [fileObj, dirObj]) expect(lstatSync(objectPath(ws, h)).isFile(), 'a real object again').to.equal(true);
    expect(diffSnapshots(before, snapshotDir(outside, { meta: true })), 'the targets are neither changed nor removed').to.deep.equal([]);
    expect((await runCli(ws, ['cache', 'verify'])).exitCode).to.equal(0);
  });

  it("files the engine keeps in .pipeline/ replaced by symlinks to files outside: each is replaced, never written through", async function () {
    const { ws, outside, before } = hostile(
      'hw-state',
      `version: 1
params: {v: 0}
stages:
  w:
    cmd: ${writer('build/out.bin', 'w')}
    outs: [build/out.bin]
    passEnv: [HW_SECRET]
  m:
    module: stages/m.ts
    needs: [w]
    outs: [build/m.txt]
`,
    );
    mkdirSync(path.join(ws, 'stages'));
    writeFileSync(
      path.join(ws, 'stages', 'm.ts'),
      "import { writeFileSync } from 'node:fs';\nexport default (ctx: { outs: Record<string, string>; params: Record<string, unknown> }) => {\n  console.log('m ran');\n  writeFileSync(ctx.outs['build/m.txt'], JSON.stringify(ctx.params) + '\\n');\n};\n",
    );
    expect((await runJson(ws)).exitCode).to.equal(0);
    const kept = ['last-run.json', 'logs/w.log', 'logs/m.log', 'state/run-key', 'state/stat-cache.json', 'state/modules.json', 'state/params.json', 'state/config.json'];
    mkdirSync(path.join(outside, 'targets'));
    for (const rel of kept) {
      const target = path.join(outside, 'targets', rel.replace('/', '-'));
      writeFileSync(target, 'precious\n');
      rmSync(path.join(ws, '.pipeline', rel), { force: true });
      symlinkSync(target, path.join(ws, '.pipeline', rel));
    }
    const planted = snapshotDir(outside, { meta: true });
    // A changed param: both stages run (a pre-started host for the module), every one of those files is written.
    const r = await runJson(ws, ['--set', 'v=1'], { env: { ...process.env, HW_SECRET: 's3cret' } });
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    expect(r.statuses).to.deep.equal({ w: 'ran', m: 'ran' });
    expect(diffSnapshots(planted, snapshotDir(outside, { meta: true })), 'nothing outside written through a link').to.deep.equal([]);
    for (const rel of kept) expect(lstatSync(path.join(ws, '.pipeline', rel)).isFile(), `.pipeline/${rel} is a file of its own again`).to.equal(true);
    expect(readFileSync(path.join(ws, '.pipeline', 'logs', 'm.log'), 'utf8')).to.include('m ran');
    rmSync(path.join(outside, 'targets'), { recursive: true });
    expect(diffSnapshots(before, snapshotDir(outside, { meta: true }))).to.deep.equal([]);
  });

  describe('`..` in a stage name or a path: exit 2, nothing written', function () {
    const cases: [string, string, RegExp][] = [
      ['stage name `..`', `version: 1\nstages:\n  "..":\n    cmd: echo hi\n`, /pipeline\.yaml:3:3: .*stage name `\.\.` is not allowed/],
      ['stage name `../up`', `version: 1\nstages:\n  ../up:\n    cmd: echo hi\n`, /pipeline\.yaml:3:3: .*stage name `\.\.\/up` is not allowed/],
      ['stage name `a/../b`', `version: 1\nstages:\n  a/../b:\n    cmd: echo hi\n`, /pipeline\.yaml:3:3: .*is not allowed/],
      ['out `../x.txt`', `version: 1\nstages:\n  s:\n    cmd: echo hi\n    outs: [../x.txt]\n`, /pipeline\.yaml:5:12: .*points outside the workspace/],
      ['out `build/../../x.txt`', `version: 1\nstages:\n  s:\n    cmd: echo hi\n    outs: [build/../../x.txt]\n`, /pipeline\.yaml:5:12: .*points outside the workspace/],
      ['out `..`', `version: 1\nstages:\n  s:\n    cmd: echo hi\n    outs: [".."]\n`, /pipeline\.yaml:5:12: .*points outside the workspace/],
      // A plain `../` dep is an input outside the workspace (hashed, never written); a pattern there is refused.
      ['dep `../outside/*.txt`', `version: 1\nstages:\n  s:\n    cmd: echo hi\n    deps: [../outside/*.txt]\n    outs: [build/a]\n`, /pipeline\.yaml:5:12: .*glob pattern outside the workspace/],
      ['module `../evil.ts`', `version: 1\nstages:\n  s:\n    module: ../evil.ts\n    outs: [build/a]\n`, /pipeline\.yaml:4:13: .*(outside the workspace|not found)/],
    ];
    for (const [what, yaml, pattern] of cases) {
      it(what, async function () {
        const parent = tempDir('hw-dotdot');
        const ws = path.join(parent, 'ws');
        mkdirSync(ws);
        writeFileSync(path.join(ws, 'pipeline.yaml'), yaml);
        mkdirSync(path.join(parent, 'outside'));
        writeFileSync(path.join(parent, 'outside', 'precious.txt'), 'x\n');
        writeFileSync(path.join(parent, 'evil.ts'), 'export default () => {};\n');
        const before = snapshotDir(parent, { meta: true });
        const r = await runCli(ws, ['run']);
        expect(r.exitCode, r.stderr).to.equal(2);
        expect(r.stderr).to.match(pattern);
        expect(r.stderr).to.match(/\nhint: \S/);
        expect(diffSnapshots(before, snapshotDir(parent, { meta: true }))).to.deep.equal([]);
      });
    }
  });
});
