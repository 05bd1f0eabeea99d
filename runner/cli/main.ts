// The `pipeline` command line. Each command's implementation is imported only when that command runs,
// so start-up stays lean. Exit codes: 0 ok, 1 a stage failed or the run failed once stages began, 2 usage or
// config error, 3 a gate failed, 4 the workspace is busy (with --no-wait), 130 interrupted.
import type * as CommanderModule from 'commander';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BusyError, ConfigError, ExitCode, UsageError, suggestion } from '../core/errors.js';
import { BUILTIN_COMMANDS } from '../config/schema.js';
import { isCommandError } from '../public/command.js';
import { RunError } from '../exec/failure.js';
import type { RunFlags } from './commands/run.js';
import type { WatchFlags } from './commands/watch.js';
import type { GlobalOptions } from './options.js';
import type { FreshRecorder } from '../report/fresh.js';
import { addExpCommands } from './exp-commands.js';

// commander is CommonJS: require() loads it a few ms faster than the ESM wrapper, on every command.
const { Command, CommanderError, InvalidArgumentError, Option } = createRequire(import.meta.url)('commander') as typeof CommanderModule;

export type { GlobalOptions };

function positiveInt(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('expected a positive whole number, e.g. --jobs 4');
  return Number(value);
}

function nonNegativeInt(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('expected a whole number, e.g. --keep-runs 10');
  return Number(value);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The version in the package's package.json: the nearest one above this file (from runner/ or dist/runner/). */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return 'unknown';
      dir = parent;
    }
  }
}

const BUILTINS = new Set<string>(BUILTIN_COMMANDS);

/** The first word that is not an option (or an option's value): the command. */
function commandWord(argv: string[]): { index: number; word?: string } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-C' || a === '--config') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return { index: i, word: a };
  }
  return { index: -1 };
}

/** The program with every command, as `pipeline help` shows it: what docs/cli.md's command table is written from. */
export function commandProgram(): CommanderModule.Command {
  const program = newProgram([]);
  const cli: Cli = { program, globals: () => ({ cwd: process.cwd() }), exit: () => undefined };
  addCommands(cli);
  return program;
}

/** The groups of commands, in the order `pipeline help` lists them. */
const GROUPS: ((cli: Cli) => void)[] = [addRunCommands, addInspectCommands, addStoreCommands, addCiCommands, (cli) => addExpCommands(cli, { positiveInt, collect })];

/**
 * The commands, up to the group that has `word` when one does (setting up every command's options costs a few ms
 * that `pipeline run` need not pay); all of them for help, a version, or a word no group has (so commander's
 * "unknown command" and its suggestions see them all).
 */
function addCommands(cli: Cli, word?: string): void {
  for (const add of GROUPS) {
    add(cli);
    if (word !== undefined && cli.program.commands.some((c) => c.name() === word || c.aliases().includes(word))) return;
  }
}

export async function main(argv: string[], fresh?: FreshRecorder): Promise<number> {
  let code: number = ExitCode.ok;
  const program = newProgram(argv);
  const cli: Cli = {
    program,
    globals: () => {
      const o = program.opts<Partial<GlobalOptions>>();
      return { cwd: o.cwd ?? process.cwd(), config: o.config, fresh };
    },
    exit: (c) => {
      code = c;
    },
  };
  const { index, word } = commandWord(argv);
  const asksHelp = argv.some((a) => a === '-h' || a === '--help' || a === '-V' || a === '--version');
  addCommands(cli, asksHelp ? undefined : word);

  try {
    if (word === 'help') checkHelpTopic(argv.slice(index + 1));
    if (word !== undefined && !BUILTINS.has(word)) {
      // A command the workspace provides (`commands:` in pipeline.yaml), e.g. `pipeline predict`.
      program.parseOptions(argv.slice(0, index));
      const { workspaceCommand } = await import('./commands/workspace.js');
      return await workspaceCommand(cli.globals(), word, argv.slice(index + 1), [...BUILTINS]);
    }
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    return reportError(err);
  }
}

