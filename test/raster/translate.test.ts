import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openGeoTiff, translate } from '../../src/raster/index.js';
import { CONFORMANCE, tempDir } from '../helpers/fixtures.js';
import { gdalProbe, hasGdal } from '../helpers/gdal.js';

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
});
