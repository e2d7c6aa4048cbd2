import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';

import { crsFromGeoKeys, requireProj } from '../../src/raster/crs/index.js';
import { geographicMiss, projectedMiss, TOLERANCE_DEG, TOLERANCE_M, type ReferencePoint } from './proj-check.js';
import { readGeoKeyTags } from './tiff-geokeys.js';

interface Expected {
  file: string;
  kind: 'projected' | 'geographic' | 'geocentric' | 'engineering' | null;
  epsg?: number | null;
  name?: string;
  proj4?: string;
  points?: ReferencePoint[];
}

const folder = fileURLToPath(new URL('../fixtures/crs/', import.meta.url));
const expected = JSON.parse(readFileSync(`${folder}expected.json`, 'utf8')) as { fixtures: Record<string, Expected> };

/**
 * Where we part ways with GDAL 3.6 on purpose. GDAL converts GeogPrimeMeridianLongGeoKey from grads
 * three times over (2.5969213 grad reads as 1.8931556 degrees); GeoTIFF says once: 2.33722917.
 */
const DIVERGES: Record<string, string> = {
  'tmerc-pm-long-in-grads': '+pm=2.33722917',
};

/**
 * proj4js shortcomings, not ours: the PROJ string equals GDAL's, proj4js just runs it differently.
 * Reprojection with these methods inherits them.
 */
const PROJ4JS_LIMITS: Record<string, { metres?: number; degrees?: number; skipInverseAtOrigin?: boolean; why: string }> = {
  'robin-wgs84': { metres: 0.25, degrees: 3e-6, why: "proj4js's Robinson table differs from PROJ's by up to 0.2 m" },
  'vandg-sphere': { skipInverseAtOrigin: true, why: "proj4js's Van der Grinten inverse returns NaN at the origin" },
};

function crsOf(name: string) {
  const tags = readGeoKeyTags(`${folder}${name}.tif`);
  if (tags === null) throw new Error(`${name}.tif has no GeoKeys`);
  return crsFromGeoKeys(tags, `${name}.tif`);
}

describe('GeoTIFFs written by GDAL and geotifcp read as GDAL reads them', () => {
  for (const [name, want] of Object.entries(expected.fixtures)) {
    it(`${name}: ${want.kind ?? 'no CRS'}${want.epsg ? ` EPSG:${want.epsg}` : ''}`, () => {
      const crs = crsOf(name);
      expect(crs?.kind ?? null).toBe(want.kind);
      if (crs === null) return;
      expect(crs.epsg).toBe(want.epsg ?? null);
      if (want.kind === 'engineering') {
        expect(crs.proj).toBe('');
        expect(crs.reason).toMatch(/GTModelTypeGeoKey/);
        return;
      }
      expect(crs.proj).not.toBe('');
      // Every definition must be one proj4js accepts.
      expect(() => proj4(crs.proj)).not.toThrow();
      const divergence = DIVERGES[name];
      if (divergence !== undefined) {
        expect(crs.proj).toContain(divergence);
        return;
      }
      if (want.epsg) expect(crs.proj).toBe(want.proj4);
      const points = want.points ?? [];
      if (want.kind === 'projected') {
        const limits = PROJ4JS_LIMITS[name];
        const miss = projectedMiss(crs.proj, points, limits ?? {});
        expect(miss.metres).toBeLessThan(limits?.metres ?? TOLERANCE_M);
        expect(miss.degrees).toBeLessThan(limits?.degrees ?? TOLERANCE_DEG);
      } else if (want.kind === 'geographic') {
        expect(geographicMiss(crs.proj, points)).toBeLessThan(TOLERANCE_M);
      }
    });
  }

  it('every fixture with reference points has at least one, so no comparison is vacuous', () => {
    for (const [name, want] of Object.entries(expected.fixtures)) {
      if (want.kind === 'projected' || want.kind === 'geographic') {
        if (DIVERGES[name] === undefined && want.proj4 !== '') expect(want.points?.length ?? 0, name).toBeGreaterThan(0);
      }
    }
  });

  it('a user-defined Lambert in US feet keeps GDAL datum words and units verbatim', () => {
    expect(crsOf('lcc2sp-nad83-usft')?.proj).toBe(
      '+proj=lcc +lat_0=39 +lon_0=-96 +lat_1=33 +lat_2=45 +x_0=0 +y_0=0 +datum=NAD83 +units=us-ft +no_defs',
    );
  });

  it('false easting in a user-defined unit is converted to metres for +x_0', () => {
    expect(crsOf('lcc2sp-false-origin-user-unit')?.proj).toContain('+x_0=99999.798984 +y_0=49999.901016');
  });

  it('a ProjectionGeoKey conversion code borrows the projection of an EPSG CRS', () => {
    expect(crsOf('projection-code-utm32n')).toEqual({
      epsg: null,
      kind: 'projected',
      name: 'UTM 32N on WGS 84',
      proj: '+proj=utm +zone=32 +datum=WGS84 +units=m +no_defs',
    });
  });

  it('GeogTOWGS84GeoKey becomes +towgs84, padded to 7 parameters as GDAL prints it', () => {
    expect(crsOf('longlat-pm-code-towgs84')?.proj).toContain('+towgs84=-168,-60,320,0,0,0,0');
  });

  it('Hotine B with azimuth and grid angle 90 is the Swiss Oblique Mercator, as PROJ exports it', () => {
    expect(crsOf('omerc-hotine-b')?.proj).toMatch(/^\+proj=somerc /);
  });

  it('an ESRI PE string in PCSCitationGeoKey gives the projection when GeoKeys have no code for it', () => {
    expect(crsOf('esri-pe-mollweide')?.proj).toBe('+proj=moll +lon_0=0 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs');
    expect(crsOf('esri-pe-krovak')?.proj).toMatch(/^\+proj=krovak \+lat_0=49\.5 /);
  });

  it('a south-oriented TM carries +axis=wsu, which proj4js applies only when asked', () => {
    const crs = crsOf('tmerc-south-oriented');
    const proj = requireProj(crs!, 'tmerc-south-oriented.tif');
    const geog = '+proj=longlat +ellps=WGS84 +no_defs';
    const [westing] = proj4(geog, proj).forward([24, -30], true);
    const [easting] = proj4(geog, proj).forward([24, -30]);
    expect(westing).toBeGreaterThan(0);
    expect(easting).toBeCloseTo(-(westing ?? 0), 6);
  });

  it('a file without GTModelTypeGeoKey but with a geographic code is an engineering CRS, as in GDAL', () => {
    const crs = crsOf('no-model-type-geographic');
    expect(crs).toMatchObject({ kind: 'engineering', epsg: null, proj: '' });
    expect(() => requireProj(crs!, 'no-model-type-geographic.tif')).toThrow(/no-model-type-geographic\.tif.*GTModelTypeGeoKey is missing/);
  });
});
