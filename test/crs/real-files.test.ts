import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';

import { crsFromGeoKeys, requireProj } from '../../src/raster/crs/index.js';
import { CONFORMANCE, EXPECTED, LANDSAT8, REAL } from '../helpers/fixtures.js';
import { readGeoKeyTags } from './tiff-geokeys.js';

function crsOfFile(path: string) {
  const tags = readGeoKeyTags(path);
  return tags === null ? null : crsFromGeoKeys(tags, path);
}

describe('the shared real-world files', () => {
  it('elev.tif is EPSG:4326, whose PROJ string is the WGS 84 longlat', () => {
    expect(crsOfFile(join(REAL, 'elev.tif'))).toEqual({
      epsg: 4326,
      kind: 'geographic',
      name: 'WGS 84',
      proj: '+proj=longlat +datum=WGS84 +no_defs',
    });
  });

  it('the Landsat 7 scene is EPSG:31985, SIRGAS 2000 / UTM zone 25S', () => {
    const crs = crsOfFile(join(REAL, 'landsat7', 'L7_ETMs.tif'));
    expect(crs).toMatchObject({ epsg: 31985, kind: 'projected', name: 'SIRGAS 2000 / UTM zone 25S' });
    expect(crs?.proj).toBe('+proj=utm +zone=25 +south +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs');
  });

  it('every Landsat 8 band is EPSG:32632, named by EPSG rather than by its USGS citation', () => {
    const bands = readdirSync(LANDSAT8).filter((f) => /\.TIF$/i.test(f));
    expect(bands.length).toBeGreaterThan(10);
    for (const band of bands) {
      expect(crsOfFile(join(LANDSAT8, band)), band).toEqual({
        epsg: 32632,
        kind: 'projected',
        name: 'WGS 84 / UTM zone 32N',
        proj: '+proj=utm +zone=32 +datum=WGS84 +units=m +no_defs',
      });
    }
  });

  it('logo.tif is the engineering CRS GDAL calls "Cartesian (Meter)" and cannot be reprojected', () => {
    const path = join(REAL, 'logo.tif');
    const crs = crsOfFile(path);
    expect(crs).toMatchObject({ epsg: null, kind: 'engineering', name: 'Cartesian (Meter)', proj: '' });
    expect(() => requireProj(crs!, path)).toThrow(expect.objectContaining({ code: 'ERR_CRS_UNSUPPORTED' }));
    expect(() => requireProj(crs!, path)).toThrow(/"Cartesian \(Meter\)" of .*logo\.tif cannot be reprojected/);
  });

  it('a point in the Landsat 8 scene reprojects to WGS 84 inside the scene (Alps, near 9-12 E, 46-48 N)', () => {
    const crs = crsOfFile(join(LANDSAT8, 'LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF'));
    const [lon, lat] = proj4(requireProj(crs!, 'B4'), 'EPSG:4326').forward([600000, 5300000]);
    expect(lon).toBeGreaterThan(9);
    expect(lon).toBeLessThan(12);
    expect(lat).toBeGreaterThan(47);
    expect(lat).toBeLessThan(48.5);
  });
});

describe('the conformance files', () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    it(`${name} carries EPSG:${want.epsg}`, () => {
      const crs = crsOfFile(join(CONFORMANCE, name));
      expect(crs?.epsg ?? null).toBe(want.epsg);
      if (want.epsg !== null) expect(crs?.proj).toMatch(/^\+proj=/);
    });
  }
});