/** What the commands' actions need: the program, the global options, and where an action leaves its exit code. */
interface Cli {
  program: CommanderModule.Command;
  globals(): GlobalOptions;
  exit(code: number): void;
}

/**
 * The program with its global options, help texts and version; the commands are added by the functions below. Named
 * `pipeline` whichever of its two names (`pipeline`, `pipeline-dag`) started it: every usage line, hint and document
 * says `pipeline …`, and both names are installed together.
 */
function newProgram(argv: string[]): CommanderModule.Command {
  return new Command('pipeline')
    .description('Run a workflow as a DAG of stages; cache every output by content hash; re-run only what changed.')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current folder)')
    .option('--config <file>', 'the pipeline file (default: pipeline.yaml here or in a parent folder)')
    // package.json is read only when the version is asked for: no file reads on every command's path.
    .version(argv.includes('--version') || argv.includes('-V') ? packageVersion() : '', '-V, --version', 'print the version')
    .showHelpAfterError('(run `pipeline help` for usage)')
    .addHelpText(
      'after',
      '\nA workspace adds its own commands under `commands:` in pipeline.yaml; run them as `pipeline NAME [args]`.\n' +
        '\n`pipeline-dag` (the package\'s name) is another name of this command: `npx pipeline-dag …` cannot start another\n' +
        'package, where `npx pipeline …` run outside a project that installs pipeline-dag fetches an unrelated one.\n' +
        '\nExit codes: 0 ok, 1 a stage failed, 2 usage or config error, 3 a gate failed, 4 workspace busy (--no-wait), 130 interrupted.',
    )
    .exitOverride();
}

