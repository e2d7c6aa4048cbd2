import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { StorageError } from '../errors.js';
import type { ByteSink } from '../types.js';
import { ensureDirectory } from './directories.js';
import { fileError } from './errors.js';

/**
 * Writes a local file atomically: bytes go to `.<name>.partial-<random>` beside the target, which is
 * renamed over it on `close()`. Readers therefore see the old file or the whole new one, never half;
 * and the temp file shares the target's file system, so the rename cannot turn into a copy.
 */
export class FileSink implements ByteSink {
  private state: 'open' | 'closed' | 'aborted' = 'open';

  private constructor(
    readonly url: string,
    private readonly path: string,
    /** The temporary file, beside the target. */
    readonly partialPath: string,
    private readonly handle: FileHandle,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Creates parent folders and the temporary file. */
  static async create(url: string, path: string, signal?: AbortSignal): Promise<FileSink> {
    signal?.throwIfAborted();
    const dir = dirname(path);
    const partialPath = join(dir, `.${basename(path)}.partial-${randomBytes(6).toString('hex')}`);
    // A directory at the target would only fail at the final rename, after all the work: refuse it now.
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isDirectory()) throw new StorageError('ERR_IS_DIRECTORY', url, `Cannot write ${url}: it is a directory`);
    await ensureDirectory(dir, { url });
    try {
      // `wx`: never share a temp file with another writer, however unlikely the name clash.
      const handle = await open(partialPath, 'wx');
      return new FileSink(url, path, partialPath, handle, signal);
    } catch (err) {
      throw fileError(url, err);
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen('write');
    this.signal?.throwIfAborted();
    try {
      let written = 0;
      while (written < chunk.byteLength) {
        const { bytesWritten } = await this.handle.write(chunk, written, chunk.byteLength - written);
        written += bytesWritten;
      }
    } catch (err) {
      throw fileError(this.url, err);
    }
  }

  async close(): Promise<void> {
    this.assertOpen('close');
    this.signal?.throwIfAborted();
    this.state = 'closed';
    try {
      // Flush before the rename, or a crash could leave a complete-looking name over missing bytes.
      await this.handle.sync();
      await this.handle.close();
      await rename(this.partialPath, this.path);
    } catch (err) {
      await rm(this.partialPath, { force: true }).catch(() => undefined);
      throw fileError(this.url, err);
    }
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.handle.close().catch(() => undefined);
    await rm(this.partialPath, { force: true });
  }

  private assertOpen(operation: string): void {
    if (this.state !== 'open') {
      throw new StorageError('ERR_SINK_CLOSED', this.url, `Cannot ${operation} ${this.url}: the sink is already ${this.state}`);
    }
  }
}
