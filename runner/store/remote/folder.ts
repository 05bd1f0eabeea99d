// A remote on a shared filesystem: <root>/cas/ab/<sha256>, <root>/ac/ab/<fingerprint>. Writes go to a temp file
// in <root>/tmp and are renamed into place, so a reader never sees half an object.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { displayUrl } from '../../core/url-credentials.js';
import { RemoteError, type Backend, type ListedBlob, type Namespace, type ProgressFn, progressCounter } from './backend.js';

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

  async download(ns: Namespace, key: string, file: string, onProgress?: ProgressFn): Promise<boolean> {
    if (!(await this.has(ns, key))) return false;
    const source = this.file(ns, key);
    const total = (await stat(source)).size;
    const counter = progressCounter(total, onProgress);
    try {
      await pipeline(createReadStream(source), counter, createWriteStream(file));
    } catch (err) {
      this.fail(err, `reading ${ns}/${key}`);
    }
    return true;
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
      const counter = progressCounter(size, onProgress);
      await pipeline(createReadStream(file), counter, createWriteStream(tmp, { flags: 'wx' }));
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

  async *list(ns: Namespace): AsyncIterable<ListedBlob> {
    await this.present();
    const top = path.join(this.root, ns);
    const shards = await readdir(top).catch(() => [] as string[]);
    for (const shard of shards.sort()) {
      const names = await readdir(path.join(top, shard)).catch(() => [] as string[]);
      for (const key of names.sort()) {
        if (key.includes('.tmp') || key.startsWith('.')) continue;
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
