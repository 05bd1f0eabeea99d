// Appending lines to a workspace's .gitignore: `init` (the state folder, the local params file, the starter outs)
// and `run` (the outs of stages added later). A line already there, with or without its leading `/` or trailing `/`,
// is never added again.
import { existsSync, lstatSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { PipelineConfig } from '../config/types.js';
import type { RunSummary } from '../exec/events.js';

/** The text of a folder's .gitignore ('' when absent), and which lines it has. */
function gitignoreLines(dir: string): { text: string; has: (line: string) => boolean } {
  const file = path.join(dir, '.gitignore');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const present = new Set(text.split(/\r?\n/).map((l) => l.trim()));
  // `/build/x` and `build/x` name the same file here; `.pipeline` and `.pipeline/` the same folder.
  const has = (line: string) => present.has(line) || present.has(line.replace(/^\//, '')) || present.has(line.replace(/\/$/, ''));
  return { text, has };
}

/** Appends the missing lines to .gitignore (created when absent); returns the lines added. */
export function updateGitignore(dir: string, wanted: string[]): string[] {
  const file = path.join(dir, '.gitignore');
  const { text, has } = gitignoreLines(dir);
  const added = [...new Set(wanted)].filter((l) => !has(l));
  if (added.length > 0) {
    const sep = text.length === 0 || text.endsWith('\n') ? '' : '\n';
    writeFileSync(file, `${text}${sep}${added.join('\n')}\n`);
  }
  return added;
}

/**
 * After a run, as DVC does: the outs of the stages that ran (or were restored) go into the workspace's .gitignore,
 * unless git tracks them (a committed out is never ignored) or ignores them already, `gitignore: false` is set, or the workspace is not in a
 * git repository (or git is not installed). One `git ls-files` for all of them, and none when no stage wrote outs
 * (a run that found everything fresh costs nothing). Returns the lines added.
 */
export function ignoreOuts(config: PipelineConfig, summary: RunSummary | undefined): string[] {
  if (config.gitignore === false || summary === undefined) return [];
  const wrote = new Set(summary.stages.filter((s) => s.outcome.kind === 'ran' || s.outcome.kind === 'restored').map((s) => s.name));
  // A name with a newline cannot be written as a .gitignore line.
  const outs = [...new Set(config.stages.filter((s) => wrote.has(s.name)).flatMap((s) => s.outs))].filter((o) => !/[\r\n]/.test(o));
  if (outs.length === 0) return [];
  // Nothing git could answer would add a line: every out's line is there already, or no git work tree can hold the
  // workspace (a run's own process fork and git's start, on every run that wrote outs, saved).
  if (!mayBeInWorkTree(config.root) || linesPresent(config.root, outs.map(ignoreLine))) return [];
  // One call answers both questions: `-c` lists what git tracks (tag `H`, …), `-o --exclude-standard` what is
  // untracked and not ignored yet (tag `?`); an out with neither is already ignored (by a line or a wider pattern).
  const args = ['--literal-pathspecs', 'ls-files', '-z', '-t', '--cached', '--others', '--exclude-standard', '--', ...outs];
  const git = spawnSync('git', args, { cwd: config.root, encoding: 'buffer', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
  if (git.error !== undefined || git.status !== 0) return []; // not a git repository, or no git: left alone
  const listed = git.stdout.toString('utf8').split('\0').filter((f) => f.length > 2).map((f) => ({ tracked: !f.startsWith('?'), file: f.slice(2) }));
  const under = (out: string, file: string) => file === out || file.startsWith(`${out}/`);
  // A committed out (or a folder out with anything committed in it) is never ignored.
  const wanted = outs.filter((o) => listed.some((l) => !l.tracked && under(o, l.file)) && !listed.some((l) => l.tracked && under(o, l.file)));
  return updateGitignore(config.root, wanted.map(ignoreLine));
}

/** Whether .gitignore has every one of these lines already (false when it cannot be read: git is asked, as before). */
function linesPresent(dir: string, lines: string[]): boolean {
  try {
    const { has } = gitignoreLines(dir);
    return lines.every(has);
  } catch {
    return false;
  }
}

/** Variables that point git at a repository or work tree other than the one it would find by looking up. */
const GIT_LOCATION = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_COMMON_DIR', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY'];

/**
 * Whether git, started in `dir`, could find a work tree there: false only when no variable points it elsewhere and
 * no folder from `dir` up to / (as written and with symlinks resolved, as git's own search walks it) holds a `.git`
 * (folder, file or symlink) or is itself a repository's folder (`HEAD`, `objects`, `refs`). Where in doubt, true:
 * git is asked.
 */
export function mayBeInWorkTree(dir: string): boolean {
  if (GIT_LOCATION.some((name) => process.env[name] !== undefined)) return true;
  const present = (p: string) => {
    try {
      return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
    } catch {
      return true; // unreadable: in doubt
    }
  };
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return true;
  }
  for (const start of new Set([path.resolve(dir), real])) {
    for (let d = start; ; d = path.dirname(d)) {
      if (present(path.join(d, '.git')) || (present(path.join(d, 'HEAD')) && present(path.join(d, 'objects')) && present(path.join(d, 'refs')))) return true;
      if (path.dirname(d) === d) break;
    }
  }
  return false;
}

/** The .gitignore line that matches exactly this workspace-relative path: anchored, its pattern characters escaped. */
export function ignoreLine(out: string): string {
  return `/${out.replace(/[\\*?[\]!#]/g, '\\$&').replace(/ $/, '\\ ')}`;
}
