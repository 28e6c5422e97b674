import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Where uploaded bytes live, by key (a generated name, never the user's). Shaped for an
 * S3-compatible store as well as the local disk: a streamed put that leaves nothing behind when
 * it fails, ranged reads, and deletes.
 */
export interface FileStorage {
  /** Stores the stream under `key`; resolves once it is whole and durable. On failure nothing is left. */
  put(key: string, body: Readable): Promise<void>;
  /** The bytes under `key`, or the inclusive range of them. */
  get(key: string, range?: { start: number; end: number }): Readable;
  delete(key: string): Promise<void>;
}

const KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Files under one directory that every gateway shares (a shared volume): `<dir>/<first two
 * characters>/<key>`. A put streams into `<dir>/tmp/` and is renamed into place once flushed, so a
 * half-written file is never visible under its key, and a failed one is removed.
 */
export class LocalDiskStorage implements FileStorage {
  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<LocalDiskStorage> {
    await mkdir(join(dir, 'tmp'), { recursive: true });
    return new LocalDiskStorage(dir);
  }

  private path(key: string): string {
    if (!KEY.test(key)) throw new Error(`not a storage key: ${key}`);
    return join(this.dir, key.slice(0, 2), key);
  }

  async put(key: string, body: Readable): Promise<void> {
    const final = this.path(key);
    const partial = join(this.dir, 'tmp', `${key}.${randomBytes(4).toString('hex')}.part`);
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx', flush: true }));
      await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
      await rename(partial, final);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  get(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.path(key), range);
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