/** Commands that run stages or judge them: init, run, update, status. */
function addRunCommands(cli: Cli): void {
  cli.program
    .command('init')
    .description('write a commented starter pipeline.yaml (a cmd stage and a module stage) and stages/hello.ts here, and add .pipeline/, pipeline.local.yaml and the outs to .gitignore; never overwrites (exit 2)')
    .action(async () => {
      const { initCommand } = await import('./commands/init.js');
      cli.exit(initCommand(cli.globals()));
    });

  cli.program
    .command('run')
    .description('run the named stages and whatever they need (every stage when none is named)')
    .argument('[stages...]', 'stages to run')
    .option('-f, --force', 're-execute the named stages even if fresh (all selected stages when none is named)')
    .option('--single', 'only the named stages; their inputs must exist or be restorable from the cache')
    .option('--downstream', 'the named stages and everything after them')
    .option('-n, --dry-run', 'print the plan and the reason for each stage (`maybe`: runs only if an upstream that must run changes its outs); execute and write nothing')
    .option('-j, --jobs <n>', 'stages to run at once (default: CPU count)', positiveInt)
    .option('-s, --set <stage.key=value>', 'override a param, the value parsed as YAML (repeatable): `key=v` the global param (a stage\'s own value still wins), `stage.key=v` one stage\'s, `template.key=v` every expansion\'s; over pipeline.local.yaml', collect, [])
    .option('-k, --keep-going', 'after a failure, keep starting stages that do not depend on it')
    .option('--json', 'print one JSON object describing the run on stdout (progress goes to stderr)')
    .option('-v, --verbose', "replay the captured output of cached stages")
    .option('-q, --quiet', 'do not print the output of stages that ran')
    .option('--no-wait', 'fail with exit code 4 instead of waiting when another run holds the workspace')
    .option('--pull', 'take from the remote cache what a stage can restore instead of executing it')
    .option('--no-pull', 'do not pull, even when `remote:` sets `pull: true`')
    .option('--push', 'upload the results of the run that the remote cache lacks')
    .option('--no-push', 'do not push, even when `remote:` sets `push: true`')
    .addOption(new Option('--executor <name>', 'where stages run: local processes or one Slurm job each (default: `executor:` in pipeline.yaml, else local)').choices(['local', 'slurm']))
    .addOption(
      new Option('--slurm-mode <mode>', 'with the slurm executor (implied): `jobs`, one batch job per stage, or `steps`, each stage a job step of the allocation the run is in (default: `slurm: {mode}` in pipeline.yaml, else jobs)').choices(['jobs', 'steps']),
    )
    .option('--slurm-group-chains', 'with the slurm executor in job mode: each chain of stages (each needing only the one before it) runs in one batch job, as if its stages had one `group:`')
    .option('-u, --update', 'first ask the servers of URL deps whether their data changed (as `pipeline update`)')
    .action(async (stages: string[], opts: RunFlags) => {
      const { runCommand } = await import('./commands/run.js');
      cli.exit(await runCommand(cli.globals(), stages, opts));
    });

  cli.program
    .command('update')
    .description('ask the servers of URL deps whether their data changed (ETag, Last-Modified, size, sha256 of the body); the only command that does')
    .argument('[stages...]', 'stages whose URL deps to check (default: all)')
    .option('-s, --set <stage.key=value>', 'as with run', collect, [])
    .action(async (stages: string[], opts: { set: string[] }) => {
      const { updateCommand } = await import('./commands/update.js');
      cli.exit(await updateCommand(cli.globals(), stages, opts));
    });

  cli.program
    .command('watch')
    .description('run the named stages (every stage when none is named), then again whenever a file they read changes; Ctrl-C to stop')
    .argument('[stages...]', 'stages to run and watch, with whatever they need')
    .option('-s, --set <stage.key=value>', 'as with run', collect, [])
    .option('-j, --jobs <n>', 'stages to run at once (default: CPU count)', positiveInt)
    .option('--json', 'print every event as one JSON object per line on stdout (progress goes to stderr)')
    .option('-q, --quiet', 'do not print the output of stages that ran')
    .option('--debounce <ms>', 'quiet time after a change before planning again (default: 30)', nonNegativeInt, 30)
    .action(async (stages: string[], opts: WatchFlags) => {
      const { watchCommand } = await import('./commands/watch.js');
      cli.exit(await watchCommand(cli.globals(), stages, opts));
    });

  cli.program
    .command('status')
    .description('each stage fresh or stale, with every reason (`--json`: {"schemaVersion", "stages": [{"name", "state", "reasons"}]})')
    .argument('[stages...]', 'stages to report (default: all)')
    .option('-s, --set <stage.key=value>', 'as with run: judge against overridden params', collect, [])
    .option('--json', 'print JSON')
    .option('--exit-code', 'exit 1 when any stage is stale (for scripts and CI)')
    .option('--remote', 'also say which stale stages the remote cache can restore (asks the remote)')
    .action(async (stages: string[], opts: Parameters<typeof import('./commands/status.js').statusCommand>[2]) => {
      const { statusCommand } = await import('./commands/status.js');
      cli.exit(await statusCommand(cli.globals(), stages, opts));
    });
}

