/**
 * ZoneAccumulator: one zone's exact multiset, built from runs of pixels. Byte always counts into a dense
 * table of 256; Int16 and UInt16 buffer the first 4,096 pixels (so a small zone stays small) and then
 * count into a dense table of 65,536; the 32- and 64-bit types copy pixels into a buffer of their own type
 * and, when it fills, radix-sort it and fold it into the multiset as distinct values with counts.
 */
import { DataboxError } from '../../errors.js';
import type { DType, TypedArray } from '../../raster/dtype.js';
import { emptyMultiset, mergeTwo, toPartial, type Multiset, type ZonalPartial } from './multiset.js';

/** Pixels a 16-bit zone buffers before it switches to a dense table (256 KiB). */
const DENSE_AFTER_16 = 4096;
/**
 * A full buffer is folded into the multiset when it holds at least this many pixels, as many as the
 * multiset, and the last fold paid (halved the pixels it folded); else it grows. Data with few distinct
 * values so stays within a few MiB, while nearly distinct floats, which a multiset (16 bytes an entry)
 * would not shrink, stay as raw pixels (4 or 8 bytes) until partial() or MAX_BUFFER.
 */
const FOLD_AT_LEAST = 1 << 20;
/** Below this many pixels the built-in sort beats a radix sort. */
const RADIX_FROM = 4096;
/** The most a dense table's Uint32 bins may count before they are folded (a bin cannot overflow). */
const DENSE_LIMIT = 0xffffffff;
/** The largest buffer (pixels); a full one this size is folded whatever the multiset's size. */
const MAX_BUFFER = 1 << 26;
/** Runs shorter than this are copied by a loop; longer ones by `set` (whose view costs a fixed amount). */
const COPY_LOOP_BELOW = 64;

const CTORS = {
  Byte: Uint8Array,
  Int16: Int16Array,
  UInt16: Uint16Array,
  Int32: Int32Array,
  UInt32: Uint32Array,
  Float32: Float32Array,
  Float64: Float64Array,
} as const;

export class ZoneAccumulator {
  private readonly dtype: DType;
  private readonly Ctor: (typeof CTORS)[DType];
  /** The nodata value, or NaN (which equals nothing) when there is none. */
  private readonly nd: number;
  /** 32768 for Int16 (dense index = value + 32768), else 0. */
  private readonly offset: number;
  /** Buffer size after which Byte/Int16/UInt16 switch to a dense table; Infinity for the other types. */
  private readonly denseAfter: number;
  private buffer: TypedArray | null = null;
  private buffered = 0;
  private dense: Uint32Array | null = null;
  private denseCounted = 0;
  private set: Multiset = emptyMultiset();
  private nodata = 0;
  private foldPays = true;

  constructor(dtype: DType, nodata: number | null) {
    if (!(dtype in CTORS)) throw new DataboxError('ERR_DTYPE', `Zonal statistics cannot read pixels of type ${String(dtype)}`);
    this.dtype = dtype;
    this.Ctor = CTORS[dtype];
    this.nd = nodata ?? Number.NaN;
    this.offset = dtype === 'Int16' ? 32768 : 0;
    this.denseAfter = dtype === 'Byte' ? 0 : dtype === 'Int16' || dtype === 'UInt16' ? DENSE_AFTER_16 : Infinity;
  }

  /** Adds band[start..end) (a run of pixels of one zone in one tile). NaN values always count as nodata. */
  addRun(band: TypedArray, start: number, end: number): void {
    if (!(band instanceof this.Ctor)) {
      throw new DataboxError('ERR_DTYPE', `ZoneAccumulator for ${this.dtype} pixels was given a ${band.constructor.name}`);
    }
    if (!(start >= 0 && start <= end && end <= band.length)) {
      throw new DataboxError('ERR_RANGE', `Run ${start}..${end} is outside the band's 0..${band.length}`);
    }
    if (this.dense === null && this.buffered + (end - start) > this.denseAfter) this.startDense();
    if (this.dense !== null) {
      if (this.denseCounted + (end - start) > DENSE_LIMIT) this.foldDense();
      countInto(band, start, end, this.dense, this.offset);
      this.denseCounted += end - start;
      return;
    }
    while (start < end) {
      if (this.buffer === null || this.buffered === this.buffer.length) this.makeRoom();
      const buffer = this.buffer!;
      const stop = Math.min(end, start + buffer.length - this.buffered);
      if (stop - start < COPY_LOOP_BELOW) copyLoop(band, start, stop, buffer, this.buffered);
      else buffer.set(band.subarray(start, stop), this.buffered);
      this.buffered += stop - start;
      start = stop;
    }
  }

