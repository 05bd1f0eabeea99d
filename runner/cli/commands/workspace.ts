// Commands a workspace adds (`commands:` in pipeline.yaml): `pipeline NAME args…` bundles the module like a
// stage's and calls its default export in this process with argv and the standard streams.
import type { GlobalOptions } from '../options.js';
import type { CommandFunction } from '../../public/command.js';
import { openEngineWarned as openEngine } from './warnings.js';
import { UsageError, suggestion } from '../../core/errors.js';
import { pathToFileURL } from 'node:url';
import { configFor } from './common.js';

export async function workspaceCommand(globals: GlobalOptions, name: string, argv: string[], builtins: string[]): Promise<number> {
  const config = await configFor(globals);
  const module = config.commands[name];
  if (!module) {
    const known = [...builtins, ...Object.keys(config.commands)];
    throw new UsageError(`unknown command \`${name}\`${suggestion(name, known)}`, `commands: ${known.filter((k) => k !== 'help').join(', ')}`);
  }
  const engine = openEngine(config);
  const code = await engine.code.closure(module);
  const bundle = await engine.code.bundlePath(module, code);
  engine.code.save();
  const mod = (await import(pathToFileURL(bundle).href)) as { default?: unknown };
  if (typeof mod.default !== 'function') {
    throw new UsageError(`command \`${name}\`: ${module} has no default-exported function`, 'export default async function (ctx) { … } returning an exit code');
  }
  const result = await (mod.default as CommandFunction)({
    workspace: config.root,
    argv,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  });
  return typeof result === 'number' ? result : 0;
}
