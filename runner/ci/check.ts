// `pipeline ci generate` writes the workflow that pipeline.yaml generates; `pipeline ci check` fails with a diff when
// the committed workflow differs from it (hand edits belong in the `ci:` section of pipeline.yaml).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { ExitCode, UsageError } from '../core/errors.js';
import type { PipelineConfig } from '../config/types.js';
import { WORKFLOW_PATH, generateWorkflow } from './generate.js';

async function unifiedDiff(file: string, expected: string, actual: string): Promise<string> {
  const { createTwoFilesPatch } = await import('diff');
  return createTwoFilesPatch(`${file} (committed)`, `${file} (generated)`, actual, expected, undefined, undefined, {
    context: 3,
  })
    .split('\n')
    .filter((line) => !line.startsWith('===='))
    .join('\n');
}

export interface CiOptions {
  config: PipelineConfig;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** `pipeline ci generate` writes the workflow; `pipeline ci check` exits 1 with a diff when it is out of date. */
export async function runCi(subcommand: 'generate' | 'check', opts: CiOptions): Promise<number> {
  const { config, stdout, stderr } = opts;
  const file = path.join(config.root, WORKFLOW_PATH);
  if (subcommand !== 'generate' && subcommand !== 'check') {
    throw new UsageError(`unknown ci command \`${String(subcommand)}\``, 'use `pipeline ci generate` or `pipeline ci check`');
  }
  const expected = generateWorkflow(config);
  if (subcommand === 'generate') {
    const before = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (before === expected) {
      stdout.write(`${WORKFLOW_PATH} is up to date\n`);
    } else {
      writeFileAtomic(file, expected);
      stdout.write(`wrote ${WORKFLOW_PATH} (${config.stages.length} stage jobs)\n`);
    }
    return ExitCode.ok;
  }
  if (!existsSync(file)) {
    stderr.write(`${WORKFLOW_PATH} does not exist; run \`npx pipeline ci generate\` and commit it\n`);
    return ExitCode.stageFailed;
  }
  const actual = readFileSync(file, 'utf8');
  if (actual === expected) {
    stdout.write(`${WORKFLOW_PATH} matches pipeline.yaml\n`);
    return ExitCode.ok;
  }
  stderr.write(`${WORKFLOW_PATH} differs from what pipeline.yaml generates:\n`);
  stderr.write(await unifiedDiff(WORKFLOW_PATH, expected, actual));
  stderr.write(`\nrun \`npx pipeline ci generate\` to rewrite it (hand edits belong in the \`ci:\` section of pipeline.yaml)\n`);
  return ExitCode.stageFailed;
}
