// `pipeline init`: a commented starter pipeline in the current folder (one `cmd:` stage, one `module:` stage and
// the module it runs), with `.pipeline/` and the outs added to .gitignore. It never overwrites a file.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { GlobalOptions } from '../options.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { STARTER_CONFIG, STARTER_MODULE, STARTER_MODULE_PATH } from './init-template.js';
import { LOCAL_PARAMS_FILE } from '../../config/local-params.js';
import { updateGitignore } from '../gitignore.js';

const CONFIG_NAMES = ['pipeline.yaml', 'pipeline.yml'];

/** The lines .gitignore needs: the engine's state folder, the machine-local params file and every out of the starter stages. */
function ignoreLines(): string[] {
  const config = parse(STARTER_CONFIG) as { stages: Record<string, { outs?: string[] }> };
  return ['.pipeline/', `/${LOCAL_PARAMS_FILE}`, ...Object.values(config.stages).flatMap((s) => (s.outs ?? []).map((o) => `/${o}`))];
}

const rel = (f: string) => path.relative(process.cwd(), f) || '.';

export function initCommand(globals: GlobalOptions): number {
  const dir = path.resolve(globals.cwd);
  if (!existsSync(dir)) throw new UsageError(`${dir} does not exist`, 'create the folder first, or pass an existing one to -C');
  const configFile = path.resolve(dir, globals.config ?? 'pipeline.yaml');
  const existing = [...new Set([configFile, ...CONFIG_NAMES.map((n) => path.join(dir, n))])].find((f) => existsSync(f));
  if (existing) {
    throw new UsageError(`${rel(existing)} already exists; \`pipeline init\` does not overwrite it`, 'edit it, or remove it to start over');
  }
  const moduleFile = path.join(dir, STARTER_MODULE_PATH);
  if (existsSync(moduleFile)) {
    throw new UsageError(`${rel(moduleFile)} already exists; \`pipeline init\` does not overwrite it`, 'move it away, or write pipeline.yaml yourself');
  }
  writeFileSync(configFile, STARTER_CONFIG, { flag: 'wx' });
  mkdirSync(path.dirname(moduleFile), { recursive: true });
  writeFileSync(moduleFile, STARTER_MODULE, { flag: 'wx' });
  const added = updateGitignore(dir, ignoreLines());
  process.stdout.write(
    `wrote ${rel(configFile)} (stages \`greet\`, a cmd stage, and \`hello\`, a module stage) and ${rel(moduleFile)}\n` +
      (added.length > 0 ? `added to .gitignore: ${added.join(' ')}\n` : '.gitignore already ignores .pipeline/ and the outs\n') +
      'next: `npx pipeline run`, then `npx pipeline status`\n',
  );
  return ExitCode.ok;
}
