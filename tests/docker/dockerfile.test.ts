// The Dockerfile and .dockerignore, checked offline: dockerfile-utils' validator finds nothing, and the image is
// built the way the project promises (two node:20-slim stages, no tag `latest`, no digest or syntax directive that
// would make a build contact a registry, a non-root user in the final stage, the predict entry point).
import { expect } from 'chai';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const froms = dockerfile.getFROMs();
const lastFrom = froms[froms.length - 1];
const finalStage = instructions.filter((i) => i.getRange().start.line > lastFrom.getRange().start.line);
const args = (keyword: string, list = instructions) =>
  list.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');

describe('Dockerfile (offline lint)', () => {
  it('passes dockerfile-utils validate() with no diagnostics', () => {
    const diagnostics = validate(text).map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${typeof d.message === 'string' ? d.message : d.message.value}`);
    expect(diagnostics).to.deep.equal([]);
  });

  it('has two stages, both FROM node:20-slim, without digest, `latest` or --platform/--pull flags', () => {
    expect(froms).to.have.length(2);
    for (const from of froms) {
      expect(from.getImageName()).to.equal('node');
      expect(from.getImageTag()).to.equal('20-slim');
      expect(from.getImageDigest()).to.equal(null);
      expect(from.getFlags()).to.deep.equal([]);
    }
    expect(froms[0].getBuildStage()).to.equal('build');
    expect(text).not.to.match(/:latest\b/);
  });

  it('has no parser directive (a `# syntax=` line would pull a frontend image)', () => {
    expect(dockerfile.getDirectives()).to.deep.equal([]);
    expect(text).not.to.match(/^#\s*syntax\s*=/im);
  });

  it('builds with dev dependencies and tsc, then installs production dependencies only', () => {
    const buildStage = instructions.filter(
      (i) => i.getRange().start.line > froms[0].getRange().start.line && i.getRange().start.line < lastFrom.getRange().start.line,
    );
    expect(args('RUN', buildStage)).to.deep.equal(['npm ci --ignore-scripts --no-audit --no-fund', 'npm run build']);
    expect(args('RUN', finalStage)[0]).to.match(/^npm ci --omit=dev --ignore-scripts /);
    const copies = finalStage.filter((i) => i.getKeyword() === 'COPY').map((i) => i.getTextContent());
    expect(copies).to.include('COPY --from=build /app/dist ./dist');
  });

  it('packs the model artifacts predict reads', () => {
    const copies = args('COPY', finalStage);
    expect(copies).to.include.members([
      'pipeline.yaml ./',
      'build/model ./build/model',
      'build/quant ./build/quant',
      'build/data/test.bin build/data/summary.json ./build/data/',
    ]);
  });

  it('runs as the non-root user `node` in the final stage, and ends with the predict entry point', () => {
    const users = args('USER', finalStage);
    expect(users).to.deep.equal(['node']);
    const lastUser = finalStage.filter((i) => i.getKeyword() === 'USER').pop();
    const lastRun = finalStage.filter((i) => i.getKeyword() === 'RUN').pop();
    expect(lastUser!.getRange().start.line).to.be.greaterThan(lastRun!.getRange().start.line);
    expect(args('ENTRYPOINT', finalStage)).to.deep.equal(['["node", "bin/pipeline.js"]']);
    expect(args('CMD', finalStage)).to.deep.equal(['["predict"]']);
  });
});

describe('.dockerignore', () => {
  const file = path.join(root, '.dockerignore');
  const lines = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
    : [];

  it('exists and keeps the heavy and private folders out of the build context', () => {
    expect(existsSync(file)).to.equal(true);
    expect(lines).to.include.members(['node_modules', '.git', '.pipeline', 'dist', 'tests', 'bench', 'reports', 'build']);
  });

  it('lets in exactly the artifacts the image needs, and nothing the Dockerfile copies is excluded', () => {
    expect(lines.filter((l) => l.startsWith('!'))).to.deep.equal([
      '!scripts/build-cli.mjs',
      '!build/model',
      '!build/quant',
      '!build/data/test.bin',
      '!build/data/summary.json',
    ]);
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'runner', 'stages', 'bin', 'pipeline.yaml']) {
      expect(lines, needed).not.to.include(needed);
      expect(lines.some((l) => !l.startsWith('!') && (l === '*' || l === needed.split('.')[0] + '.*' || l === '*.json' || l === '*.yaml')), needed).to.equal(false);
    }
  });
});
