/**
 * A minimal tiled TIFF writer for tests: one IFD, pixel-interleaved, blocks already encoded. Just
 * enough for GDAL to read what our encoders produced; the real writer lives in src/raster/cog.
 */

export interface TinyTiff {
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  samplesPerPixel: number;
  bytesPerSample: number;
  sampleFormat: number;
  compression: number;
  predictor: number;
  littleEndian: boolean;
  /** Encoded tiles, row by row. */
  tiles: Uint8Array[];
}

const SHORT = 3;
const LONG = 4;

export function writeTinyTiff(t: TinyTiff): Uint8Array {
  const spp = t.samplesPerPixel;
  const entries: [tag: number, type: number, values: number[]][] = [
    [256, LONG, [t.width]],
    [257, LONG, [t.height]],
    [258, SHORT, new Array<number>(spp).fill(t.bytesPerSample * 8)],
    [259, SHORT, [t.compression]],
    [262, SHORT, [1]], // min-is-black; extra samples below keep GDAL from guessing RGB
    [277, SHORT, [spp]],
    [284, SHORT, [1]],
    [317, SHORT, [t.predictor]],
    [322, LONG, [t.tileWidth]],
    [323, LONG, [t.tileHeight]],
    [324, LONG, t.tiles.map(() => 0)], // patched below
    [325, LONG, t.tiles.map((b) => b.length)],
    ...(spp > 1 ? [[338, SHORT, new Array<number>(spp - 1).fill(0)] as [number, number, number[]]] : []),
    [339, SHORT, new Array<number>(spp).fill(t.sampleFormat)],
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const extraSize = entries.reduce((n, [, type, v]) => n + (v.length * (type === SHORT ? 2 : 4) > 4 ? v.length * (type === SHORT ? 2 : 4) : 0), 0);
  const dataStart = 8 + ifdSize + extraSize;
  const offsets: number[] = [];
  let at = dataStart;
  for (const tile of t.tiles) {
    offsets.push(at);
    at += tile.length;
  }
  entries.find(([tag]) => tag === 324)![2] = offsets;

  const out = new Uint8Array(at);
  const dv = new DataView(out.buffer);
  const le = t.littleEndian;
  out[0] = out[1] = le ? 0x49 : 0x4d;
  dv.setUint16(2, 42, le);
  dv.setUint32(4, 8, le);
  dv.setUint16(8, entries.length, le);
  let extra = 8 + ifdSize;
  entries.forEach(([tag, type, values], i) => {
    const p = 10 + i * 12;
    const size = type === SHORT ? 2 : 4;
    dv.setUint16(p, tag, le);
    dv.setUint16(p + 2, type, le);
    dv.setUint32(p + 4, values.length, le);
    let w = p + 8;
    if (values.length * size > 4) {
      dv.setUint32(p + 8, extra, le);
      w = extra;
      extra += values.length * size;
    }
    for (const v of values) {
      if (size === 2) dv.setUint16(w, v, le);
      else dv.setUint32(w, v, le);
      w += size;
    }
  });
  dv.setUint32(10 + entries.length * 12, 0, le);
  t.tiles.forEach((tile, i) => out.set(tile, offsets[i]!));
  return out;
}
