/**
 * The TIFF predictors, undone after decompression and applied before compression, row by row as
 * libtiff does (a "row" is the block width: a whole tile row, padding included, or an image row of a
 * strip). Every function works in place on a buffer that starts at a multiple of `bytesPerSample`, so
 * the loops can run on typed-array views.
 *
 * Predictor 2 (horizontal differencing) works on integer sample values: `bytes` must already hold
 * little-endian samples (the caller byte-swaps a big-endian file first, as libtiff's swabHorAcc does).
 * Float samples are differenced as integers of the same width, which is what libtiff does too.
 *
 * Predictor 3 (floating point, libtiff's fpAcc/fpDiff) splits each row into byte planes, most
 * significant byte first, and differences the bytes across the row with stride samplesPerPixel. The
 * planes fix the byte order, so the stream is the same whatever the file's byte order: undoing it
 * yields little-endian samples directly, and no byte swap may follow.
 */

/** The shape of the block, in the units the predictors need. */
export interface PredictorShape {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** Samples per pixel (the differencing stride). */
  samplesPerPixel: number;
  /** Bytes per sample: 1, 2, 4 or 8. */
  bytesPerSample: number;
}

/** Undoes predictor 2 in place on little-endian samples. */
export function undoHorizontal(bytes: Uint8Array, shape: PredictorShape): void {
  const { width, height, samplesPerPixel: spp, bytesPerSample: bps } = shape;
  const rowSamples = width * spp;
  const samples = rowSamples * height;
  if (bps === 8) {
    undoHorizontal64(new Uint32Array(bytes.buffer, bytes.byteOffset, samples * 2), rowSamples, height, spp);
    return;
  }
  // Typed-array stores wrap modulo 2^bits, which is exactly the modular sum the predictor needs.
  const a =
    bps === 1
      ? bytes
      : bps === 2
        ? new Uint16Array(bytes.buffer, bytes.byteOffset, samples)
        : new Uint32Array(bytes.buffer, bytes.byteOffset, samples);
  for (let start = 0; start < samples; start += rowSamples) {
    const end = start + rowSamples;
    for (let i = start + spp; i < end; i++) a[i] = a[i]! + a[i - spp]!;
  }
}

/** Applies predictor 2 in place on little-endian samples. */
export function applyHorizontal(bytes: Uint8Array, shape: PredictorShape): void {
  const { width, height, samplesPerPixel: spp, bytesPerSample: bps } = shape;
  const rowSamples = width * spp;
  const samples = rowSamples * height;
  if (bps === 8) {
    applyHorizontal64(new Uint32Array(bytes.buffer, bytes.byteOffset, samples * 2), rowSamples, height, spp);
    return;
  }
  const a =
    bps === 1
      ? bytes
      : bps === 2
        ? new Uint16Array(bytes.buffer, bytes.byteOffset, samples)
        : new Uint32Array(bytes.buffer, bytes.byteOffset, samples);
  for (let start = 0; start < samples; start += rowSamples) {
    // Backwards, so each difference reads its left neighbour before that one is overwritten.
    for (let i = start + rowSamples - 1; i >= start + spp; i--) a[i] = a[i]! - a[i - spp]!;
  }
}

// 64-bit samples as (low, high) word pairs with a carry: BigInt arithmetic would be ~50x slower.
function undoHorizontal64(w: Uint32Array, rowSamples: number, height: number, spp: number): void {
  for (let row = 0; row < height; row++) {
    const start = row * rowSamples;
    const end = start + rowSamples;
    for (let k = start + spp; k < end; k++) {
      const i = 2 * k;
      const j = 2 * (k - spp);
      const lo = w[i]! + w[j]!;
      w[i + 1] = w[i + 1]! + w[j + 1]! + (lo > 0xffffffff ? 1 : 0);
      w[i] = lo;
    }
  }
}

