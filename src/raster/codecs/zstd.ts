import zstd from 'zstd-napi/binding.js';
import type { CCtx, DCtx } from 'zstd-napi/binding.js';
import { BlockLayoutError, CorruptBlockError, describeCause } from './errors.js';

/**
 * ZSTD (TIFF 50000) through zstd-napi's thin binding rather than its high-level `decompress`, which
 * trusts the frame header's content size and would allocate whatever a hostile header claims. Here the
 * output buffer is sized from the block layout and streaming decompression stops when it is full.
 */

// One context each, reused: creating them costs more than a small tile's decompression. Calls are
// synchronous, so sharing is safe; each worker thread loads its own copy of this module.
let dctx: DCtx | undefined;
let cctx: CCtx | undefined;

/**
 * Decompresses `src` into at most `limit` bytes. Like libtiff, stops at the end of the first frame or
 * when the output is full, so trailing bytes are ignored; may return fewer than `limit` bytes.
 */
export function zstdDecompress(src: Uint8Array, limit: number, where: string, what = 'ZSTD'): Uint8Array {
  dctx ??= new zstd.DCtx();
  const out = new Uint8Array(limit);
  let inPos = 0;
  let outPos = 0;
  try {
    dctx.reset(zstd.ResetDirective.sessionOnly);
    while (outPos < limit && inPos < src.length) {
      const [hint, produced, consumed] = dctx.decompressStream(out.subarray(outPos), src.subarray(inPos));
      outPos += produced;
      inPos += consumed;
      if (hint === 0) break; // frame complete
      if (produced === 0 && consumed === 0) break; // truncated: zstd needs bytes we do not have
    }
  } catch (err) {
    // The context may be mid-frame; drop it rather than trust its state next time.
    dctx = undefined;
    throw new CorruptBlockError(where, `${what} stream is corrupt: ${describeCause(err)}`, { cause: err });
  }
  return out.subarray(0, outPos);
}

/** GDAL's ZSTD_LEVEL default. */
export const DEFAULT_ZSTD_LEVEL = 9;

/** Throws unless `level` is a ZSTD level we write (1..22). */
export function checkZstdLevel(level: number, where: string): void {
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new BlockLayoutError(where, `layout.level for ZSTD must be an integer 1..22 (got ${String(level)})`);
  }
}

/** Compresses `src` as one ZSTD frame. */
export function zstdCompress(src: Uint8Array, level: number): Uint8Array {
  cctx ??= new zstd.CCtx();
  const out = new Uint8Array(zstd.compressBound(src.length));
  const n = cctx.compress(out, src, level);
  return out.slice(0, n);
}
