import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';

import { crsFromGeoKeys, requireProj, type GeoKeyTags } from '../../src/raster/crs/index.js';
import { citationName } from '../../src/raster/crs/citation.js';
import { sexagesimalDmsToDegrees } from '../../src/raster/crs/units.js';

/** Keys GeoTIFF types DOUBLE. */
const DOUBLE_KEYS = new Set([2053, 2055, 2057, 2058, 2059, 2061, 2062, ...Array.from({ length: 20 }, (_, i) => 3077 + i)]);

/** Builds GeoKey tags from [id, value] pairs: DOUBLE keys go to doubles, strings to ascii, codes stay in the entry. */
function keys(pairs: Array<[number, number | number[] | string]>, header: [number, number, number] = [1, 1, 0]): GeoKeyTags {
  const directory: number[] = [...header, pairs.length];
  const doubles: number[] = [];
  let ascii = '';
  for (const [id, value] of [...pairs].sort((a, b) => a[0] - b[0])) {
    if (typeof value === 'string') {
      directory.push(id, 34737, value.length + 1, ascii.length);
      ascii += `${value}|`;
    } else if (Array.isArray(value) || DOUBLE_KEYS.has(id)) {
      const values = Array.isArray(value) ? value : [value];
      directory.push(id, 34736, values.length, doubles.length);
      doubles.push(...values);
    } else {
      directory.push(id, 0, 1, value);
    }
  }
  return { directory, doubles, ascii };
}

const read = (tags: GeoKeyTags) => crsFromGeoKeys(tags, 'test.tif');

describe('GeoKey layouts writers use', () => {
  it('a GeoTIFF 1.1 header (KeyRevision 1.1) reads like 1.0', () => {
    expect(read(keys([[1024, 1], [3072, 32633]], [1, 1, 1]))?.epsg).toBe(32633);
  });

  it('values kept in GeoKeyDirectoryTag itself (location 34735)', () => {
    // GTModelTypeGeoKey's value sits at index 12 of the directory array.
    const crs = read({ directory: [1, 1, 0, 2, 1024, 34735, 1, 12, 2048, 0, 1, 4326, 2] });
    expect(crs).toMatchObject({ epsg: 4326, kind: 'geographic' });
  });

  it('a Float64Array directory, as the TIFF reader hands it over', () => {
    const crs = read({ directory: Float64Array.from([1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32632]), ascii: '\0' });
    expect(crs?.epsg).toBe(32632);
  });
});

