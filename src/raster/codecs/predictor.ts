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
  // One loop per element type keeps each call site monomorphic (a union-typed array runs ~2x slower).
  if (bps === 1) undoRows8(bytes, rowSamples, samples, spp);
  else if (bps === 2) undoRows16(new Uint16Array(bytes.buffer, bytes.byteOffset, samples), rowSamples, spp);
  else undoRows32(new Uint32Array(bytes.buffer, bytes.byteOffset, samples), rowSamples, spp);
}

// Typed-array stores wrap modulo 2^bits, which is exactly the modular sum the predictor needs.
function undoRows8(a: Uint8Array, rowSamples: number, samples: number, spp: number): void {
  for (let start = 0; start < samples; start += rowSamples) {
    const end = start + rowSamples;
    for (let i = start + spp; i < end; i++) a[i] = a[i]! + a[i - spp]!;
  }
}

function undoRows16(a: Uint16Array, rowSamples: number, spp: number): void {
  if (spp === 1) {
    // One band (the common case): a running sum in a register halves the memory traffic.
    for (let start = 0; start < a.length; start += rowSamples) {
      const end = start + rowSamples;
      let acc = a[start]!;
      for (let i = start + 1; i < end; i++) {
        acc = (acc + a[i]!) & 0xffff;
        a[i] = acc;
      }
    }
    return;
  }
  for (let start = 0; start < a.length; start += rowSamples) {
    const end = start + rowSamples;
    for (let i = start + spp; i < end; i++) a[i] = a[i]! + a[i - spp]!;
  }
}

function undoRows32(a: Uint32Array, rowSamples: number, spp: number): void {
  for (let start = 0; start < a.length; start += rowSamples) {
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
  if (bps === 1) applyRows8(bytes, rowSamples, samples, spp);
  else if (bps === 2) applyRows16(new Uint16Array(bytes.buffer, bytes.byteOffset, samples), rowSamples, spp);
  else applyRows32(new Uint32Array(bytes.buffer, bytes.byteOffset, samples), rowSamples, spp);
}

// Backwards through each row, so each difference reads its left neighbour before that is overwritten.
function applyRows8(a: Uint8Array, rowSamples: number, samples: number, spp: number): void {
  for (let start = 0; start < samples; start += rowSamples) {
    for (let i = start + rowSamples - 1; i >= start + spp; i--) a[i] = a[i]! - a[i - spp]!;
  }
}

function applyRows16(a: Uint16Array, rowSamples: number, spp: number): void {
  for (let start = 0; start < a.length; start += rowSamples) {
    for (let i = start + rowSamples - 1; i >= start + spp; i--) a[i] = a[i]! - a[i - spp]!;
  }
}

function applyRows32(a: Uint32Array, rowSamples: number, spp: number): void {
  for (let start = 0; start < a.length; start += rowSamples) {
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
  const words = bps === 4 || bps === 8 ? new Uint32Array(bytes.buffer, bytes.byteOffset, (rowBytes * height) / 4) : undefined;
  for (let row = 0; row < height; row++) {
    const off = row * rowBytes;
    // Undo the byte differencing into the scratch row, which then holds bps planes of wc bytes,
    // plane 0 the most significant byte of every sample; the planes are interleaved back below.
    if (spp === 1) {
      let acc = 0;
      for (let j = 0; j < rowBytes; j++) tmp[j] = acc = (acc + bytes[off + j]!) & 255;
    } else {
      for (let j = 0; j < spp; j++) tmp[j] = bytes[off + j]!;
      for (let j = spp; j < rowBytes; j++) tmp[j] = bytes[off + j]! + tmp[j - spp]!;
    }
    if (bps === 4) interleave4(tmp, words!, off / 4, wc);
    else if (bps === 8) interleave8(tmp, words!, off / 4, wc);
    else {
      for (let k = 0; k < wc; k++) {
        const o = off + k * bps + bps - 1;
        for (let p = 0; p < bps; p++) bytes[o - p] = tmp[p * wc + k]!;
      }
    }
  }
}

function interleave4(planes: Uint8Array, words: Uint32Array, at: number, wc: number): void {
  for (let k = 0; k < wc; k++) {
    words[at + k] = (planes[k]! << 24) | (planes[wc + k]! << 16) | (planes[2 * wc + k]! << 8) | planes[3 * wc + k]!;
  }
}

function interleave8(planes: Uint8Array, words: Uint32Array, at: number, wc: number): void {
  for (let k = 0; k < wc; k++) {
    // Little-endian: the low word (planes 4..7) comes first.
    words[at + 2 * k + 1] = (planes[k]! << 24) | (planes[wc + k]! << 16) | (planes[2 * wc + k]! << 8) | planes[3 * wc + k]!;
    words[at + 2 * k] = (planes[4 * wc + k]! << 24) | (planes[5 * wc + k]! << 16) | (planes[6 * wc + k]! << 8) | planes[7 * wc + k]!;
  }
}

/** Applies predictor 3 in place to little-endian samples. */
export function applyFloatingPoint(bytes: Uint8Array, shape: PredictorShape): void {
  const { width, height, samplesPerPixel: spp, bytesPerSample: bps } = shape;
  const wc = width * spp;
  const rowBytes = wc * bps;
  const tmp = scratchOf(rowBytes);
  const words = bps === 4 ? new Uint32Array(bytes.buffer, bytes.byteOffset, (rowBytes * height) / 4) : undefined;
  for (let row = 0; row < height; row++) {
    const off = row * rowBytes;
    // Split the row into byte planes, most significant first, in the scratch row...
    if (bps === 4) {
      const at = off / 4;
      for (let k = 0; k < wc; k++) {
        const v = words![at + k]!;
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
    // ...then write the byte differences back into the block.
    for (let j = 0; j < spp; j++) bytes[off + j] = tmp[j]!;
    for (let j = spp; j < rowBytes; j++) bytes[off + j] = tmp[j]! - tmp[j - spp]!;
  }
}