function applyHorizontal64(w: Uint32Array, rowSamples: number, height: number, spp: number): void {
  for (let row = 0; row < height; row++) {
    const start = row * rowSamples;
    for (let k = start + rowSamples - 1; k >= start + spp; k--) {
      const i = 2 * k;
      const j = 2 * (k - spp);
      const lo = w[i]! - w[j]!;
      w[i + 1] = w[i + 1]! - w[j + 1]! - (lo < 0 ? 1 : 0);
      w[i] = lo;
    }
  }
}

/** One row's worth of scratch, grown as needed; safe to share because every user runs synchronously. */
let scratch = new Uint8Array(0);
function scratchOf(n: number): Uint8Array {
  if (scratch.length < n) scratch = new Uint8Array(n);
  return scratch;
}

/** Undoes predictor 3 in place; the result is little-endian samples whatever the file's byte order. */
export function undoFloatingPoint(bytes: Uint8Array, shape: PredictorShape): void {
  const { width, height, samplesPerPixel: spp, bytesPerSample: bps } = shape;
  const wc = width * spp; // samples per row
  const rowBytes = wc * bps;
  const tmp = scratchOf(rowBytes);
  for (let row = 0; row < height; row++) {
    const off = row * rowBytes;
    const end = off + rowBytes;
    for (let i = off + spp; i < end; i++) bytes[i] = bytes[i]! + bytes[i - spp]!;
    tmp.set(bytes.subarray(off, end));
    // tmp now holds bps planes of wc bytes, plane 0 the most significant byte of every sample.
    if (bps === 4) {
      const out = new Uint32Array(bytes.buffer, bytes.byteOffset + off, wc);
      const p1 = wc;
      const p2 = 2 * wc;
      const p3 = 3 * wc;
      for (let k = 0; k < wc; k++) out[k] = (tmp[k]! << 24) | (tmp[p1 + k]! << 16) | (tmp[p2 + k]! << 8) | tmp[p3 + k]!;
    } else if (bps === 8) {
      const out = new Uint32Array(bytes.buffer, bytes.byteOffset + off, 2 * wc);
      for (let k = 0; k < wc; k++) {
        out[2 * k + 1] = (tmp[k]! << 24) | (tmp[wc + k]! << 16) | (tmp[2 * wc + k]! << 8) | tmp[3 * wc + k]!;
        out[2 * k] = (tmp[4 * wc + k]! << 24) | (tmp[5 * wc + k]! << 16) | (tmp[6 * wc + k]! << 8) | tmp[7 * wc + k]!;
      }
    } else {
      for (let k = 0; k < wc; k++) {
        const o = off + k * bps + bps - 1;
        for (let p = 0; p < bps; p++) bytes[o - p] = tmp[p * wc + k]!;
      }
    }
  }
}

/** Applies predictor 3 in place to little-endian samples. */
export function applyFloatingPoint(bytes: Uint8Array, shape: PredictorShape): void {
  const { width, height, samplesPerPixel: spp, bytesPerSample: bps } = shape;
  const wc = width * spp;
  const rowBytes = wc * bps;
  const tmp = scratchOf(rowBytes);
  for (let row = 0; row < height; row++) {
    const off = row * rowBytes;
    if (bps === 4) {
      const src = new Uint32Array(bytes.buffer, bytes.byteOffset + off, wc);
      for (let k = 0; k < wc; k++) {
        const v = src[k]!;
        // Uint8Array stores keep the low 8 bits, so no masking is needed.
        tmp[k] = v >>> 24;
        tmp[wc + k] = v >>> 16;
        tmp[2 * wc + k] = v >>> 8;
        tmp[3 * wc + k] = v;
      }
    } else {
      for (let k = 0; k < wc; k++) {
        const o = off + k * bps + bps - 1;
        for (let p = 0; p < bps; p++) tmp[p * wc + k] = bytes[o - p]!;
      }
    }
    bytes.set(tmp.subarray(0, rowBytes), off);
    for (let i = off + rowBytes - 1; i >= off + spp; i--) bytes[i] = bytes[i]! - bytes[i - spp]!;
  }
}
