// The `exp` command group's command line (the commands are in commands/exp*.ts, loaded on first use).
import type * as CommanderModule from 'commander';
import type { GlobalOptions } from './options.js';
import type { ExpRunFlags } from './commands/exp.js';
import type { ExpShowFlags } from './commands/exp-show.js';

interface Cli {
  program: CommanderModule.Command;
  globals(): GlobalOptions;
  exit(code: number): void;
}

interface Parsers {
  positiveInt: (value: string) => number;
  collect: (value: string, previous: string[]) => string[];
}

export function addExpCommands(cli: Cli, { positiveInt, collect }: Parsers): void {
  const exp = cli.program.command('exp').description('experiments: param sweeps run beside the workspace, recorded and compared');
  exp
    .command('run')
    .description('run the cartesian product of --grid values (with the --set values) in scratch copies; record each variant')
    .option('-s, --set <stage.key=value>', 'override a param in every variant (value parsed as YAML); repeatable', collect, [])
    .option('-g, --grid <stage.key=v1,v2>', 'one variant per value (values parsed as YAML); repeatable: the product of all grids', collect, [])
    .option('--name <name>', 'the experiment name (with several variants, NAME-<hash> each; default exp-<hash of params>)')
    .option('-j, --jobs <n>', 'stages to run at once across all variants (default: CPU count)', positiveInt)
    .option('--json', 'print the records as one JSON object on stdout (progress goes to stderr)')
    .option('--force', 'replace experiments already recorded under the same names')
    .option('--no-wait', 'fail with exit code 4 instead of waiting when another command holds the workspace')
    .action(async (opts: ExpRunFlags) => {
      const { expRunCommand } = await import('./commands/exp.js');
      cli.exit(await expRunCommand(cli.globals(), opts));
    });
  exp
    .command('show')
    .description('a table of the experiments and the workspace: the params that differ and the metrics')
    .option('--json', 'print {schemaVersion, experiments} on stdout')
    .option('--csv', 'print the table as CSV')
    .option('--md', 'print the table as Markdown')
    .option('--sort <metric>', 'sort rows by this metric, highest first: FILE:KEY, or a KEY only one metrics file has')
    .option('--only-changed', 'only the metrics (and in --json the params) that differ between rows; the text table always does so')
    .action(async (opts: ExpShowFlags) => {
      const { expShowCommand } = await import('./commands/exp-show.js');
      cli.exit(await expShowCommand(cli.globals(), opts));
    });
  exp
    .command('diff')
    .description('params and metrics of experiment A beside B (default: the workspace)')
    .argument('<a>', 'an experiment')
    .argument('[b]', 'another experiment (default: the workspace)')
    .option('--json', 'print the differences as JSON')
    .action(async (a: string, b: string | undefined, opts: { json?: boolean }) => {
      const { expDiffCommand } = await import('./commands/exp-show.js');
      cli.exit(await expDiffCommand(cli.globals(), a, b, opts));
    });
  exp
    .command('apply')
    .description("make an experiment the workspace's state: its outs restored, its params written into pipeline.yaml, pipeline.lock updated")
    .argument('<name>', 'the experiment')
    .option('--no-wait', 'fail with exit code 4 instead of waiting when another command holds the workspace')
    .action(async (name: string, opts: { wait: boolean }) => {
      const { expApplyCommand } = await import('./commands/exp-apply.js');
      cli.exit(await expApplyCommand(cli.globals(), name, opts));
    });
  exp
    .command('push')
    .description('upload experiments (all when none is named) and their stage results to the remote cache')
    .argument('[names...]', 'experiments to push')
    .action(async (names: string[]) => {
      const { expPushCommand } = await import('./commands/exp-remote.js');
      cli.exit(await expPushCommand(cli.globals(), names));
    });
  exp
    .command('pull')
    .description("download experiments (all the remote lists when none is named); a record not signed with this command's key is shown but re-run by apply")
    .argument('[names...]', 'experiments to pull')
    .option('--force', 'replace experiments already recorded here under the same names')
    .action(async (names: string[], opts: { force?: boolean }) => {
      const { expPullCommand } = await import('./commands/exp-remote.js');
      cli.exit(await expPullCommand(cli.globals(), names, opts));
    });
  exp
    .command('remove')
    .description('forget experiments (their stored outs become collectable by gc)')
    .argument('[names...]', 'experiments to remove')
    .option('--all', 'remove every experiment')
    .option('--remote', 'remove them from the remote cache instead (a folder or S3 remote; this workspace keeps its own)')
    .action(async (names: string[], opts: { all?: boolean; remote?: boolean }) => {
      if (opts.remote) {
        const { expRemoveRemoteCommand } = await import('./commands/exp-remote.js');
        cli.exit(await expRemoveRemoteCommand(cli.globals(), names, opts));
        return;
      }
      const { expRemoveCommand } = await import('./commands/exp.js');
      cli.exit(await expRemoveCommand(cli.globals(), names, opts));
    });
}
