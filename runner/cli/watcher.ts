// The files `pipeline watch` watches, on chokidar 4: fs.watch underneath (inotify here), an event about a
// millisecond after the write, pure JavaScript with one dependency. (@parcel/watcher holds every event for its 50 ms
// debounce and ships its binary as an optional dependency that `npm install --omit=optional` leaves out; chokidar 5
// and later need a newer Node.) chokidar 4 has no globs: folders are watched with what is below them, and a glob dep
// by the folder it starts from (watch-inputs.ts). Changes are collected as keys (watch-inputs.ts `keyOf`) and
// handed on once none came for `debounceMs`. A change whose file has the very stat the runner left it with (the
// pipeline.lock it wrote, a dep a stage rewrote, see `own`) is dropped: it is no edit of the user's.
import { existsSync, statSync, watch as watchFolder, type FSWatcher as FolderWatcher } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { keyOf } from './watch-inputs.js';

/** A file's identity and state: what a write changes (a folder's is the same whatever happens in it). */
export function statSignature(abs: string): string | undefined {
  try {
    const st = statSync(abs, { bigint: true });
    return st.isDirectory() ? 'folder' : `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** Longer than chokidar's 50 ms throttle of `change` events of one path. */
const RECHECK_MS = 60;

/**
 * The paths to watch for a file that is not there (yet): its nearest folder that exists, and the first missing path
 * below it (the file, or the folder it will be made in). chokidar 4 given a missing path says `ready` before it has
 * started watching for it (a file made at once is missed), and one chokidar watching nested folders one level deep
 * merges them (the inner one's entries are too deep), so each such folder gets fs.watch of its own: one level, in
 * place when the call returns, and only the awaited entries count.
 */
function whereMissing(abs: string): { folder: string; entry: string } {
  let entry = abs;
  let folder = path.dirname(abs);
  while (!existsSync(folder) && path.dirname(folder) !== folder) [entry, folder] = [folder, path.dirname(folder)];
  return { folder, entry };
}

export class ChangeWatcher {
  private watcher: FSWatcher | undefined;
  /** The folders of paths that do not exist, watched one level deep for those paths alone. */
  private missing: FolderWatcher[] = [];
  private watched = '';
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  /** Key → the stat the runner left the file with: a change that leaves exactly that is not a change. */
  private readonly own = new Map<string, string | undefined>();
  /** Key → the look at its stat again after chokidar's throttle window. */
  private readonly rechecks = new Map<string, NodeJS.Timeout>();
  /** Key → its stat when the change was taken to be planned. */
  private readonly taken = new Map<string, string | undefined>();
  /** Called whenever a batch has settled (while a run is under way, to stop the stages it concerns). */
  onSettle: (() => void) | undefined;

  constructor(
    private readonly root: string,
    private readonly debounceMs: number,
    private ignored: (key: string) => boolean,
  ) {}

  /** Watch exactly these absolute paths from now on; resolves once the watcher is ready to report changes. */
  async set(paths: readonly string[], ignored: (key: string) => boolean): Promise<void> {
    this.ignored = ignored;
    const list = [...new Set(paths)].sort();
    // Which of them exist counts too: a file deleted since is watched again from its folder, so its return is seen.
    const state = list.map((p) => `${existsSync(p) ? '+' : '-'}${p}`).join('\n');
    if (state === this.watched && this.watcher) return;
    this.closeMissing();
    await this.watcher?.close();
    this.watched = state;
    const present = list.filter((p) => existsSync(p));
    const absent = list.filter((p) => !existsSync(p)).map(whereMissing);
    // Called for every path chokidar meets, folders on the way included; the runner's own files never count.
    this.watcher = await this.started(watch(present, { ignoreInitial: true, persistent: true, ignored: (p: string) => this.ignored(keyOf(this.root, p)) }));
    const entries = new Set(absent.map((m) => m.entry).filter((p) => !this.ignored(keyOf(this.root, p))));
    for (const folder of new Set(absent.map((m) => m.folder))) {
      try {
        const w = watchFolder(folder, { persistent: true }, (_event, name) => {
          const p = name === null ? undefined : path.join(folder, name.toString());
          if (p !== undefined && entries.has(p)) this.changed(p);
        });
        w.on('error', () => undefined);
        this.missing.push(w);
      } catch {
        // an unreadable folder: what would appear in it cannot be seen
      }
    }
  }

  private closeMissing(): void {
    for (const w of this.missing) w.close();
    this.missing = [];
  }

  private async started(watcher: FSWatcher): Promise<FSWatcher> {
    for (const type of ['add', 'change', 'unlink', 'unlinkDir'] as const) watcher.on(type, (p: string) => this.changed(p));
    // An error (a folder that became unreadable) is no reason to stop watching the rest.
    watcher.on('error', () => undefined);
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    return watcher;
  }

  /** A change the engine saw (an input that changed while its stage ran), whether or not an event reported it. */
  note(abs: string): void {
    this.changed(abs);
  }

  /** The file as the runner left it: a change event that finds it so is dropped. */
  remember(abs: string): void {
    const key = keyOf(this.root, abs);
    this.own.set(key, statSignature(abs));
    this.taken.set(key, this.own.get(key));
  }

  private changed(abs: string): void {
    const key = keyOf(this.root, path.resolve(abs));
    if (this.ignored(key)) return;
    this.pending.add(key);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.settle(), this.debounceMs);
    this.recheck(key, path.resolve(abs));
  }

  /**
   * chokidar drops a second `change` of a path within 50 ms of the first (and fs.watch events within 5 ms), with
   * no trailing event: a save right after another would be lost. So the file's stat is looked at again once that
   * window is over, and a difference is a change.
   */
  private recheck(key: string, abs: string): void {
    if (this.rechecks.has(key)) return;
    this.rechecks.set(
      key,
      setTimeout(() => {
        this.rechecks.delete(key);
        // Still waiting to be planned: the plan will read it as it is. Taken: changed since the plan took it?
        if (!this.pending.has(key) && this.taken.has(key) && statSignature(abs) !== this.taken.get(key)) this.changed(abs);
      }, RECHECK_MS),
    );
  }

  private settle(): void {
    this.timer = undefined;
    if (this.peek().length === 0) return;
    this.onSettle?.();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The changes settled and not taken yet (those that left a file as the runner left it dropped). */
  peek(): string[] {
    if (this.timer) return [];
    for (const key of this.pending) {
      if (this.own.has(key) && this.own.get(key) === statSignature(path.resolve(this.root, key))) this.pending.delete(key);
    }
    return [...this.pending].sort();
  }

  /** The settled changes, taken. */
  take(): string[] {
    const keys = this.peek();
    for (const k of keys) {
      this.pending.delete(k);
      this.taken.set(k, statSignature(path.resolve(this.root, k)));
    }
    return keys;
  }

  /** Forget these changes (a stage's own writes). */
  drop(keys: readonly string[]): void {
    for (const k of keys) {
      this.pending.delete(k);
      this.taken.set(k, statSignature(path.resolve(this.root, k)));
    }
  }

  /** Resolves when changes have settled (at once if some are waiting), or when `stop` aborts. */
  async next(stop: AbortSignal): Promise<void> {
    if (this.peek().length > 0 || stop.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        stop.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      stop.addEventListener('abort', done);
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    for (const t of this.rechecks.values()) clearTimeout(t);
    this.rechecks.clear();
    this.closeMissing();
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
