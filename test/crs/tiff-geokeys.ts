/**
 * Test helper: the three GeoKey tags of a TIFF's first IFD, read with nothing but a Buffer, so the CRS
 * tests do not wait for the real TIFF reader. Classic and BigTIFF, either byte order.
 */
import { readFileSync } from 'node:fs';

import type { GeoKeyTags } from '../../src/raster/crs/index.js';

const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8 };

/** The GeoKey tags of `path`, or null when the first IFD has no GeoKeyDirectoryTag. */
export function readGeoKeyTags(path: string): GeoKeyTags | null {
  const buf = readFileSync(path);
  const le = buf.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number): number => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const f64 = (o: number): number => (le ? buf.readDoubleLE(o) : buf.readDoubleBE(o));
  const big = u16(2) === 43;
  const ifd = big ? u64(8) : u32(4);
  const count = big ? u64(ifd) : u16(ifd);
  const entrySize = big ? 20 : 12;
  const first = ifd + (big ? 8 : 2);

  const tags = new Map<number, { type: number; n: number; at: number }>();
  for (let i = 0; i < count; i++) {
    const e = first + i * entrySize;
    const tag = u16(e);
    const type = u16(e + 2);
    const n = big ? u64(e + 4) : u32(e + 4);
    const inline = big ? 8 : 4;
    const valueField = e + (big ? 12 : 8);
    const size = (TYPE_SIZES[type] ?? 1) * n;
    const at = size <= inline ? valueField : big ? u64(valueField) : u32(valueField);
    tags.set(tag, { type, n, at });
  }
  const dir = tags.get(34735);
  if (dir === undefined) return null;
  const result: GeoKeyTags = { directory: Array.from({ length: dir.n }, (_, i) => u16(dir.at + 2 * i)) };
  const doubles = tags.get(34736);
  if (doubles !== undefined) result.doubles = Array.from({ length: doubles.n }, (_, i) => f64(doubles.at + 8 * i));
  const ascii = tags.get(34737);
  if (ascii !== undefined) result.ascii = buf.toString('latin1', ascii.at, ascii.at + ascii.n).replace(/\0+$/, '');
  return result;
}
