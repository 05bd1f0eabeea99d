// The Docker image, built and run with a real engine. `scripts/docker-engine.sh start` brings up a private engine
// (and a local node:20-slim when the registry is out of reach); with PIPELINE_DOCKER=system the machine's own engine
// is used as it is (GitHub runners). The image is built from a copy of the repository in which the real pipeline
// has run on the real data, then:
//   - `docker run --rm IMAGE` prints exactly what `pipeline predict` prints on the host: the pipeline's metrics
//     (equal to build/predict/metrics.json) and the first 10 rows;
//   - `docker run --rm -i IMAGE predict --input -` scores CSV/JSON rows from stdin exactly as `pipeline predict
//     --input rows.csv` does on the host, and refuses a bad row with its row and column (exit 2).
// If the engine cannot start, the suite fails with the reason.
import { expect } from 'chai';
import { execa } from 'execa';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataFile = path.resolve(repo, '../shared/data/cal_housing.data');
const engineScript = path.join(repo, 'scripts/docker-engine.sh');
const systemEngine = process.env.PIPELINE_DOCKER === 'system';
const image = `pipeline-test:${process.pid}`;

const FEATURES = ['MedInc', 'HouseAge', 'AveRooms', 'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude'];
// The first rows of the data set with the features derived as scikit-learn derives them, and two made-up ones.
const ROWS = [
  [8.3252, 41, 6.984127, 1.02381, 322, 2.555556, 37.88, -122.23],
  [8.3014, 21, 6.238137, 0.97188, 2401, 2.109842, 37.86, -122.22],
  [7.2574, 52, 8.288136, 1.073446, 496, 2.80226, 37.85, -122.24],
  [2.5, 15, 4.8, 1.1, 1500, 3.2, 34.05, -118.25],
  [12, 5, 7.5, 1, 800, 2.4, 32.72, -117.16],
];
const CSV = `${FEATURES.join(',')}\n${ROWS.map((r) => r.join(',')).join('\n')}\n`;

function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