/** Commands that read the file and the last results: dag, metrics, validate, schema. */
function addInspectCommands(cli: Cli): void {
  cli.program
    .command('dag')
    .description('print the stage graph (`ascii` draws boxes laid out in layers and lists below it the needs another path implies; `json` keeps every edge)')
    .addOption(new Option('--format <format>', 'output format').choices(['ascii', 'mermaid', 'dot', 'json']).default('ascii'))
    .action(async (opts: Parameters<typeof import('./commands/info.js').dagCommand>[1]) => {
      const { dagCommand } = await import('./commands/info.js');
      cli.exit(await dagCommand(cli.globals(), opts));
    });

  // `metrics diff [REV_A [REV_B]]` is an argument, not a subcommand: commander gives the options after a subcommand
  // to its parent when both declare them (`--json`, `--all`), so one command takes both forms.
  cli.program
    .command('metrics')
    .description('show the metrics files of every stage; `metrics diff [REV_A [REV_B]]` compares them at git revisions (default: HEAD against the workspace)')
    .argument('[diff...]', '`diff` then REV_A [REV_B]: commits, branches or tags (REV_B default: the workspace)')
    .option('--json', 'print JSON')
    .option('--diff', "compare with the metrics before the last change (changed values only)")
    .option('--all', 'with --diff or diff: show unchanged values too')
    .option('--pull', "with diff: fetch from the remote cache the metrics objects a revision's lock records and the store lacks")
    .action(async (words: string[], opts: Parameters<typeof import('./commands/info.js').metricsCommand>[1] & { pull?: boolean }) => {
      if (words.length > 0 && words[0] !== 'diff') {
        throw new UsageError(`\`pipeline metrics\` takes no argument \`${words[0]}\``, 'compare at git revisions with `pipeline metrics diff [REV_A [REV_B]]`, with the run before with `pipeline metrics --diff`');
      }
      if (words.length === 0) {
        if (opts.pull) throw new UsageError('--pull goes with `pipeline metrics diff`', 'e.g. `pipeline metrics diff HEAD~1 --pull`');
        const { metricsCommand } = await import('./commands/info.js');
        cli.exit(await metricsCommand(cli.globals(), opts));
        return;
      }
      if (opts.diff) throw new UsageError('`metrics diff` and `--diff` are two comparisons: choose one', '`--diff` compares with the run before; `diff REV_A [REV_B]` compares git revisions');
      const { metricsDiffCommand } = await import('./commands/revdiff.js');
      cli.exit(await metricsDiffCommand(cli.globals(), words.slice(1), opts));
    });

  cli.program
    .command('params')
    .description('params of the stages')
    .command('diff')
    .description('compare the params each stage runs with at two git revisions, or at one and the workspace (default: HEAD against the workspace)')
    .argument('[revs...]', 'REV_A [REV_B]: commits, branches or tags (REV_B default: the workspace)')
    .option('--json', 'print JSON')
    .option('--all', 'show unchanged params too')
    .option('-s, --set <stage.key=value>', 'as with run: the workspace side with overridden params', collect, [])
    .action(async (revs: string[], opts: import('./commands/revdiff.js').RevDiffFlags) => {
      const { paramsDiffCommand } = await import('./commands/revdiff.js');
      cli.exit(await paramsDiffCommand(cli.globals(), revs, opts));
    });

  cli.program
    .command('validate')
    .description('check pipeline.yaml and exit 0 when it is valid; every error is reported at once')
    .option('--json', 'print {"schemaVersion": 1, "ok": ..., "diagnostics": [...]} on stdout')
    .option('-s, --set <stage.key=value>', 'as with run: check overridden params too', collect, [])
    .option('--env', 'also list, per stage, the variables of this environment it does not get (names only)')
    .action(async (opts: { json?: boolean; set: string[]; env?: boolean }) => {
      const { validateCommand } = await import('./commands/info.js');
      cli.exit(await validateCommand(cli.globals(), opts));
    });

  cli.program
    .command('schema')
    .description('print the JSON Schema of pipeline.yaml (for editor completion)')
    .action(async () => {
      const { pipelineJsonSchema } = await import('../config/schema.js');
      process.stdout.write(`${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`);
    });
}

