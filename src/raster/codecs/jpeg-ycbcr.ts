/**
 * YCbCr → RGB the way libjpeg does it for libtiff (and so GDAL): chroma upsampled with libjpeg's
 * "fancy" triangle filter, then its fixed-point colour conversion. jpeg-js replicates chroma samples
 * instead, which puts colour edges off by up to ~20 levels from GDAL; this brings them within the
 * ±1 of IDCT rounding.
 *
 * Input is jpeg-js's output with its colour transform off: Y, Cb, Cr per pixel, chroma replicated
 * over each 2×2 (h2v2) cell. Replication is lossless, so the subsampled chroma planes can be read
 * back from it exactly before upsampling them properly.
 */

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number): number => Math.floor(x * (1 << SCALEBITS) + 0.5);

// libjpeg's jdcolor.c tables, indexed by chroma value 0..255.
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Reads one chroma plane (component `c` of 3) back from its 2×2 replication. */
function subsampled(ycc: Uint8Array, width: number, height: number, c: number): { plane: Uint8Array; cw: number; ch: number } {
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const plane = new Uint8Array(cw * ch);
  for (let cy = 0; cy < ch; cy++) {
    const row = 2 * cy * width;
    for (let cx = 0; cx < cw; cx++) plane[cy * cw + cx] = ycc[(row + 2 * cx) * 3 + c]!;
  }
  return { plane, cw, ch };
}

/**
 * libjpeg's h2v2_fancy_upsample into component `c` of `ycc`, in place. Each output sample is 9/16 of
 * its chroma sample, 3/16 of each nearer neighbour and 1/16 of the diagonal one; the image edges
 * repeat the outermost samples, and the rounding bias alternates (8, 7) as in libjpeg.
 */
function upsampleH2V2(ycc: Uint8Array, width: number, height: number, c: number): void {
  const { plane, cw, ch } = subsampled(ycc, width, height, c);
  const sums = new Int32Array(cw);
  for (let oy = 0; oy < height; oy++) {
    const cy = oy >> 1;
    // Upper output row of a pair blends with the chroma row above, the lower one with the row below.
    const ny = oy & 1 ? Math.min(cy + 1, ch - 1) : Math.max(cy - 1, 0);
    for (let cx = 0; cx < cw; cx++) sums[cx] = 3 * plane[cy * cw + cx]! + plane[ny * cw + cx]!;
    const out = oy * width;
    for (let cx = 0; cx < cw; cx++) {
      const here = sums[cx]!;
      const left = cx === 0 ? here : sums[cx - 1]!;
      const right = cx === cw - 1 ? here : sums[cx + 1]!;
      const x = 2 * cx;
      ycc[(out + x) * 3 + c] = (here * 3 + left + 8) >> 4;
      if (x + 1 < width) ycc[(out + x + 1) * 3 + c] = (here * 3 + right + 7) >> 4;
    }
  }
}

/**
 * Converts jpeg-js's untransformed Y/Cb/Cr output to RGB in place. `chromaSubsampled` says whether both
 * chroma components are 2×2-subsampled against luma (TIFF's default YCbCrSubsampling); otherwise they
 * are taken as full resolution. libjpeg falls back to plain replication when a chroma row has two
 * samples or fewer, and so do we.
 */
export function ycbcrToRgb(ycc: Uint8Array, width: number, height: number, chromaSubsampled: boolean): void {
  if (chromaSubsampled && (width + 1) >> 1 > 2) {
    upsampleH2V2(ycc, width, height, 1);
    upsampleH2V2(ycc, width, height, 2);
  }
  const n = width * height * 3;
  for (let i = 0; i < n; i += 3) {
    const y = ycc[i]!;
    const cb = ycc[i + 1]!;
    const cr = ycc[i + 2]!;
    ycc[i] = clamp(y + CR_R[cr]!);
    ycc[i + 1] = clamp(y + ((CB_G[cb]! + CR_G[cr]!) >> SCALEBITS));
    ycc[i + 2] = clamp(y + CB_B[cb]!);
  }
}
