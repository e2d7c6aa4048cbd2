import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openGeoTiff, translate } from '../../src/raster/index.js';
import { CONFORMANCE, sha256, tempDir } from '../helpers/fixtures.js';
import { gdalProbe, gdalPython, hasGdal } from '../helpers/gdal.js';

const CRS_FIXTURES = fileURLToPath(new URL('../fixtures/crs/', import.meta.url));
const tmp = tempDir('translate');
afterAll(() => tmp.remove());

describe('translate', () => {
  for (const name of ['lcc2sp-nad83-usft.tif', 'aea-custom-ellipsoid.tif', 'stere-polar-a-south.tif', 'tmerc-intl-foot.tif']) {
    it.skipIf(!hasGdal)(`keeps a user-defined CRS exactly as GDAL reads it: ${name}`, async () => {
      const src = join(CRS_FIXTURES, name);
      const out = join(tmp.dir, name);
      await translate(src, out, { blockSize: 16 });
      const [before, after] = [gdalProbe(src), gdalProbe(out)];
      expect(after.wkt).toBe(before.wkt);
      expect(after.geotransform).toEqual(before.geotransform);
      expect(after.sha256).toEqual(before.sha256);
      expect(after.cog_errors).toEqual([]);
    });
  }

  it('copies every band of a band-interleaved file into one pixel-interleaved COG, pixels unchanged', async () => {
    const src = join(CONFORMANCE, 'u16_none_bandinterleave.tif');
    const out = join(tmp.dir, 'bands.tif');
    const result = await translate(src, out, { compression: 'lzw', overviews: 'none' });
    expect(result.levels).toEqual([[294, 304]]);
    const [a, b] = [await openGeoTiff(src), await openGeoTiff(out)];
    try {
      expect(b.info()).toMatchObject({ bands: 4, interleave: 'PIXEL', compression: 'LZW', epsg: 31985, nodata: 0 });
      expect((await b.readWindow()).bands).toEqual((await a.readWindow()).bands);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it.skipIf(!hasGdal)('reads a GDAL COG with an internal mask, ignoring the mask', async () => {
    const src = join(tmp.dir, 'masked-src.tif');
    const cog = join(tmp.dir, 'masked-cog.tif');
    gdalPython(`
ds = gdal.GetDriverByName('GTiff').Create('${src}', 600, 400, 3, gdal.GDT_Byte)
for b in range(3): ds.GetRasterBand(b + 1).WriteArray((np.indices((400, 600)).sum(axis=0) * (b + 1) % 251).astype(np.uint8))
ds.CreateMaskBand(gdal.GMF_PER_DATASET)
ds.GetRasterBand(1).GetMaskBand().WriteArray(np.pad(np.full((380, 580), 255, np.uint8), 10))
ds = None
gdal.Translate('${cog}', '${src}', format='COG', creationOptions=['COMPRESS=DEFLATE', 'BLOCKSIZE=256'])
`);
    const g = gdalProbe(cog);
    const tiff = await openGeoTiff(cog);
    try {
      expect(tiff.info()).toMatchObject({ width: 600, height: 400, bands: 3, overviews: g.overviews });
      expect((await tiff.readWindow()).bands.map(sha256)).toEqual(g.sha256);
    } finally {
      await tiff.close();
    }
  });

  it.skipIf(!hasGdal)('keeps a PixelIsPoint file where it is', async () => {
    const src = join(tmp.dir, 'point.tif');
    const out = join(tmp.dir, 'point-cog.tif');
    gdalPython(`
ds = gdal.GetDriverByName('GTiff').Create('${src}', 40, 30, 1, gdal.GDT_Int16)
ds.SetGeoTransform((1000, 30, 0, 5000, 0, -30))
ds.SetProjection('EPSG:32633')
ds.SetMetadataItem('AREA_OR_POINT', 'Point')
ds.GetRasterBand(1).Fill(7)
ds = None
`);
    await translate(src, out, { blockSize: 16 });
    expect(gdalProbe(out).geotransform).toEqual(gdalProbe(src).geotransform);
  });

  it.skipIf(!hasGdal)('carries infinite and fractional Float32 nodata through, and averages around it', async () => {
    for (const [name, nodata] of [['ninf', '-np.inf'], ['tenth', '0.1']] as const) {
      const src = join(tmp.dir, `nodata-${name}.tif`);
      const out = join(tmp.dir, `nodata-${name}-cog.tif`);
      gdalPython(`
a = np.full((600, 600), 5.0, np.float32)
a[:, ::2] = ${nodata}
ds = gdal.GetDriverByName('GTiff').Create('${src}', 600, 600, 1, gdal.GDT_Float32)
ds.GetRasterBand(1).WriteArray(a)
ds.GetRasterBand(1).SetNoDataValue(float(${nodata}))
ds = None
`);
      await translate(src, out, { blockSize: 256 });
      const [before, after] = [gdalProbe(src), gdalProbe(out)];
      expect(after.nodata).toEqual(before.nodata);
      expect(after.sha256).toEqual(before.sha256);
      const tiff = await openGeoTiff(out);
      try {
        // Every 2×2 cell holds two nodata pixels and two 5s: the average overview is all 5s.
        const ov = await tiff.readWindow({ level: 1 });
        expect(new Set(ov.bands[0])).toEqual(new Set([5]));
      } finally {
        await tiff.close();
      }
    }
  });
});
