// The published package, as someone else's project gets it: `npm pack` (its `prepack` build included) on a copy
// of the sources, the tarball installed into a fresh project in a temp folder outside the repository, then
// `npx pipeline --version`, `init`, `run`, and a module stage importing `pipeline-dag/stage` — its types checked
// by tsc against the installed declarations, its runtime value (GateVerdict) resolved from the installed package;
// the output schemas resolved through the package's exports and the project's `run --json` checked against them.
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { repoRoot } from '../helpers/workspace.js';

/** What the package is built from (the tarball's `prepack` compiles it); node_modules is the repository's. */
const SOURCES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.public-types.json', 'README.md', 'pipeline.schema.json', 'schemas', 'bin', 'runner', 'scripts'];

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

describe('install: the packed tarball in a fresh project', function () {
  // Packing compiles the engine twice (code, then the stage API's declarations) and npm installs the
  // dependencies from its cache: about 40 s here, longer on a loaded machine.
  this.timeout(300_000);
  let base: string;
  let project: string;
  let tarball: string;
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
  const npx = (args: string[]) =>
    execa('npx', ['--no-install', 'pipeline', ...args], { cwd: project, env, reject: false, stripFinalNewline: false });

  before(async () => {
    base = mkdtempSync(path.join(os.tmpdir(), 'pipeline-install-'));
    const src = path.join(base, 'src');
    mkdirSync(src);
    for (const entry of SOURCES) cpSync(path.join(repoRoot, entry), path.join(src, entry), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(src, 'node_modules'), 'dir');
    const pack = await execa('npm', ['pack', '--json', '--pack-destination', base], { cwd: src, env, reject: false });
    expect(pack.exitCode, `${pack.stderr}`).to.equal(0);
    const [info] = JSON.parse(String(pack.stdout).slice(String(pack.stdout).indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(base, info.filename);
    project = path.join(base, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'someone-elses-project', private: true, type: 'module' }, null, 2)}\n`);
    const install = await execa('npm', ['install', '--save-dev', '--prefer-offline', tarball], { cwd: project, env, reject: false });
    expect(install.exitCode, `${install.stdout}\n${install.stderr}`).to.equal(0);
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it('the tarball holds the engine, the CLI, the stage API with its types and the schema; not the housing stages', async () => {
    const list = await execa('tar', ['-tzf', tarball]);
    const files = String(list.stdout).split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['bin/pipeline.js', 'dist/runner/cli/main.js', 'dist/cli/main.cjs', 'dist/cli/host.js', 'dist/runner/exec/host.js', 'dist/runner/plan/code.js', 'dist/runner/public/stage.js', 'dist/runner/public/stage.d.ts', 'pipeline.schema.json', 'package.json', 'README.md']) {
      expect(files, f).to.include(f);
    }
    const schemas = readdirSync(path.join(repoRoot, 'schemas')).filter((f) => f.endsWith('.json'));
    expect(schemas.length).to.be.greaterThan(1);
    for (const f of schemas) expect(files, f).to.include(`schemas/${f}`);
    expect(files.filter((f) => f.startsWith('dist/stages/') || f.startsWith('stages/') || f.startsWith('tests/') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).to.deep.equal([]);
    const installed = JSON.parse(readFileSync(path.join(project, 'node_modules/pipeline-dag/package.json'), 'utf8')) as { name: string; version: string };
    const own = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(installed.version).to.equal(own.version);
  });

  it('npx pipeline --version and help work in the project before any config exists', async () => {
    const version = await npx(['--version']);
    expect(version.exitCode, String(version.stderr)).to.equal(0);
    const own = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout).to.equal(`${own.version}\n`);
    const help = await npx(['help', 'init']);
    expect(help.exitCode).to.equal(0);
    expect(String(help.stdout)).to.match(/^Usage: pipeline init/);
  });

  it('npx pipeline init, then run: the cmd and module stages run; a second run executes nothing', async () => {
    const init = await npx(['init']);
    expect(init.exitCode, String(init.stderr)).to.equal(0);
    const run = await npx(['run']);
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).to.equal(0);
    expect(readFileSync(path.join(project, 'build/hello.txt'), 'utf8')).to.equal('Hello, world!\n');
    expect(JSON.parse(readFileSync(path.join(project, 'pipeline.lock'), 'utf8')).stages).to.have.keys('greet', 'hello');
    const again = await npx(['run', '--json']);
    expect(again.exitCode).to.equal(0);
    const stages = (JSON.parse(String(again.stdout)) as { stages: { name: string; status: string }[] }).stages;
    expect(stages.map((s) => s.status)).to.deep.equal(['cached', 'cached']);
    // The project reaches the schemas through the package's exports and checks its output with them.
    const resolve = createRequire(path.join(project, 'package.json')).resolve;
    const ajv = new Ajv2020({ strict: true });
    addFormats.default(ajv);
    for (const name of ['common', 'run']) ajv.addSchema(JSON.parse(readFileSync(resolve(`pipeline-dag/schemas/${name}.schema.json`), 'utf8')) as object);
    const valid = ajv.getSchema('run.schema.json')!;
    expect(valid(JSON.parse(String(again.stdout))), JSON.stringify(valid.errors)).to.equal(true);
  });

  it('a module stage importing types and GateVerdict from pipeline-dag/stage typechecks and runs', async () => {
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
    const run = await npx(['run']);
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).to.equal(0);
    expect(String(run.stdout)).to.match(/check\s+ran/);
    const failing = await npx(['run', '--set', 'check.expect=moon']);
    expect(failing.exitCode).to.equal(3);
    expect(String(failing.stdout) + String(failing.stderr)).to.include('hello.txt does not mention moon');
    expect(existsSync(path.join(project, 'node_modules/pipeline-dag/dist/stages'))).to.equal(false);
  });
});