/** Commands on the store and the remote cache: gc, cache verify, fingerprint, push, pull. */
function addStoreCommands(cli: Cli): void {
  cli.program
    .command('gc')
    .description('remove what no workspace\'s pipeline.lock, none of this workspace\'s last N runs, nothing used within DAYS and no running run needs')
    .option('--keep-runs <n>', "this workspace's last N runs whose outputs to keep", nonNegativeInt, 10)
    .option('--max-age <days>', 'keep what any workspace used within this many days (0: only what is referenced)', nonNegativeInt, 7)
    .option('-n, --dry-run', 'report what would be removed')
    .option('--remote', 'collect the remote cache instead: remove what no kept record references (folder and S3 remotes)')
    .option('--older-than <age>', 'with --remote: only what is older than this (45s, 90m, 12h, 30d, 2w; default 30d)')
    .action(async (opts: Parameters<typeof import('./commands/maintenance.js').gcCommand>[1]) => {
      const { gcCommand } = await import('./commands/maintenance.js');
      cli.exit(await gcCommand(cli.globals(), opts));
    });

  const cache = cli.program.command('cache').description('inspect the content-addressed store');
  cache
    .command('verify')
    .description('re-hash every object, report dangling run records, unsafe folder manifests and lock entries that disagree with the declared outs; exit 1 on any problem')
    .option('--repair', 'remove corrupt objects and dangling run records')
    .option('--json', 'print JSON')
    .action(async (opts: Parameters<typeof import('./commands/maintenance.js').verifyCommand>[1]) => {
      const { verifyCommand } = await import('./commands/maintenance.js');
      cli.exit(await verifyCommand(cli.globals(), opts));
    });

  cli.program
    .command('fingerprint')
    .description("print a stage's fingerprint for its current inputs (for CI cache keys); for a template, `FINGERPRINT  NAME` per expansion")
    .argument('<stage>')
    .action(async (stage: string) => {
      const { fingerprintCommand } = await import('./commands/info.js');
      cli.exit(await fingerprintCommand(cli.globals(), stage));
    });

  cli.program
    .command('push')
    .description('upload the results pipeline.lock records (all stages, or the named ones) to the remote cache')
    .argument('[stages...]', 'stages to push (default: all)')
    .action(async (stages: string[]) => {
      const { pushCommand } = await import('./commands/remote.js');
      cli.exit(await pushCommand(cli.globals(), stages));
    });

  cli.program
    .command('pull')
    .description('download the results pipeline.lock records from the remote cache and put the outs in the workspace')
    .argument('[stages...]', 'stages to pull (default: all)')
    .action(async (stages: string[]) => {
      const { pullCommand } = await import('./commands/remote.js');
      cli.exit(await pullCommand(cli.globals(), stages));
    });
}

/** `pipeline ci generate` and `ci check`. */
function addCiCommands(cli: Cli): void {
  const ci = cli.program.command('ci').description('GitHub Actions workflow mirroring the DAG');
  for (const sub of ['generate', 'check'] as const) {
    ci.command(sub)
      .description(sub === 'generate' ? 'write .github/workflows/pipeline.yml from pipeline.yaml' : 'exit 1 with a diff when the committed workflow is out of date')
      .action(async () => {
        const { ciCommand } = await import('./commands/maintenance.js');
        cli.exit(await ciCommand(cli.globals(), sub));
      });
  }
}

/** `pipeline help NAME` for a NAME that is no built-in command: an error, not the general help. */
function checkHelpTopic(rest: string[]): void {
  const topic = rest.find((a) => !a.startsWith('-'));
  if (topic === undefined || BUILTINS.has(topic)) return;
  const known = [...BUILTINS].filter((b) => b !== 'help');
  throw new UsageError(
    `no help for \`${topic}\`: it is not a built-in command${suggestion(topic, known)}`,
    `commands: ${known.join(', ')}; a command from \`commands:\` in pipeline.yaml documents itself: \`pipeline ${topic} --help\``,
  );
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return ExitCode.usage;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(err.format());
    return err.exitCode;
  }
  // A failure during a run outside any one stage (pipeline.lock cannot be written): exit 1, not 2.
  if (err instanceof UsageError || err instanceof RunError || isCommandError(err)) {
    process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    return err.exitCode;
  }
  if (err instanceof BusyError) {
    process.stderr.write(`error: ${err.message}\nhint: wait for it to finish, or run without --no-wait to queue behind it\n`);
    return err.exitCode;
  }
  process.stderr.write(`internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return ExitCode.stageFailed;
}
