import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';

import { crsFromGeoKeys, epsgDataSource, epsgUnavailableReason, geoKeysForEpsg, projForEpsg } from '../../src/raster/crs/index.js';
import { geographicMiss, projectedMiss, TOLERANCE_DEG, TOLERANCE_M, type ReferencePoint } from './proj-check.js';

interface Sample {
  name?: string;
  kind?: 'projected' | 'geographic';
  proj4?: string;
  points?: ReferencePoint[];
  error?: string;
}

const sample = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/crs/epsg-sample.json', import.meta.url)), 'utf8')) as {
  codes: Record<string, Sample>;
};

/** Codes PROJ knows but the table must not hold: methods PROJ strings or proj4js cannot express. */
const NOT_EXPRESSIBLE: Record<number, RegExp> = {
  2218: /PROJ strings cannot express the method Lambert Conic Conformal \(West Orientated\)/,
  6244: /proj4js has no \+proj=col_urban projection/,
  3139: /lands .* from PROJ's EPSG definition/, // +proj=cass +hyperbolic: proj4js ignores +hyperbolic
  8441: /proj4js has no \+proj=labrd projection/,
};

describe('the EPSG table agrees with PROJ', () => {
  it('names its source and holds thousands of projected and geographic CRSs', () => {
    expect(epsgDataSource.epsg).toMatch(/^v\d+\.\d+$/);
    let held = 0;
    for (let code = 2000; code < 33000; code++) if (projForEpsg(code) !== undefined) held++;
    expect(held).toBeGreaterThan(5500);
  });

  for (const [key, want] of Object.entries(sample.codes)) {
    const code = Number(key);
    if (NOT_EXPRESSIBLE[code] !== undefined || want.error !== undefined) continue;
    it(`EPSG:${code} ${want.name}: proj4js lands where PROJ does`, () => {
      const proj = projForEpsg(code);
      expect(proj).toBeDefined();
      expect(() => proj4(proj!)).not.toThrow();
      const points = want.points ?? [];
      if (want.kind === 'projected') {
        const miss = projectedMiss(proj!, points);
        expect(miss.metres).toBeLessThan(TOLERANCE_M);
        expect(miss.degrees).toBeLessThan(TOLERANCE_DEG);
      } else {
        expect(geographicMiss(proj!, points)).toBeLessThan(TOLERANCE_M);
      }
    });
  }

  it('its PROJ strings are GDAL\'s, word for word, except ellipsoid names proj4js lacks', () => {
    let same = 0;
    let spelled = 0;
    for (const [key, want] of Object.entries(sample.codes)) {
      const proj = projForEpsg(Number(key));
      if (proj === undefined || want.proj4 === undefined) continue;
      if (proj === want.proj4) same++;
      else {
        // proj4js silently uses WGS 84 for +ellps names it does not know (WGS72 ...): those are spelled out.
        expect(want.proj4.replace(/\+ellps=\S+/, '')).toBe(proj.replace(/\+a=\S+ \+(rf|b)=\S+/, ''));
        spelled++;
      }
    }
    expect(same).toBeGreaterThan(150);
    expect(spelled).toBeLessThan(same);
  });

  for (const [key, why] of Object.entries(NOT_EXPRESSIBLE)) {
    const code = Number(key);
    it(`EPSG:${code} has no definition and says why`, () => {
      expect(projForEpsg(code)).toBeUndefined();
      expect(epsgUnavailableReason(code)).toMatch(why);
      const crs = crsFromGeoKeys({ directory: [1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, code] }, 'test');
      expect(crs).toMatchObject({ epsg: code, kind: 'projected', proj: '' });
      expect(crs?.reason).toMatch(why);
      expect(() => geoKeysForEpsg(code)).toThrow(expect.objectContaining({ code: 'ERR_EPSG_UNKNOWN' }));
    });
  }

  it('an ESRI code is no EPSG code: undefined, and no invented +init fallback', () => {
    expect(projForEpsg(102100)).toBeUndefined();
    expect(epsgUnavailableReason(102100)).toBeUndefined();
    const crs = crsFromGeoKeys({ directory: [1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 65000] }, 'test');
    expect(crs).toMatchObject({ epsg: 65000, proj: '' });
    expect(crs?.reason).toMatch(/EPSG:65000 is not a projected CRS in the EPSG table \(EPSG v/);
  });

  it('the algorithmic families are all there: WGS 84, ETRS89, NAD83 and SIRGAS 2000 UTM zones', () => {
    for (let zone = 1; zone <= 60; zone++) {
      expect(projForEpsg(32600 + zone)).toBe(`+proj=utm +zone=${zone} +datum=WGS84 +units=m +no_defs`);
      expect(projForEpsg(32700 + zone)).toBe(`+proj=utm +zone=${zone} +south +datum=WGS84 +units=m +no_defs`);
    }
    for (let zone = 28; zone <= 37; zone++) expect(projForEpsg(25800 + zone)).toMatch(new RegExp(`^\\+proj=utm \\+zone=${zone} \\+ellps=GRS80`));
    for (let zone = 3; zone <= 23; zone++) expect(projForEpsg(26900 + zone)).toMatch(new RegExp(`^\\+proj=utm \\+zone=${zone} \\+datum=NAD83`));
    for (let zone = 17; zone <= 25; zone++) expect(projForEpsg(31960 + zone)).toMatch(new RegExp(`^\\+proj=utm \\+zone=${zone} \\+south \\+ellps=GRS80`));
    expect(projForEpsg(3857)).toMatch(/^\+proj=merc \+a=6378137 \+b=6378137 /);
  });
});