  /** The zone's partial so far; the accumulator stays usable. */
  partial(): ZonalPartial {
    this.foldDense();
    this.foldBuffer();
    return toPartial(this.set, this.nodata);
  }

  private makeRoom(): void {
    // Folding costs the multiset's size too, so the buffer grows with the multiset: n log n in all.
    const n = this.buffered;
    if (this.buffer !== null && n >= FOLD_AT_LEAST && (n >= MAX_BUFFER || (this.foldPays && n >= this.set.length))) {
      this.foldBuffer();
      return;
    }
    const size = this.buffer === null ? 1024 : Math.max(2 * this.buffer.length, this.set.length);
    const bigger = new this.Ctor(Math.min(size, MAX_BUFFER));
    if (this.buffer !== null) bigger.set(this.buffer.subarray(0, this.buffered));
    this.buffer = bigger;
  }

  private startDense(): void {
    this.dense = new Uint32Array(this.dtype === 'Byte' ? 256 : 65536);
    if (this.buffer !== null) countInto(this.buffer, 0, this.buffered, this.dense, this.offset);
    this.denseCounted = this.buffered;
    this.buffer = null;
    this.buffered = 0;
  }

  /** Moves the dense table's counts into the multiset (nodata's bin into the nodata count). */
  private foldDense(): void {
    const dense = this.dense;
    if (dense === null || this.denseCounted === 0) return;
    let m = 0;
    for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) m++;
    const values = new Float64Array(m);
    const counts = new Float64Array(m);
    m = 0;
    for (let i = 0; i < dense.length; i++) {
      const c = dense[i]!;
      if (c === 0) continue;
      const v = i - this.offset;
      if (v === this.nd) {
        this.nodata += c;
        continue;
      }
      values[m] = v;
      counts[m++] = c;
    }
    this.set = mergeTwo(this.set, { values, counts, length: m });
    dense.fill(0);
    this.denseCounted = 0;
  }

  /** Sorts the buffer, run-length encodes it (NaN and nodata counted apart) and merges it into the multiset. */
  private foldBuffer(): void {
    const n = this.buffered;
    if (this.buffer === null || n === 0) return;
    const pixels = this.buffer.subarray(0, n);
    const sorted = n >= RADIX_FROM && pixels.BYTES_PER_ELEMENT >= 4 ? viewLike(pixels, radixSort(pixels)) : pixels.sort();
    const runs = runLength(sorted, this.nd);
    this.nodata += runs.nodata;
    this.set = mergeTwo(this.set, runs.set);
    this.foldPays = runs.set.length <= n / 2;
    this.buffered = 0;
  }
}

function countInto(band: TypedArray, start: number, end: number, dense: Uint32Array, offset: number): void {
  for (let i = start; i < end; i++) dense[band[i]! + offset]!++;
}

function copyLoop(band: TypedArray, start: number, end: number, buffer: TypedArray, at: number): void {
  for (let i = start; i < end; i++) buffer[at++] = band[i]!;
}

/** A typed array of the same type as `like`, over `words` (the sorted keys decoded in place). */
function viewLike(like: TypedArray, words: Uint32Array): TypedArray {
  const Ctor = like.constructor as Float64ArrayConstructor;
  return new Ctor(words.buffer, words.byteOffset, like.length);
}

/** Counts of the sorted values, NaN and nodata pulled out; −0 joins 0. */
function runLength(sorted: TypedArray, nd: number): { set: Multiset; nodata: number } {
  const n = sorted.length;
  let runs = 0;
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) runs++;
  const values = new Float64Array(runs);
  const counts = new Float64Array(runs);
  let m = 0;
  let nodata = 0;
  let i = 0;
  while (i < n) {
    const v = sorted[i]!;
    let j = i + 1;
    // NaN never equals itself, so each NaN is a run of one; nodata runs are whole.
    while (j < n && sorted[j] === v) j++;
    if (v !== v || v === nd) nodata += j - i;
    else if (m > 0 && values[m - 1] === v) counts[m - 1]! += j - i;
    else {
      values[m] = v === 0 ? 0 : v;
      counts[m++] = j - i;
    }
    i = j;
  }
  return { set: { values, counts, length: m }, nodata };
}

