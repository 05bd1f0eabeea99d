// A side of a revision diff: pipeline.yaml and pipeline.lock as a git revision has them (read with `git cat-file`,
// nothing checked out), or the workspace as it is. The workspace may be a subfolder of the repository: its files are
// found under `git rev-parse --show-prefix`.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { ConfigError, UsageError } from '../../core/errors.js';
import { parseConfigText } from '../../config/load.js';
import { interpolate } from '../../config/interpolate.js';
import type { PipelineConfig } from '../../config/types.js';
import { LOCK_FILE, LockFile } from '../../store/lockfile.js';

/** The workspace's place in its git repository. */
export interface GitPlace {
  /** The workspace folder (where git runs). */
  root: string;
  /** The workspace's path inside the repository, with a trailing slash, or '' at the top. */
  prefix: string;
}

/** One side of a diff: a commit's files, or the workspace. */
export type Side = { kind: 'revision'; rev: string; commit: string; config: PipelineConfig; lock: LockFile } | { kind: 'workspace' };

/** What a side is called in tables and JSON: the revision as typed, or `workspace`. */
export function sideName(side: Side): string {
  return side.kind === 'revision' ? side.rev : 'workspace';
}

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

function git(cwd: string, args: string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        if (err.code === 'ENOENT') reject(new UsageError('`git` is not installed or not on PATH', 'install git: revisions are read through it'));
        else reject(new Error(`git: ${err.message}`));
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';

/** The workspace's place in its repository; a usage error when it is in none. */
export async function gitPlace(root: string): Promise<GitPlace> {
  const r = await git(root, ['rev-parse', '--show-prefix']);
  if (r.code !== 0) {
    throw new UsageError(`${root} is not in a git repository (git: ${firstLine(r.stderr)})`, 'revisions are read from git: run this inside a clone, or `git init` and commit pipeline.yaml and pipeline.lock');
  }
  return { root, prefix: r.stdout.trim() };
}

/** The commit a revision names; git's own message when it names none. */
async function resolveCommit(place: GitPlace, rev: string): Promise<string> {
  const r = await git(place.root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
  if (r.code === 0) return r.stdout.trim();
  const why = await git(place.root, ['rev-parse', '--end-of-options', rev]);
  const said = firstLine(why.stderr) || `fatal: \`${rev}\` is not a commit`;
  throw new UsageError(`unknown revision \`${rev}\` (git: ${said})`, 'name a commit, branch or tag: `git log --oneline` lists them (default: HEAD against the workspace)');
}

/** A file's text at a commit, or undefined when the commit has no such file. */
async function fileAt(place: GitPlace, commit: string, file: string): Promise<string | undefined> {
  const spec = `${commit}:${place.prefix}${file}`;
  const exists = await git(place.root, ['cat-file', '-e', spec]);
  if (exists.code !== 0) return undefined;
  const r = await git(place.root, ['cat-file', 'blob', spec]);
  if (r.code !== 0) throw new UsageError(`cannot read ${place.prefix}${file} at ${commit} (git: ${firstLine(r.stderr)})`);
  return r.stdout;
}

/** pipeline.yaml and pipeline.lock at a revision; exit 2 naming the path and revision when either is absent or broken. */
export async function revisionSide(place: GitPlace, rev: string, configName: string): Promise<Side> {
  const commit = await resolveCommit(place, rev);
  const read = async (name: string) => {
    const text = await fileAt(place, commit, name);
    if (text === undefined) {
      throw new UsageError(
        `revision \`${rev}\` (${commit.slice(0, 12)}) has no ${place.prefix}${name}`,
        name === LOCK_FILE ? 'commit pipeline.lock after a run (it records what each stage read and wrote), or name a later revision' : 'name a revision that has the pipeline',
      );
    }
    return text;
  };
  const [yaml, lockText] = [await read(configName), await read(LOCK_FILE)];
  // Messages name the file as `REV:path`, so a problem is never taken for one in the workspace's own file.
  const label = (name: string) => `${rev}:${place.prefix}${name}`;
  let config: PipelineConfig;
  try {
    config = interpolate(parseConfigText(yaml, path.join(place.root, configName)));
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`${label(configName)} is not a valid pipeline: ${err.message.split('\n')[0]}`, 'name another revision');
    throw err;
  }
  return { kind: 'revision', rev, commit, config, lock: LockFile.parse(label(LOCK_FILE), lockText) };
}
