import { z } from 'zod';

import { DataboxError } from '../../errors.js';
import { dtypeInfo, type DType } from '../../raster/index.js';
import type { ZonalPartial } from './stats.js';

/**
 * A compact wire form of a zone's partial statistics, for subtask results (at most 1 MiB of JSON each; see maxPartialBytes in plan.ts for the bound planning relies on):
 * the ascending distinct values as varint deltas of their integer value (integer types) or of their
 * order-preserving 32-bit key (Float32), or raw little-endian doubles (Float64); the counts as varints;
 * both base64. Dense integer histograms take 2–4 bytes an entry instead of ~12 as JSON numbers.
 */
export const wirePartialSchema = z.strictObject({
  count: z.number().int().nonnegative(),
  nodata: z.number().int().nonnegative(),
  entries: z.number().int().nonnegative(),
  values: z.string(),
  counts: z.string(),
  negInf: z.number().int().positive().optional(),
  posInf: z.number().int().positive().optional(),
});
export type WirePartial = z.infer<typeof wirePartialSchema>;

export function encodePartial(p: ZonalPartial, dtype: DType): WirePartial {
  const n = p.values.length;
  const counts = new Writer(n * 2);
  for (let i = 0; i < n; i++) counts.varint(p.counts[i]!);
  let values: Uint8Array;
  if (dtype === 'Float64') {
    values = new Uint8Array(Float64Array.from(p.values).buffer);
  } else {
    const w = new Writer(n * 2);
    const key = dtype === 'Float32' ? float32Key : (v: number): number => v;
    let previous = 0;
    for (let i = 0; i < n; i++) {
      const k = key(p.values[i]!);
      // The first delta may be negative (a negative integer); later ones are positive since values ascend.
      const d = k - previous;
      w.varint(i === 0 ? (d < 0 ? -2 * d - 1 : 2 * d) : d);
      previous = k;
    }
    values = w.bytes();
  }
  return {
    count: p.count,
    nodata: p.nodata,
    entries: n,
    values: Buffer.from(values).toString('base64'),
    counts: Buffer.from(counts.bytes()).toString('base64'),
    ...(p.negInf !== undefined ? { negInf: p.negInf } : {}),
    ...(p.posInf !== undefined ? { posInf: p.posInf } : {}),
  };
}

export function decodePartial(raw: unknown, dtype: DType, where: string): ZonalPartial {
  const parsed = wirePartialSchema.safeParse(raw);
  if (!parsed.success) throw new DataboxError('ERR_ZONAL_PARTIAL', `${where}: malformed partial statistics: ${parsed.error.issues[0]?.message ?? 'unknown problem'}`);
  const w = parsed.data;
  const n = w.entries;
  const counts = new Reader(Buffer.from(w.counts, 'base64'), where);
  const bytes = Buffer.from(w.values, 'base64');
  const values: number[] = new Array<number>(n);
  const countList: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) countList[i] = counts.varint();
  if (dtype === 'Float64') {
    if (bytes.length !== n * 8) throw new DataboxError('ERR_ZONAL_PARTIAL', `${where}: ${bytes.length} value bytes for ${n} Float64 entries`);
    const doubles = new Float64Array(new Uint8Array(bytes).buffer);
    for (let i = 0; i < n; i++) values[i] = doubles[i]!;
  } else {
    const r = new Reader(bytes, where);
    const fromKey = dtype === 'Float32' ? float32FromKey : (k: number): number => k;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const d = r.varint();
      k += i === 0 ? (d % 2 === 1 ? -(d + 1) / 2 : d / 2) : d;
      values[i] = fromKey(k);
    }
    if (!dtypeInfo(dtype).float && n > 0 && (values[0]! < dtypeInfo(dtype).min || values[n - 1]! > dtypeInfo(dtype).max)) {
      throw new DataboxError('ERR_ZONAL_PARTIAL', `${where}: values outside the range of ${dtype}`);
    }
  }
  return { count: w.count, nodata: w.nodata, values, counts: countList, ...(w.negInf !== undefined ? { negInf: w.negInf } : {}), ...(w.posInf !== undefined ? { posInf: w.posInf } : {}) };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Float32 bits flipped so that unsigned order is numeric order. */
function float32Key(v: number): number {
  f32[0] = v;
  const b = u32[0]!;
  return b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
}

function float32FromKey(k: number): number {
  u32[0] = k & 0x80000000 ? (k & 0x7fffffff) >>> 0 : ~k >>> 0;
  return f32[0]!;
}

class Writer {
  private buf: Uint8Array;
  private n = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }
  /** An unsigned integer below 2^53, seven bits a byte. */
  varint(v: number): void {
    if (this.n + 8 > this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    while (v >= 0x80) {
      this.buf[this.n++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.n++] = v;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.n);
  }
}

class Reader {
  private i = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly where: string,
  ) {}
  varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (this.i >= this.buf.length) throw new DataboxError('ERR_ZONAL_PARTIAL', `${this.where}: partial statistics end early`);
      const b = this.buf[this.i++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new DataboxError('ERR_ZONAL_PARTIAL', `${this.where}: a varint runs past 2^53`);
    }
  }
}