/**
 * Sorts 32- or 64-bit pixels numerically with an LSD radix sort on order-preserving unsigned keys (floats:
 * sign bit flipped, negatives inverted; signed integers: sign bit flipped), 11 bits a pass, skipping a pass
 * where every key has the same digit. Returns the sorted pixels' words (the buffer's own memory or a copy),
 * decoded back to the pixels' bit patterns. NaNs sort to the ends, which runLength does not mind.
 */
function radixSort(pixels: TypedArray): Uint32Array {
  const words = pixels.BYTES_PER_ELEMENT === 8 ? 2 : 1;
  const kind = pixels instanceof Float32Array || pixels instanceof Float64Array ? 'float' : pixels instanceof Int32Array ? 'signed' : 'unsigned';
  const keys = new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.length * words);
  if (kind !== 'unsigned') recode(keys, words, kind === 'float', true);
  const sorted = words === 1 ? radix32(keys) : radix64(keys);
  if (kind !== 'unsigned') recode(sorted, words, kind === 'float', false);
  return sorted;
}

/** Pixel words to keys (`toKeys`) or back, in place: a negative float has all its bits inverted. */
function recode(k: Uint32Array, words: 1 | 2, float: boolean, toKeys: boolean): void {
  const n = k.length;
  // Negative is sign bit set before encoding, clear after.
  const negative = toKeys ? 1 : 0;
  if (!float) for (let i = 0; i < n; i++) k[i]! ^= 0x80000000;
  else if (words === 1) {
    for (let i = 0; i < n; i++) {
      const h = k[i]!;
      k[i] = h >>> 31 === negative ? ~h : h ^ 0x80000000;
    }
  } else {
    for (let i = 1; i < n; i += 2) {
      const h = k[i]!;
      if (h >>> 31 === negative) {
        k[i] = ~h;
        k[i - 1] = ~k[i - 1]!;
      } else k[i] = h ^ 0x80000000;
    }
  }
}

/** Turns a digit histogram into start offsets; false when one digit holds every key (the pass is a no-op). */
function offsets(hist: Uint32Array, at: number, n: number): boolean {
  let sum = 0;
  for (let d = at; d < at + 2048; d++) {
    const c = hist[d]!;
    if (c === n) return false;
    hist[d] = sum;
    sum += c;
  }
  return true;
}

function radix32(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  const hist = new Uint32Array(3 * 2048);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    hist[k & 2047]!++;
    hist[2048 + ((k >>> 11) & 2047)]!++;
    hist[4096 + (k >>> 22)]!++;
  }
  let src = keys;
  let dst: Uint32Array | null = null;
  for (let pass = 0; pass < 3; pass++) {
    const at = pass * 2048;
    const shift = pass * 11;
    if (!offsets(hist, at, n)) continue;
    dst ??= new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const k = src[i]!;
      dst[hist[at + ((k >>> shift) & 2047)]!++] = k;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** radix32 for 64-bit keys stored as (low, high) word pairs. */
function radix64(keys: Uint32Array): Uint32Array {
  const n = keys.length / 2;
  const hist = new Uint32Array(6 * 2048);
  for (let i = 0; i < 2 * n; i += 2) {
    const lo = keys[i]!;
    const hi = keys[i + 1]!;
    hist[lo & 2047]!++;
    hist[2048 + ((lo >>> 11) & 2047)]!++;
    hist[4096 + (lo >>> 22)]!++;
    hist[6144 + (hi & 2047)]!++;
    hist[8192 + ((hi >>> 11) & 2047)]!++;
    hist[10240 + (hi >>> 22)]!++;
  }
  let src = keys;
  let dst: Uint32Array | null = null;
  for (let pass = 0; pass < 6; pass++) {
    const at = pass * 2048;
    const shift = (pass % 3) * 11;
    const word = pass < 3 ? 0 : 1;
    if (!offsets(hist, at, n)) continue;
    dst ??= new Uint32Array(2 * n);
    for (let i = 0; i < 2 * n; i += 2) {
      const j = 2 * hist[at + ((src[i + word]! >>> shift) & 2047)]!++;
      dst[j] = src[i]!;
      dst[j + 1] = src[i + 1]!;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}
