// The package as someone else's project gets it today, both ways the README gives, into fresh projects in a temp
// folder outside the repository:
//   - from a git URL: `npm install --save-dev git+file://<repo>` of a temporary git repository made from the
//     sources (what a clone holds: the files git tracks, and the new ones it does not ignore). npm clones it,
//     installs its devDependencies there, runs its `prepare` (the build and the stage API's declarations) and
//     installs what `files` lists;
//   - from a tarball: `npm pack` in a clone of that repository (its `prepack` builds from scratch), then
//     `npm install --save-dev ../clone/pipeline-dag-<version>.tgz` in a project that already has zod 3 at its top
//     level (npm nests the engine's zod 4; a stage's zod 3 schema gets a message naming it).
// In each: `--version` and help under both names (`pipeline`, `pipeline-dag`), `init`, `run`, a second run that
// executes nothing, and a module stage importing `pipeline-dag/stage` — its types checked by tsc against the
// installed declarations, its runtime value (GateVerdict) resolved from the installed package.
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execa } from 'execa';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { repoRoot } from '../helpers/workspace.js';

const OWN = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
/** The last zod 3: a project that has it at its top level and installs pipeline-dag. */
const ZOD3 = '3.25.76';

const GATE_MODULE = `import { readFile } from 'node:fs/promises';
import { GateVerdict, type StageContext } from 'pipeline-dag/stage';

export default async function check(ctx: StageContext): Promise<void> {
  const text = await readFile(ctx.inputs.hello['build/hello.txt'], 'utf8');
  if (!text.includes(String(ctx.params.expect))) throw new GateVerdict(\`hello.txt does not mention \${String(ctx.params.expect)}\`);
  ctx.log.info('checked');
}
`;

const GATE_STAGE = `  check:
    desc: A gate importing a class from the installed package
    module: stages/check.ts
    needs: [hello]
    gate: true
    params: {expect: world}
    outs: []
`;

const zodModule = (from: string) => `import { z } from '${from}';

export const params = z.object({ times: z.number().int() });

export default async function count(ctx: { params: { times: number }; log: { info(line: string): void } }): Promise<void> {
  ctx.log.info(\`times=\${ctx.params.times}\`);
}
`;

const ZOD_STAGE = `  count:
    desc: A stage whose params schema is made by the project's zod
    module: stages/count.ts
    params: {times: 3}
    outs: []
`;

const env = {
  NO_COLOR: '1',
  CI: 'true',
  PIPELINE_PARAMS: undefined,
  PIPELINE_STAGE: undefined,
  PIPELINE_CONTEXT: undefined,
  PIPELINE_CACHE_DIR: undefined,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

/** A command that must succeed; its output when it does not. */
async function must(command: string, args: string[], cwd: string) {
  const r = await execa(command, args, { cwd, env, reject: false });
  expect(r.exitCode, `${command} ${args.join(' ')} in ${cwd}\n${r.stdout}\n${r.stderr}`).to.equal(0);
  return r;
}

/** What a clone of the repository holds: the files git tracks (as they are now) and the new ones it does not ignore. */
async function copySources(to: string): Promise<void> {
  const listed = await must('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], repoRoot);
  for (const file of new Set(String(listed.stdout).split('\0').filter(Boolean))) {
    if (existsSync(path.join(repoRoot, file))) cpSync(path.join(repoRoot, file), path.join(to, file));
  }
}

/** Every file under `dir`, relative, without nested node_modules. */
function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) return p === 'node_modules' ? [] : filesUnder(dir, p);
    return [p];
  });
}

const versionIn = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;

