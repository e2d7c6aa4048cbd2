import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CogOptionsError,
  CogWriter,
  allocate,
  cutTile,
  openGeoTiff,
  type CogCompression,
  type DType,
  type TypedArray,
} from '../../src/raster/index.js';
import { gdalProbe, hasGdal } from '../helpers/gdal.js';
import { sha256, tempDir } from '../helpers/fixtures.js';

const tmp = tempDir('cog');
afterAll(() => tmp.remove());

/** Smooth, signed-where-possible test pixels with a nodata border, deterministic per band. */
function synthetic(dtype: DType, width: number, height: number, band: number, nodata: number | null): TypedArray {
  const a = allocate(dtype, width * height);
  const signed = dtype.startsWith('Int') || dtype.startsWith('Float');
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 100 + 90 * Math.sin((x + band * 7) / 23) * Math.cos(y / 17) + ((x * 31 + y * 17 + band) % 13);
      if (signed) v -= 60;
      if (dtype.startsWith('Float')) v += 0.123456789 * ((x + y) % 7);
      a[y * width + x] = dtype.startsWith('Float') ? v : Math.round(v);
    }
  }
  if (nodata !== null) for (let y = 0; y < height; y++) for (let x = 0; x < 5; x++) a[y * width + x] = nodata;
  return a;
}

async function writeCog(
  path: string,
  dtype: DType,
  bandsData: TypedArray[],
  width: number,
  height: number,
  extra: Partial<Parameters<typeof CogWriter.create>[1]> = {},
): Promise<void> {
  const writer = await CogWriter.create(path, {
    width,
    height,
    bands: bandsData.length,
    dtype,
    geotransform: [500000, 30, 0, 4200000, 0, -30],
    epsg: 32632,
    blockSize: 256,
    ...extra,
  });
  const b = writer.options.blockSize;
  // Rows in reverse, to prove tiles may arrive in any order.
  for (let row = writer.tilesDown - 1; row >= 0; row--) {
    const rows = Math.min(b, height - row * b);
    const strip = bandsData.map((d) => d.subarray(row * b * width, (row * b + rows) * width));
    await Promise.all(
      Array.from({ length: writer.tilesAcross }, (_, col) =>
        writer.writeTile(col, row, cutTile(strip, width, rows, col, b, dtype, writer.options.nodata ?? 0)),
      ),
    );
  }
  await writer.finish();
}

const CASES: { dtype: DType; compression: CogCompression; bands: number; nodata: number | null }[] = [
  { dtype: 'Byte', compression: 'deflate', bands: 3, nodata: 0 },
  { dtype: 'Int16', compression: 'lzw', bands: 1, nodata: -32768 },
  { dtype: 'UInt16', compression: 'deflate', bands: 2, nodata: 0 },
  { dtype: 'UInt16', compression: 'zstd', bands: 1, nodata: null },
  { dtype: 'Int32', compression: 'deflate', bands: 1, nodata: -1 },
  { dtype: 'UInt32', compression: 'none', bands: 1, nodata: null },
  { dtype: 'Float32', compression: 'deflate', bands: 1, nodata: Number.NaN },
  { dtype: 'Float32', compression: 'lzw', bands: 2, nodata: -9999 },
  { dtype: 'Float64', compression: 'zstd', bands: 1, nodata: -9999 },
];