describe('user-defined CRSs assembled from keys', () => {
  it('ProjectionGeoKey names every UTM zone, north (16001-16060) and south (16101-16160)', () => {
    for (let zone = 1; zone <= 60; zone++) {
      const north = read(keys([[1024, 1], [2048, 4326], [3072, 32767], [3074, 16000 + zone]]));
      expect(north?.proj).toBe(`+proj=utm +zone=${zone} +datum=WGS84 +units=m +no_defs`);
      const south = read(keys([[1024, 1], [2048, 4269], [3072, 32767], [3074, 16100 + zone], [3076, 9001]]));
      expect(south?.proj).toBe(`+proj=utm +zone=${zone} +south +datum=NAD83 +units=m +no_defs`);
    }
  });

  it('ProjectionGeoKey 3856 (Pseudo-Mercator) keeps its sphere whatever datum the file names', () => {
    const crs = read(keys([[1024, 1], [2048, 4326], [3072, 32767], [3074, 3856], [3076, 9001]]));
    expect(crs?.proj).toBe('+proj=merc +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +a=6378137 +b=6378137 +nadgrids=@null +units=m +no_defs');
    const [x] = proj4(requireProj(crs!, 'test.tif'), 'EPSG:3857').forward([1000, 2000]);
    expect(x).toBeCloseTo(1000, 6);
  });

  it('an unknown ProjectionGeoKey code leaves proj empty and says which', () => {
    const crs = read(keys([[1024, 1], [2048, 4326], [3072, 32767], [3074, 65000], [3076, 9001]]));
    expect(crs).toMatchObject({ kind: 'projected', proj: '', reason: 'ProjectionGeoKey 65000 is not an EPSG conversion this table holds' });
  });

  it('a GeoTIFF method PROJ strings cannot carry (Laborde) leaves proj empty and names it', () => {
    const crs = read(keys([[1024, 1], [2048, 4326], [3072, 32767], [3075, 4], [3076, 9001]]));
    expect(crs?.reason).toBe('Laborde Oblique Mercator has no PROJ string proj4js runs');
    expect(() => requireProj(crs!, 'test.tif')).toThrow(/the projected CRS of test\.tif cannot be reprojected: Laborde/);
  });

  it('an EPSG projected code outside the table still reads when the keys also spell the CRS out', () => {
    const crs = read(keys([[1024, 1], [2048, 4326], [3072, 2218], [3075, 1], [3076, 9001], [3080, 9.5], [3092, 0.9996]]));
    expect(crs).toMatchObject({ epsg: 2218, kind: 'projected' });
    expect(crs?.proj).toMatch(/^\+proj=tmerc \+lat_0=0 \+lon_0=9\.5 \+k=0\.9996 /);
  });

  it('an unknown geographic CRS code with nothing else is no datum at all, not a guessed WGS 84', () => {
    const geog = read(keys([[1024, 2], [2048, 4999]]));
    expect(geog).toMatchObject({ epsg: 4999, kind: 'geographic', proj: '' });
    expect(geog?.reason).toMatch(/EPSG:4999 is not a geographic CRS in the EPSG table/);
    const proj = read(keys([[1024, 1], [2048, 4999], [3072, 32767], [3074, 16032]]));
    expect(proj).toMatchObject({ proj: '', reason: expect.stringMatching(/EPSG:4999/) });
  });

  it('an unknown geographic code beside explicit axes uses the axes', () => {
    const crs = read(keys([[1024, 2], [2048, 4999], [2057, 6378388], [2059, 297]]));
    expect(crs).toMatchObject({ epsg: 4999, proj: '+proj=longlat +a=6378388 +rf=297 +no_defs' });
  });

  it('a semi-major axis alone is a sphere, as GDAL writes one', () => {
    expect(read(keys([[1024, 2], [2048, 32767], [2057, 6371007]]))?.proj).toBe('+proj=longlat +R=6371007 +no_defs');
  });

  it('with no datum key at all GDAL assumes WGS 84, and so do we', () => {
    expect(read(keys([[1024, 2], [2048, 32767]]))?.proj).toBe('+proj=longlat +ellps=WGS84 +no_defs');
  });

  it('semi-axes in feet (GeogLinearUnitsGeoKey 9002) are turned into metres', () => {
    const crs = read(keys([[1024, 2], [2048, 32767], [2052, 9002], [2057, 6378137 / 0.3048], [2059, 298.257223563]]));
    expect(crs?.proj).toBe('+proj=longlat +a=6378137 +rf=298.257223563 +no_defs');
  });

  it('a prime meridian in sexagesimal DMS (9110) is decoded: 2.201395 is 2 deg 20 min 13.95 s', () => {
    expect(sexagesimalDmsToDegrees(2.201395)).toBeCloseTo(2 + 20 / 60 + 13.95 / 3600, 12);
    expect(sexagesimalDmsToDegrees(-9.0754862)).toBeCloseTo(-(9 + 7 / 60 + 54.862 / 3600), 12);
    const crs = read(keys([[1024, 2], [2048, 32767], [2054, 9110], [2056, 7011], [2061, 2.201395]]));
    // EPSG defines Clarke 1880 (IGN), 7011, by its semi-minor axis.
    expect(crs?.proj).toBe('+proj=longlat +a=6378249.2 +b=6356515 +pm=2.33720833333333 +no_defs');
  });

  it('a geographic CRS counting grads says so beside its PROJ string, which can only count degrees', () => {
    expect(read(keys([[1024, 2], [2048, 4807]]))).toMatchObject({ epsg: 4807, degreesPerUnit: 0.9, proj: expect.stringMatching(/\+pm=paris/) });
    expect(read(keys([[1024, 2], [2048, 32767], [2054, 9105], [2056, 7022]]))).toMatchObject({ epsg: null, degreesPerUnit: 0.9 });
    expect(read(keys([[1024, 2], [2048, 4326]]))).not.toHaveProperty('degreesPerUnit');
  });

  it('a geocentric model gives +proj=geocent on the named datum', () => {
    expect(read(keys([[1024, 3], [2048, 4326], [2052, 9001]]))).toMatchObject({
      epsg: null,
      kind: 'geocentric',
      proj: '+proj=geocent +datum=WGS84 +units=m +no_defs',
    });
  });

  it('Miller on an ellipsoid is spelled on its authalic sphere, since proj4js ignores +R_A', () => {
    const crs = read(keys([[1024, 1], [2048, 4326], [3072, 32767], [3075, 20], [3076, 9001]]));
    // PROJ's series for the authalic radius of WGS 84 (the closed form gives 6371007.1809).
    expect(crs?.proj).toBe('+proj=mill +lon_0=0 +x_0=0 +y_0=0 +R=6371007.18108243 +units=m +no_defs');
  });

  it('a TM on a sphere gets +approx, without which proj4js refuses it', () => {
    const crs = read(keys([[1024, 1], [2048, 32767], [2057, 6371000], [2058, 6371000], [3072, 32767], [3075, 1], [3076, 9001]]));
    expect(crs?.proj).toBe('+proj=tmerc +lat_0=0 +lon_0=0 +k=1 +x_0=0 +y_0=0 +approx +R=6371000 +units=m +no_defs');
    expect(() => proj4(crs!.proj)).not.toThrow();
  });
});

describe('names come from citations, cleaned of what writers put around them', () => {
  it('GDAL, ERDAS Imagine and ESRI citations', () => {
    expect(citationName('GCS Name = My ED50|Datum = European_Datum_1950|Primem = Greenwich|')).toBe('My ED50');
    expect(citationName('unknown')).toBeUndefined();
    expect(citationName('LUnits = US survey foot')).toBeUndefined();
    expect(citationName('IMAGINE GeoTIFF Support\nCopyright 1991 - 2001 by ERDAS, Inc. All Rights Reserved\n@(#)$RCSfile$ $Revision$ $Date$\nUTM Zone 10N')).toBe(
      'UTM Zone 10N',
    );
    expect(citationName('ESRI PE String = PROJCS["World_Mollweide",GEOGCS["GCS_WGS_1984"],PROJECTION["Mollweide"]]')).toBe('World_Mollweide');
    expect(citationName('Cartesian (Meter)|')).toBe('Cartesian (Meter)');
  });
});