describe('install: from a git URL and from a packed tarball, into projects outside the repository', function () {
  // npm installs the devDependencies in its clone of the git repository and builds there (twice: see the README),
  // while the tarball is packed (two compilations) and installed: minutes, more on a loaded machine.
  this.timeout(900_000);
  let base: string;
  let repo: string;
  let tarball: string;
  const projects = { git: '', tarball: '' };
  const installs = { git: '', tarball: '' };
  const npx = (kind: keyof typeof projects, name: string, args: string[]) =>
    execa('npx', ['--no-install', name, ...args], { cwd: projects[kind], env, reject: false, stripFinalNewline: false });

  const newProject = (name: string) => {
    const dir = path.join(base, name);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`);
    return dir;
  };

  before(async () => {
    base = mkdtempSync(path.join(os.tmpdir(), 'pipeline-install-'));
    repo = path.join(base, 'pipeline');
    mkdirSync(repo);
    await copySources(repo);
    await must('git', ['init', '-q'], repo);
    await must('git', ['add', '-A'], repo);
    await must('git', ['-c', 'user.name=pipeline-test', '-c', 'user.email=test@example.invalid', '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'sources'], repo);

    const fromGit = async () => {
      projects.git = newProject('from-git');
      const r = await must('npm', ['install', '--save-dev', '--prefer-offline', `git+file://${repo}`], projects.git);
      installs.git = `${r.stdout}\n${r.stderr}`;
    };
    const fromTarball = async () => {
      // A clone, with the repository's node_modules standing in for its `npm ci`; `npm pack` writes the tarball there.
      const clone = path.join(base, 'clone');
      await must('git', ['clone', '-q', repo, clone], base);
      symlinkSync(path.join(repoRoot, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
      const pack = await must('npm', ['pack', '--json'], clone);
      const [info] = JSON.parse(String(pack.stdout).slice(String(pack.stdout).indexOf('['))) as { filename: string }[];
      expect(info.filename).to.equal(`pipeline-dag-${OWN.version}.tgz`);
      tarball = path.join(clone, info.filename);
      projects.tarball = newProject('from-tarball');
      await must('npm', ['install', '--prefer-offline', `zod@${ZOD3}`], projects.tarball);
      const r = await must('npm', ['install', '--save-dev', '--prefer-offline', `../clone/${info.filename}`], projects.tarball);
      installs.tarball = `${r.stdout}\n${r.stderr}`;
    };
    await Promise.all([fromGit(), fromTarball()]);
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it('the tarball holds the engine, the CLI, the stage API with its types and the schema; not the housing stages', async () => {
    const list = await execa('tar', ['-tzf', tarball]);
    const files = String(list.stdout).split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['bin/pipeline.js', 'bin/unbuilt.js', 'dist/runner/cli/main.js', 'dist/cli/main.cjs', 'dist/cli/host.js', 'dist/runner/exec/host.js', 'dist/runner/plan/code.js', 'dist/runner/public/stage.js', 'dist/runner/public/stage.d.ts', 'pipeline.schema.json', 'package.json', 'README.md']) {
      expect(files, f).to.include(f);
    }
    const schemas = readdirSync(path.join(repoRoot, 'schemas')).filter((f) => f.endsWith('.json'));
    expect(schemas.length).to.be.greaterThan(1);
    for (const f of schemas) expect(files, f).to.include(`schemas/${f}`);
    expect(files.filter((f) => f.startsWith('dist/stages/') || f.startsWith('stages/') || f.startsWith('tests/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).to.deep.equal([]);
    expect(versionIn(path.join(projects.tarball, 'node_modules/pipeline-dag'))).to.equal(OWN.version);
  });

  it('the git install holds exactly the files of the tarball: `prepare` built the CLI and the declarations `prepack` makes', async () => {
    const list = await execa('tar', ['-tzf', tarball]);
    const packed = String(list.stdout).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')).sort();
    expect(filesUnder(path.join(projects.git, 'node_modules/pipeline-dag')).sort()).to.deep.equal(packed);
    const saved = JSON.parse(readFileSync(path.join(projects.git, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(saved.devDependencies).to.deep.equal({ 'pipeline-dag': `git+file://${repo}` });
  });

  it('npm nests the engine\'s own zod 4 under it and leaves the project\'s zod 3 at the top, with no peer conflict', () => {
    expect(versionIn(path.join(projects.tarball, 'node_modules/zod'))).to.equal(ZOD3);
    expect(versionIn(path.join(projects.tarball, 'node_modules/pipeline-dag/node_modules/zod'))).to.equal(OWN.dependencies.zod);
    expect(installs.tarball).not.to.match(/ERESOLVE|peer/i);
  });

  for (const kind of ['git', 'tarball'] as const) {
    it(`${kind}: --version and help under both names, before any config exists; every usage line says \`pipeline\``, async () => {
      for (const name of ['pipeline', 'pipeline-dag']) {
        const version = await npx(kind, name, ['--version']);
        expect(version.exitCode, `${name}: ${String(version.stderr)}`).to.equal(0);
        expect(version.stdout, name).to.equal(`${OWN.version}\n`);
        const help = await npx(kind, name, ['help', 'init']);
        expect(help.exitCode, name).to.equal(0);
        expect(String(help.stdout), name).to.match(/^Usage: pipeline init \[options\]\n/);
        const general = await npx(kind, name, ['--help']);
        expect(String(general.stdout), name).to.match(/^Usage: pipeline \[options\] \[command\]\n/);
        expect(String(general.stdout), name).to.include("`pipeline-dag` (the package's name) is another name of this command");
        const wrong = await npx(kind, name, ['init', '--frobnicate']);
        expect(wrong.exitCode, name).to.equal(2);
        expect(String(wrong.stderr), name).to.include('(run `pipeline help` for usage)');
      }
    });

    it(`${kind}: npx pipeline-dag init, npx pipeline run; a second run executes nothing`, async () => {
      const init = await npx(kind, 'pipeline-dag', ['init']);
      expect(init.exitCode, String(init.stderr)).to.equal(0);
      const run = await npx(kind, 'pipeline', ['run']);
      expect(run.exitCode, `${String(run.stdout)}\n${String(run.stderr)}`).to.equal(0);
      expect(readFileSync(path.join(projects[kind], 'build/hello.txt'), 'utf8')).to.equal('Hello, world!\n');
      expect(JSON.parse(readFileSync(path.join(projects[kind], 'pipeline.lock'), 'utf8')).stages).to.have.keys('greet', 'hello');
      const again = await npx(kind, 'pipeline-dag', ['run', '--json']);
      expect(again.exitCode).to.equal(0);
      const stages = (JSON.parse(String(again.stdout)) as { stages: { name: string; status: string }[] }).stages;
      expect(stages.map((s) => `${s.name} ${s.status}`)).to.deep.equal(['greet cached', 'hello cached']);
      // The project reaches the schemas through the package's exports and checks its output with them.
      const resolve = createRequire(path.join(projects[kind], 'package.json')).resolve;
      const ajv = new Ajv2020({ strict: true });
      addFormats.default(ajv);
      for (const name of ['common', 'run']) ajv.addSchema(JSON.parse(readFileSync(resolve(`pipeline-dag/schemas/${name}.schema.json`), 'utf8')) as object);
      const valid = ajv.getSchema('run.schema.json')!;
      expect(valid(JSON.parse(String(again.stdout))), JSON.stringify(valid.errors)).to.equal(true);
    });

    it(`${kind}: a module stage importing types and GateVerdict from pipeline-dag/stage typechecks and runs`, async () => {
      const project = projects[kind];
      writeFileSync(path.join(project, 'stages/check.ts'), GATE_MODULE);
      writeFileSync(path.join(project, 'pipeline.yaml'), `${readFileSync(path.join(project, 'pipeline.yaml'), 'utf8')}${GATE_STAGE}`);
      writeFileSync(
        path.join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'], typeRoots: [path.join(repoRoot, 'node_modules/@types')] },
          include: ['stages/**/*.ts'],
        }),
      );
      const tsc = await execa(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, reject: false });
      expect(tsc.exitCode, String(tsc.stdout)).to.equal(0);
      const run = await npx(kind, 'pipeline', ['run']);
      expect(run.exitCode, `${String(run.stdout)}\n${String(run.stderr)}`).to.equal(0);
      expect(String(run.stdout)).to.match(/check\s+ran/);
      const failing = await npx(kind, 'pipeline', ['run', '--set', 'check.expect=moon']);
      expect(failing.exitCode).to.equal(3);
      expect(String(failing.stdout) + String(failing.stderr)).to.include('hello.txt does not mention moon');
      expect(existsSync(path.join(project, 'node_modules/pipeline-dag/dist/stages'))).to.equal(false);
    });
  }

  it('tarball: a params schema from the project\'s zod 3: validate and run exit 2 naming zod 3.25.76 and the fix; from zod/v4 it runs', async () => {
    const project = projects.tarball;
    writeFileSync(path.join(project, 'stages/count.ts'), zodModule('zod'));
    const yaml = `${readFileSync(path.join(project, 'pipeline.yaml'), 'utf8')}${ZOD_STAGE}`;
    writeFileSync(path.join(project, 'pipeline.yaml'), yaml);
    const line = yaml.split('\n').indexOf('    module: stages/count.ts') + 1;
    const lock = readFileSync(path.join(project, 'pipeline.lock'), 'utf8');
    const expected =
      `error: pipeline.yaml:${line}:13: stage \`count\`: the \`params\` export of stages/count.ts is a zod 3.x schema (zod ${ZOD3} from node_modules/zod); pipeline-dag needs zod 4.x\n` +
      "hint: `npm install zod@^4` (zod 3.25 also carries zod 4: `import { z } from 'zod/v4'`), then export `const params = z.object({ ... })`\n";
    for (const args of [['validate'], ['run']]) {
      const r = await npx('tarball', 'pipeline', args);
      expect(r.exitCode, `${args[0]}: ${String(r.stdout)}\n${String(r.stderr)}`).to.equal(2);
      expect(String(r.stderr), args[0]).to.equal(expected);
      expect(String(r.stdout), args[0]).to.equal('');
    }
    expect(readFileSync(path.join(project, 'pipeline.lock'), 'utf8')).to.equal(lock);
    // zod 3.25 carries zod 4 under `zod/v4`: a schema made by it is read like any zod 4 schema, values checked.
    writeFileSync(path.join(project, 'stages/count.ts'), zodModule('zod/v4'));
    const valid = await npx('tarball', 'pipeline', ['validate']);
    expect(valid.exitCode, String(valid.stderr)).to.equal(0);
    const wrong = await npx('tarball', 'pipeline', ['run', 'count', '--set', 'count.times=2.5']);
    expect(wrong.exitCode).to.equal(2);
    expect(String(wrong.stderr)).to.include('stage `count`: param `times` is 2.5; expected a whole number');
    const run = await npx('tarball', 'pipeline', ['run', 'count']);
    expect(run.exitCode, `${String(run.stdout)}\n${String(run.stderr)}`).to.equal(0);
    expect(String(run.stdout)).to.match(/count\s+ran/);
    expect(String(run.stdout)).to.include('times=3');
  });
});
