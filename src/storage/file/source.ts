import { open, type FileHandle } from 'node:fs/promises';

import { assertValidRange } from '../range.js';
import { emptyStats, type SourceStats, type StorageSource } from '../stats.js';
import type { ReadOptions } from '../types.js';
import { fileError } from './errors.js';

/** Largest single positioned read. */
const MAX_READ_BYTES = 1 << 30;

/**
 * A local file read with positioned reads on one FileHandle, opened on first use.
 *
 * fs reads cannot be cancelled mid-call, so the signal is checked before and after each one; a
 * local read is short enough that this is the whole of "cancellable" here.
 */
export class FileSource implements StorageSource {
  readonly stats: SourceStats = emptyStats();
  private handle: Promise<FileHandle> | undefined;
  private knownSize: number | undefined;
  private closed = false;

  /**
   * @param url the URL as the user gave it, for messages
   * @param path the absolute local path it resolved to
   */
  constructor(
    readonly url: string,
    private readonly path: string,
  ) {}

  async size(options: ReadOptions = {}): Promise<number> {
    options.signal?.throwIfAborted();
    if (this.knownSize !== undefined) return this.knownSize;
    const handle = await this.open();
    try {
      this.stats.requests++;
      const stat = await handle.stat();
      this.knownSize = stat.size;
      return stat.size;
    } catch (err) {
      throw fileError(this.url, err);
    }
  }

  async read(offset: number, length: number, options: ReadOptions = {}): Promise<Uint8Array> {
    assertValidRange(this.url, offset, length);
    options.signal?.throwIfAborted();
    if (length === 0) return new Uint8Array(0);
    // Never allocate past the end of the file, whatever a caller (or a hostile header) asks for.
    const wanted = Math.max(0, Math.min(length, (await this.size(options)) - offset));
    if (wanted === 0) return new Uint8Array(0);
    const handle = await this.open();
    const out = new Uint8Array(wanted);
    let filled = 0;
    try {
      // A positioned read may return fewer bytes than asked before EOF (network file systems), so loop;
      // each call asks for at most 1 GiB, as fs reads take 32-bit lengths.
      while (filled < wanted) {
        this.stats.requests++;
        const chunk = Math.min(wanted - filled, MAX_READ_BYTES);
        const { bytesRead } = await handle.read(out, filled, chunk, offset + filled);
        this.stats.bytes += bytesRead;
        if (bytesRead === 0) break;
        filled += bytesRead;
        options.signal?.throwIfAborted();
      }
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw fileError(this.url, err);
    }
    options.signal?.throwIfAborted();
    return filled === wanted ? out : out.slice(0, filled);
  }

  async close(): Promise<void> {
    this.closed = true;
    const handle = this.handle;
    this.handle = undefined;
    if (handle === undefined) return;
    // A failed open has nothing to close.
    const opened = await handle.catch(() => undefined);
    await opened?.close();
  }

  private open(): Promise<FileHandle> {
    if (this.closed) return Promise.reject(fileError(this.url, new Error('source is closed')));
    if (this.handle === undefined) {
      const opening = open(this.path, 'r').catch((err: unknown) => {
        // Forget the failure so a later call (after the file appears) tries again.
        if (this.handle === opening) this.handle = undefined;
        throw fileError(this.url, err);
      });
      this.handle = opening;
    }
    return this.handle;
  }
}
