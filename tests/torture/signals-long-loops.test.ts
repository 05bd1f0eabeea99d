// Ctrl-C / SIGTERM during a restore of thousands of files stops the run with exit 130 and leaves the folder out
// either absent or whole (the restore is assembled beside its place and renamed), with no temp folder left; the
// next run restores it. SIGINT and SIGTERM, caught while the restore is under way.
import { expect } from 'chai';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cleanup, cli, runJson, startCli, workspace } from './lib.js';

const FILES = 12000;
const YAML = `version: 1
stages:
  many:
    cmd: [node, -e, "const fs=require('fs');fs.mkdirSync('build/many/x',{recursive:true});for(let i=0;i<${FILES};i++)fs.writeFileSync('build/many/x/f'+i+'.txt',String(i))"]
    outs: [build/many]
`;

describe('torture: signals are honoured in long loops', function () {
  after(cleanup);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} during a restore of ${FILES} files: exit 130, the out absent or whole, no temp folder left`, async function () {
      const ws = workspace('sig-restore', YAML);
      expect((await cli(ws, ['run'])).exitCode).to.equal(0);
      rmSync(path.join(ws, 'build', 'many'), { recursive: true });
      const { child, done } = startCli(ws, ['run']);
      const staging = () => readdirSync(path.join(ws, 'build')).some((n) => n.startsWith('.many.') && n.endsWith('.tmp'));
      let seen = false;
      while (child.exitCode === null) {
        if (existsSync(path.join(ws, 'build')) && staging()) {
          seen = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!seen) this.skip(); // the restore finished before it could be caught (a very fast disk): nothing to test
      child.kill(signal);
      const r = await done;
      expect(r.exitCode, r.stdout + r.stderr).to.equal(130);
      const out = path.join(ws, 'build', 'many', 'x');
      if (existsSync(out)) expect(readdirSync(out).length, 'whole when present').to.equal(FILES);
      expect(staging(), 'no temp folder left').to.equal(false);
      const again = await runJson(ws);
      expect(again.statuses.many).to.equal('cached');
      expect(readdirSync(out).length).to.equal(FILES);
    });
  }
});
