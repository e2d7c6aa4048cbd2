import { copyBlock, type BlockPlacement } from '../block-copy.js';
import { decodeBlock, encodeBlock, type BlockLayout } from '../codecs/index.js';
import type { TypedArray } from '../dtype.js';

/** Where blocks get compressed and decompressed: in this thread (the default) or in a worker pool. */
export interface CodecRunner {
  /** Decodes one block to little-endian samples; see `decodeBlock`. */
  decode(data: Uint8Array, layout: BlockLayout): Promise<Uint8Array>;
  /**
   * Encodes little-endian samples; see `encodeBlock`. With `transfer`, the caller hands over `samples`
   * (a pool may move its buffer to another thread, leaving it empty here); without, `samples` is untouched.
   */
  encode(samples: Uint8Array, layout: BlockLayout & { level?: number }, options?: { transfer?: boolean }): Promise<Uint8Array>;
  /**
   * Decodes one block and copies its placed pixels into the output bands. A pool does both on a thread
   * when the outputs live on SharedArrayBuffers (see `sharedOutput`), so the pixels never come back.
   */
  decodeInto(data: Uint8Array, layout: BlockLayout, placement: BlockPlacement, out: readonly TypedArray[]): Promise<void>;
  /** True when outputs on SharedArrayBuffers let `decodeInto` write from another thread. */
  readonly sharedOutput?: boolean;
  /** Gets ready for blocks (starts threads) while the caller does I/O; optional. */
  warm?(): void;
}

/** Runs codecs on this thread; zlib's asynchronous calls still spread over libuv's thread pool. */
export const inThreadCodecs: CodecRunner = {
  decode: decodeBlock,
  encode: encodeBlock,
  decodeInto: async (data, layout, placement, out) => copyBlock(await decodeBlock(data, layout), placement, out),
};
