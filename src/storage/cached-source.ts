import { resolveCacheOptions, type CacheOptions, type ResolvedCacheOptions } from './options.js';
import { assertValidRange } from './range.js';
import { SharedTask } from './shared-task.js';
import type { SourceStats, StorageSource } from './stats.js';
import type { ByteSource, ReadOptions } from './types.js';

/** How the block cache has been doing. */
export interface CacheStats {
  /** Blocks served from memory. */
  hits: number;
  /** Blocks that had to be fetched (or joined while another read fetched them). */
  misses: number;
  /** Blocks dropped to stay under `maxBytes`. */
  evictions: number;
}

/**
 * A ByteSource that keeps recently read fixed-size, aligned blocks of another one in memory.
 *
 * Made for the many small reads of a TIFF header and its IFDs: they cluster in the first blocks,
 * so after the first read they cost nothing. Reads spanning more than `maxBlocksPerRead` blocks (tile
 * data) bypass the cache, both because they are rarely read twice and so they cannot flush the small
 * hot blocks out. Concurrent reads of a missing block share one fetch; adjacent missing blocks of
 * one read are fetched in one request.
 */
export class CachedSource implements StorageSource {
  /** Hit, miss and eviction counts of the cache itself. */
  readonly cacheStats: CacheStats = { hits: 0, misses: 0, evictions: 0 };
  /** Blocks in least- to most-recently used order (Map keeps insertion order). */
  private readonly blocks = new Map<number, Uint8Array>();
  private readonly pending = new Map<number, { task: SharedTask<Uint8Array[]>; index: number }>();
  private cachedBytes = 0;
  /** First block index known to lie wholly past the end of the object. */
  private endBlock = Number.POSITIVE_INFINITY;

  private readonly options: ResolvedCacheOptions;

  /** @throws InvalidStorageOptionError when an option is out of range. */
  constructor(
    readonly inner: ByteSource & Partial<Pick<StorageSource, 'stats'>>,
    options: CacheOptions = {},
  ) {
    this.options = resolveCacheOptions(options);
  }

  get url(): string {
    return this.inner.url;
  }

  /** The backend traffic of the wrapped source: what the cache did not save. */
  get stats(): Readonly<SourceStats> {
    return this.inner.stats ?? { requests: 0, bytes: 0 };
  }

  size(options?: ReadOptions): Promise<number> {
    return this.inner.size(options);
  }

  async read(offset: number, length: number, options: ReadOptions = {}): Promise<Uint8Array> {
    assertValidRange(this.url, offset, length);
    options.signal?.throwIfAborted();
    if (length === 0) return new Uint8Array(0);
    const { blockSizeBytes } = this.options;
    const first = Math.floor(offset / blockSizeBytes);
    const last = Math.floor((offset + length - 1) / blockSizeBytes);
    if (last - first + 1 > this.options.maxBlocksPerRead || this.options.maxBytes < blockSizeBytes) {
      return this.inner.read(offset, length, options);
    }

    const blocks = await this.blocksFor(first, Math.min(last, this.endBlock - 1), options.signal);
    return assemble(blocks, offset - first * blockSizeBytes, length);
  }

  async close(): Promise<void> {
    this.blocks.clear();
    this.cachedBytes = 0;
    await this.inner.close();
  }

  /** Blocks first..last (fewer if the object ends sooner), from memory, joined fetches or new fetches. */
  private async blocksFor(first: number, last: number, signal: AbortSignal | undefined): Promise<Uint8Array[]> {
    const waits: Promise<Uint8Array | undefined>[] = [];
    let run: number[] = [];
    let runWaits: number[] = [];
    // Adjacent blocks that nobody is fetching yet become one inner read.
    const flushRun = (): void => {
      if (run.length === 0) return;
      const task = this.fetchRun(run);
      runWaits.forEach((slot, i) => (waits[slot] = task.join(signal).then((blocks) => blocks[i])));
      run = [];
      runWaits = [];
    };
    for (let index = first; index <= last; index++) {
      const hit = this.blocks.get(index);
      if (hit !== undefined) {
        // Re-insert to mark as most recently used.
        this.blocks.delete(index);
        this.blocks.set(index, hit);
        this.cacheStats.hits++;
        flushRun();
        waits.push(Promise.resolve(hit));
        continue;
      }
      this.cacheStats.misses++;
      const pending = this.pending.get(index);
      if (pending !== undefined && !pending.task.abandoned) {
        flushRun();
        waits.push(pending.task.join(signal).then((blocks) => blocks[pending.index]));
        continue;
      }
      run.push(index);
      runWaits.push(waits.length);
      waits.push(Promise.resolve(undefined)); // placeholder, replaced by flushRun
    }
    flushRun();
    const got = await Promise.all(waits);
    const out: Uint8Array[] = [];
    for (const block of got) {
      if (block === undefined) break;
      out.push(block);
      // A short block is the object's last; nothing after it exists.
      if (block.byteLength < this.options.blockSizeBytes) break;
    }
    return out;
  }

  /** Starts one inner read for adjacent missing blocks and registers it for every block in it. */
  private fetchRun(indexes: number[]): SharedTask<Uint8Array[]> {
    const { blockSizeBytes } = this.options;
    const first = indexes[0] ?? 0;
    const forget = (): void => {
      for (const index of indexes) if (this.pending.get(index)?.task === task) this.pending.delete(index);
    };
    const task: SharedTask<Uint8Array[]> = new SharedTask<Uint8Array[]>(async (signal) => {
      try {
        const bytes = await this.inner.read(first * blockSizeBytes, indexes.length * blockSizeBytes, { signal });
        const blocks = indexes.map((_, i) => bytes.subarray(i * blockSizeBytes, (i + 1) * blockSizeBytes));
        blocks.forEach((block, i) => this.store(first + i, block));
        return blocks;
      } finally {
        forget();
      }
    }, forget);
    indexes.forEach((index, i) => this.pending.set(index, { task, index: i }));
    return task;
  }

  private store(index: number, block: Uint8Array): void {
    const { blockSizeBytes, maxBytes } = this.options;
    if (block.byteLength < blockSizeBytes) this.endBlock = Math.min(this.endBlock, index + (block.byteLength === 0 ? 0 : 1));
    if (block.byteLength === 0) return;
    // Own copy, so a caller's view into the fetched buffer never pins more than its block.
    const own = block.slice();
    const previous = this.blocks.get(index);
    if (previous !== undefined) {
      this.cachedBytes -= previous.byteLength;
      this.blocks.delete(index);
    }
    this.blocks.set(index, own);
    this.cachedBytes += own.byteLength;
    while (this.cachedBytes > maxBytes) {
      const oldest = this.blocks.keys().next();
      if (oldest.done === true) break;
      this.cachedBytes -= this.blocks.get(oldest.value)?.byteLength ?? 0;
      this.blocks.delete(oldest.value);
      this.cacheStats.evictions++;
    }
  }
}

/** Copies `length` bytes at `start` within the concatenation of `blocks` (fewer if they run out). */
function assemble(blocks: Uint8Array[], start: number, length: number): Uint8Array {
  const available = blocks.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(Math.max(0, Math.min(length, available - start)));
  let skip = start;
  let at = 0;
  for (const block of blocks) {
    if (at >= out.byteLength) break;
    if (skip >= block.byteLength) {
      skip -= block.byteLength;
      continue;
    }
    const part = block.subarray(skip, skip + out.byteLength - at);
    out.set(part, at);
    at += part.byteLength;
    skip = 0;
  }
  return out;
}