describe('Docker image (real engine)', function () {
  // Cold: ≈ 10 s apt, ≈ 45 s engine + base image, ≈ 60 s build; warm: a few seconds + the build.
  this.timeout(15 * 60 * 1000);

  let dockerEnv: Record<string, string> = {};
  let docker = 'docker';
  let work = '';
  let engineStarted = false;
  let built = false;

  // Only the options the calls use, so that execa types stdout, stderr and all as strings.
  type Opts = { all?: boolean; input?: string };
  const run = (args: string[], opts: Opts = {}) =>
    execa('timeout', ['600', docker, ...args], { reject: false, env: dockerEnv, ...opts });
  const host = (args: string[], opts: Opts = {}) =>
    execa(process.execPath, ['bin/pipeline.js', ...args], { cwd: work, reject: false, env: { NO_COLOR: '1' }, ...opts });

  before(async function () {
    // 1. The engine.
    if (systemEngine) {
      const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false });
      if (info.exitCode !== 0) throw new Error(`PIPELINE_DOCKER=system but \`docker info\` fails:\n${tail(info.stderr)}`);
    } else {
      const started = await execa('bash', [engineScript, 'start'], { reject: false, all: true });
      engineStarted = true;
      const m = /^export DOCKER_HOST=(\S+)$/m.exec(started.stdout);
      if (started.exitCode !== 0 || !m) {
        throw new Error(
          `the Docker engine did not start (scripts/docker-engine.sh start exited ${started.exitCode}):\n${tail(started.all ?? '')}`,
        );
      }
      // The Debian client builds with the classic builder; a newer client elsewhere on PATH would want buildx.
      docker = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
      dockerEnv = { DOCKER_HOST: m[1], DOCKER_BUILDKIT: '0' };
    }

    // 2. A copy of the repository (tracked and new files, nothing ignored) with the pipeline run in it.
    expect(existsSync(dataFile), `the data set ${dataFile}`).to.equal(true);
    work = mkdtempSync(path.join(os.tmpdir(), 'pipeline-docker-'));
    const files = (await execa('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repo })).stdout.split('\0');
    for (const f of files.filter((f) => f !== '' && existsSync(path.join(repo, f)))) {
      mkdirSync(path.dirname(path.join(work, f)), { recursive: true });
      cpSync(path.join(repo, f), path.join(work, f));
    }
    symlinkSync(path.join(repo, 'node_modules'), path.join(work, 'node_modules'));
    const tsc = await execa(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: work,
      reject: false,
      all: true,
    });
    if (tsc.exitCode !== 0) throw new Error(`tsc failed in the copy:\n${tail(tsc.all ?? '')}`);
    const pipe = await host(['run', '--set', `load.source=${dataFile}`], { all: true });
    if (pipe.exitCode !== 0) throw new Error(`the pipeline failed in the copy (exit ${pipe.exitCode}):\n${tail(pipe.all ?? '')}`);

    // 3. The image.
    const build = await run(['build', '--network', 'host', '--tag', image, work], { all: true });
    if (build.exitCode !== 0) throw new Error(`docker build failed (exit ${build.exitCode}):\n${tail(build.all ?? '', 40)}`);
    built = true;
  });

  after(async function () {
    if (built) await run(['rmi', '--force', image]);
    // Keep build-stage layers a day for the next run's cache, no longer.
    if (engineStarted || systemEngine) await run(['image', 'prune', '--force', '--filter', 'until=24h']);
    if (engineStarted) {
      const stopped = await execa('bash', [engineScript, 'stop'], { reject: false, all: true });
      if (stopped.exitCode !== 0) throw new Error(`scripts/docker-engine.sh stop failed:\n${tail(stopped.all ?? '')}`);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs as the non-root user node (uid 1000) and holds only the artifacts predict needs', async () => {
    const r = await run(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', image, '-c', 'id -u; find build -type f | sort']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const [uid, ...files] = r.stdout.trim().split('\n');
    expect(uid).to.equal('1000');
    expect(files).to.include.members(['build/data/summary.json', 'build/data/test.bin', 'build/model/model.json']);
    expect(files.filter((f) => f.startsWith('build/quant/q8/')).length).to.be.greaterThan(0);
    expect(files.filter((f) => f.startsWith('build/quant/q16/')).length).to.be.greaterThan(0);
    expect(files.filter((f) => !/^build\/(model|quant)\//.test(f))).to.deep.equal(['build/data/summary.json', 'build/data/test.bin']);
  });

  it('`docker run --rm IMAGE` prints the pipeline metrics and the first 10 rows, as `pipeline predict` does', async () => {
    const r = await run(['run', '--rm', '--network', 'none', image]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const onHost = await host(['predict']);
    expect(onHost.exitCode, onHost.stderr).to.equal(0);
    expect(r.stdout).to.equal(onHost.stdout);

    // The metrics printed are those the predict stage recorded, to the printed precision.
    const recorded = JSON.parse(readFileSync(path.join(work, 'build/predict/metrics.json'), 'utf8')) as {
      models: Record<string, Record<'r2' | 'mse' | 'mae' | 'mape', number>>;
    };
    const lines = r.stdout.split('\n');
    expect(Object.keys(recorded.models)).to.include('float');
    for (const [model, m] of Object.entries(recorded.models)) {
      const row = lines.find((l) => l.trim().split(/[\s|]+/).filter(Boolean)[0] === model);
      expect(row, `a metrics row for ${model} in:\n${r.stdout}`).to.not.equal(undefined);
      const cells = row!.trim().split(/[\s|]+/).filter(Boolean);
      expect(cells.slice(1, 5), model).to.deep.equal([m.r2, m.mse, m.mae, m.mape].map((v) => v.toFixed(6)));
    }
    // ...and the first 10 test rows follow.
    const first = lines.findIndex((l) => /^\s*\|?\s*1\s/.test(l));
    expect(first, r.stdout).to.be.greaterThan(0);
    for (let i = 0; i < 10; i++) expect(lines[first + i], r.stdout).to.match(new RegExp(`^\\s*\\|?\\s*${i + 1}\\s`));
  });

  it('`docker run --rm -i IMAGE predict --input -` scores CSV rows from stdin like `pipeline predict --input rows.csv`', async () => {
    writeFileSync(path.join(work, 'rows.csv'), CSV);
    const onHost = await host(['predict', '--input', 'rows.csv']);
    expect(onHost.exitCode, onHost.stderr).to.equal(0);
    const r = await run(['run', '--rm', '-i', '--network', 'none', image, 'predict', '--input', '-'], { input: CSV });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(onHost.stdout);
    expect(r.stdout.trim().split('\n')).to.have.length(ROWS.length + 1);
  });

  it('scores JSON rows from stdin with a quantized model like the host does', async () => {
    const json = JSON.stringify(ROWS.map((r) => Object.fromEntries(FEATURES.map((f, i) => [f, r[i]]))));
    writeFileSync(path.join(work, 'rows.json'), json);
    const onHost = await host(['predict', '--model', 'q8', '--input', 'rows.json', '--format', 'json']);
    expect(onHost.exitCode, onHost.stderr).to.equal(0);
    const r = await run(
      ['run', '--rm', '-i', '--network', 'none', image, 'predict', '--model', 'q8', '--input', '-', '--format', 'json'],
      { input: json },
    );
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(onHost.stdout);
    expect(JSON.parse(r.stdout)).to.have.length(ROWS.length);
  });

  it('refuses a bad row from stdin with its row and column and exit code 2', async () => {
    const bad = CSV.replace('2401', 'many');
    const r = await run(['run', '--rm', '-i', '--network', 'none', image, 'predict', '--input', '-'], { input: bad });
    expect(r.exitCode).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/row 2\b/);
    expect(r.stderr).to.contain('Population');
  });
});