describe('the COG writer', () => {
  for (const c of CASES) {
    const label = `${c.dtype} × ${c.bands} band(s), ${c.compression}, nodata ${c.nodata}`;
    it(`writes a valid COG that GDAL and our reader read back exactly: ${label}`, async () => {
      const [width, height] = [700, 530];
      const data = Array.from({ length: c.bands }, (_, b) => synthetic(c.dtype, width, height, b, c.nodata));
      const path = join(tmp.dir, `${c.dtype}-${c.compression}-${c.bands}.tif`);
      await writeCog(path, c.dtype, data, width, height, { nodata: c.nodata, compression: c.compression });

      const tiff = await openGeoTiff(path);
      try {
        const info = tiff.info();
        expect(info).toMatchObject({ width, height, bands: c.bands, dtype: c.dtype, epsg: 32632, block: [256, 256] });
        expect(info.overviews).toEqual([[350, 265], [175, 133]]);
        if (c.nodata === null) expect(info.nodata).toBeNull();
        else expect(Object.is(info.nodata, c.nodata) || info.nodata === c.nodata).toBe(true);
        const back = await tiff.readWindow();
        expect(back.bands.map(sha256)).toEqual(data.map(sha256));
      } finally {
        await tiff.close();
      }

      if (!hasGdal) return;
      const g = gdalProbe(path);
      expect(g.cog_errors).toEqual([]);
      expect(g.cog_warnings).toEqual([]);
      expect(g.layout).toBe('COG');
      expect(g.sha256).toEqual(data.map(sha256));
      expect(g.dtype).toBe(c.dtype);
      expect(g.epsg).toBe(32632);
      expect(g.geotransform).toEqual([500000, 30, 0, 4200000, 0, -30]);
      expect(g.nodata).toEqual(c.nodata === null ? null : Number.isNaN(c.nodata) ? 'nan' : c.nodata);
      expect(g.compression ?? 'NONE').toBe(c.compression === 'none' ? 'NONE' : c.compression.toUpperCase());
      expect(g.overviews).toEqual([[350, 265], [175, 133]]);
    });
  }

  it.skipIf(!hasGdal)('writes geographic CRSs, BigTIFF on request, and nearest overviews', async () => {
    const [width, height] = [600, 300];
    const data = [synthetic('Int16', width, height, 0, null)];
    const path = join(tmp.dir, 'geographic-bigtiff.tif');
    await writeCog(path, 'Int16', data, width, height, {
      epsg: 4326,
      geotransform: [10, 0.001, 0, 50, 0, -0.001],
      bigtiff: true,
      overviews: 'nearest',
      blockSize: 128,
    });
    const g = gdalProbe(path);
    expect(g.cog_errors).toEqual([]);
    expect(g.epsg).toBe(4326);
    expect(g.sha256).toEqual(data.map(sha256));
    expect(g.overviews).toEqual([[300, 150], [150, 75]]);
    const tiff = await openGeoTiff(path);
    expect(tiff.info().bigtiff).toBe(true);
    await tiff.close();
  });

  it('average overviews skip nodata, so a nodata border does not darken them', async () => {
    const [width, height] = [520, 300];
    const data = [synthetic('UInt16', width, height, 0, 0)];
    const path = join(tmp.dir, 'overview-nodata.tif');
    await writeCog(path, 'UInt16', data, width, height, { nodata: 0 });
    const tiff = await openGeoTiff(path);
    try {
      const ov = await tiff.readWindow({ level: 1 });
      // Overview columns 0..1 come from nodata columns 0..3; column 2 from columns 4 (nodata) and 5 of
      // rows 0 and 1, so it is the mean of two pixels, not of four with two zeros.
      const d = data[0]!;
      expect(ov.bands[0]![0]).toBe(0);
      expect(ov.bands[0]![2]).toBe(Math.round((d[5]! + d[width + 5]!) / 2));
    } finally {
      await tiff.close();
    }
  });

  it('leaves nothing behind when aborted, and refuses a missing tile at finish', async () => {
    const spool = join(tmp.dir, 'spool');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(spool);
    const path = join(tmp.dir, 'incomplete.tif');
    const writer = await CogWriter.create(path, { width: 300, height: 300, dtype: 'Byte', blockSize: 256, tmpDir: spool });
    await writer.writeTile(0, 0, allocate('Byte', 256 * 256));
    await expect(writer.finish()).rejects.toThrow(/Tile 1,0 of level 0 was never written/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(spool)).toEqual([]);

    const w2 = await CogWriter.create(path, { width: 300, height: 300, dtype: 'Byte', blockSize: 256, tmpDir: spool });
    await expect(w2.writeTile(2, 0, allocate('Byte', 256 * 256))).rejects.toThrow(/outside the 2×2 tile grid/);
    await expect(w2.writeTile(0, 0, allocate('Byte', 10))).rejects.toThrow(/needs 65536/);
    await w2.abort();
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(spool)).toEqual([]);
  });

  it('names the option and the bad value when options are wrong', async () => {
    const base = { width: 10, height: 10, dtype: 'Byte' as const };
    await expect(CogWriter.create(join(tmp.dir, 'x.tif'), { ...base, blockSize: 100 })).rejects.toThrow(/options.blockSize must be a multiple of 16 \(got 100\)/);
    await expect(CogWriter.create(join(tmp.dir, 'x.tif'), { ...base, level: 12 })).rejects.toThrow(/options.level must be 1..9 for deflate \(got 12\)/);
    await expect(CogWriter.create(join(tmp.dir, 'x.tif'), { ...base, width: -1 })).rejects.toBeInstanceOf(CogOptionsError);
    await expect(CogWriter.create(join(tmp.dir, 'x.tif'), { ...base, nodata: Number.NaN })).rejects.toThrow(/NaN needs a Float type/);
  });

  it('keeps the spool, not memory, growing with the raster', async () => {
    // The spool holds compressed tiles as they come; by the end it holds all of them.
    const spool = join(tmp.dir, 'spool2');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(spool);
    const writer = await CogWriter.create(join(tmp.dir, 'spooled.tif'), { width: 512, height: 256, dtype: 'UInt16', blockSize: 256, tmpDir: spool, overviews: 'none' });
    await writer.writeTile(0, 0, synthetic('UInt16', 256, 256, 0, null));
    const [file] = readdirSync(spool);
    expect(statSync(join(spool, file!)).size).toBeGreaterThan(0);
    await writer.abort();
  });
});
