// A remote on a shared filesystem: <root>/cas/ab/<sha256>, <root>/ac/ab/<fingerprint>. Writes go to a temp file
// in <root>/tmp and are renamed into place, so a reader never sees half an object. An upload is a file copy (the
// kernel's copy_file_range, or a reflink where the filesystem has them); a download is read once, in large chunks,
// hashed as it is written (ingest.ts).
import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../../core/errors.js';
import { displayUrl } from '../../core/url-credentials.js';
import { RemoteError, type Backend, type ListedBlob, type Namespace, type ProgressFn, progressCounter } from './backend.js';
import { READ_CHUNK, land, readLarge, type Landed } from './ingest.js';

export class FolderBackend implements Backend {
  constructor(readonly root: string) {}

  describe(): string {
    return displayUrl(this.root);
  }

  private file(ns: Namespace, key: string): string {
    return path.join(this.root, ns, key.slice(0, 2), key);
  }

  private fail(err: unknown, action: string): never {
    const e = err as NodeJS.ErrnoException;
    throw new RemoteError(this.describe(), `${action} failed: ${e.code ?? ''} ${e.message}`.trim(), 'permanent', 'check that the folder exists and is writable');
  }

  private async present(): Promise<void> {
    try {
      if (!(await stat(this.root)).isDirectory()) throw new Error('not a folder');
    } catch (err) {
      throw new RemoteError(this.describe(), `not reachable (${(err as Error).message})`, 'permanent', 'create the folder, or mount the shared filesystem');
    }
  }

  async has(ns: Namespace, key: string): Promise<boolean> {
    await this.present();
    try {
      return (await stat(this.file(ns, key))).isFile();
    } catch {
      return false;
    }
  }

  async download(ns: Namespace, key: string, file: string, onProgress?: ProgressFn): Promise<Landed | undefined> {
    await this.present();
    let fh: FileHandle;
    try {
      fh = await open(this.file(ns, key), 'r');
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
      this.fail(err, `reading ${ns}/${key}`);
    }
    const st = await fh.stat().catch(async (err: unknown) => {
      await fh.close().catch(() => undefined);
      this.fail(err, `reading ${ns}/${key}`);
    });
    if (!st.isFile()) {
      await fh.close();
      return undefined;
    }
    try {
      return await land(fh.createReadStream({ highWaterMark: READ_CHUNK }), file, st.size, onProgress);
    } catch (err) {
      // A local failure writing the file (IoError) is not the remote's.
      if (err instanceof UsageError) throw err;
      this.fail(err, `reading ${ns}/${key}`);
    }
  }

  private async place(ns: Namespace, key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    await this.present();
    const target = this.file(ns, key);
    const tmpDir = path.join(this.root, 'tmp');
    const tmp = path.join(tmpDir, `${key.slice(0, 16)}.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(tmpDir, { recursive: true });
      await mkdir(path.dirname(target), { recursive: true });
      await write(tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      this.fail(err, `writing ${ns}/${key}`);
    }
  }

  async upload(ns: Namespace, key: string, file: string, size: number, onProgress?: ProgressFn): Promise<void> {
    await this.place(ns, key, async (tmp) => {
      if (onProgress) await pipeline(readLarge(file), progressCounter(size, onProgress), createWriteStream(tmp, { flags: 'wx' }));
      else await copyFile(file, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    });
  }

  async getBytes(ns: Namespace, key: string): Promise<Buffer | undefined> {
    if (!(await this.has(ns, key))) return undefined;
    try {
      return await readFile(this.file(ns, key));
    } catch (err) {
      this.fail(err, `reading ${ns}/${key}`);
    }
  }

  async putBytes(ns: Namespace, key: string, data: Buffer): Promise<void> {
    await this.place(ns, key, (tmp) => writeFile(tmp, data, { flag: 'wx' }));
  }

  async *list(ns: Namespace, prefix = ''): AsyncIterable<ListedBlob> {
    await this.present();
    const top = path.join(this.root, ns);
    // A key's shard is its first two characters: a prefix of two or more names its one shard.
    const shards = prefix.length >= 2 ? [prefix.slice(0, 2)] : await readdir(top).catch(() => [] as string[]);
    for (const shard of shards.sort()) {
      const names = await readdir(path.join(top, shard)).catch(() => [] as string[]);
      for (const key of names.sort()) {
        if (key.includes('.tmp') || key.startsWith('.') || !key.startsWith(prefix)) continue;
        const st = await stat(path.join(top, shard, key)).catch(() => undefined);
        if (st?.isFile()) yield { key, modified: st.mtime, size: st.size };
      }
    }
  }

  async modified(ns: Namespace, key: string): Promise<Date | undefined> {
    await this.present();
    const st = await stat(this.file(ns, key)).catch(() => undefined);
    return st?.isFile() ? st.mtime : undefined;
  }

  async touch(ns: Namespace, key: string): Promise<boolean> {
    await this.present();
    const now = new Date();
    try {
      await utimes(this.file(ns, key), now, now);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      this.fail(err, `touch ${ns}/${key}`);
    }
  }

  async remove(ns: Namespace, key: string): Promise<void> {
    try {
      await rm(this.file(ns, key), { force: true });
    } catch (err) {
      this.fail(err, `remove ${ns}/${key}`);
    }
  }
}
