import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { crsFromGeoKeys, geoKeysForEpsg } from '../../src/raster/crs/index.js';
import { readGeoKeyTags } from './tiff-geokeys.js';

const folder = fileURLToPath(new URL('../fixtures/crs/', import.meta.url));

/** Fixtures GDAL wrote with `SetProjection(EPSG:n)`; see make-fixtures.py. */
const GDAL_WRITTEN: Record<number, string> = {
  32632: 'epsg-32632.tif',
  4326: 'epsg-4326.tif',
  2263: 'epsg-2263-usft.tif',
  27572: 'epsg-27572-grads.tif',
  3857: 'epsg-3857.tif',
};

describe('geoKeysForEpsg writes what GDAL writes', () => {
  for (const [code, file] of Object.entries(GDAL_WRITTEN)) {
    it(`EPSG:${code}: key for key, value for value, the tags of GDAL's ${file}`, () => {
      const gdal = readGeoKeyTags(`${folder}${file}`);
      const ours = geoKeysForEpsg(Number(code));
      expect(ours.directory).toEqual(Array.from(gdal!.directory));
      expect(ours.doubles).toEqual(Array.from(gdal!.doubles ?? []));
      expect(ours.ascii).toBe(gdal!.ascii ?? '');
    });
  }

  it('EPSG:32632 in full: projected model, PixelIsArea, citations, degree, the code, metre', () => {
    expect(geoKeysForEpsg(32632)).toEqual({
      directory: [1, 1, 0, 7, 1024, 0, 1, 1, 1025, 0, 1, 1, 1026, 34737, 22, 0, 2049, 34737, 7, 22, 2054, 0, 1, 9102, 3072, 0, 1, 32632, 3076, 0, 1, 9001],
      doubles: [],
      ascii: 'WGS 84 / UTM zone 32N|WGS 84|',
    });
  });

  it('EPSG:4326 in full: geographic model, the code, and the WGS 84 axes as GDAL adds them', () => {
    expect(geoKeysForEpsg(4326)).toEqual({
      directory: [1, 1, 0, 7, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326, 2049, 34737, 7, 0, 2054, 0, 1, 9102, 2057, 34736, 1, 1, 2059, 34736, 1, 0],
      doubles: [298.257223563, 6378137],
      ascii: 'WGS 84|',
    });
  });

  it('a sphere gets its semi-major axis only, as GDAL writes EPSG:4047', () => {
    const keys = geoKeysForEpsg(4047);
    expect(keys.doubles).toEqual([6371007]);
    expect(keys.directory).not.toContain(2059);
  });

  it('reads back as the same EPSG CRS for every sampled code', () => {
    for (const code of [4326, 4269, 4258, 4674, 4807, 32632, 32761, 3857, 31985, 2263, 27572, 2056, 28992, 3035, 5514, 3031, 3413, 2193, 27700]) {
      const keys = geoKeysForEpsg(code);
      const crs = crsFromGeoKeys(keys, `EPSG:${code}`);
      expect(crs?.epsg, `EPSG:${code}`).toBe(code);
      expect(crs?.proj).toMatch(/^\+proj=/);
    }
  });

  it('refuses codes it cannot stand behind, naming the code', () => {
    expect(() => geoKeysForEpsg(999999)).toThrow(/EPSG:999999 has no GeoKeys here/);
    expect(() => geoKeysForEpsg(1.5)).toThrow(expect.objectContaining({ code: 'ERR_EPSG_UNKNOWN' }));
    expect(() => geoKeysForEpsg(4978)).toThrow(/EPSG:4978/); // geocentric: not a GeoTIFF projected/geographic code
  });
});
