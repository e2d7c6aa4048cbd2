import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { CrsError, crsFromGeoKeys, type GeoKeyTags } from '../../src/raster/crs/index.js';
import { DataboxError } from '../../src/errors.js';
import { prng } from '../helpers/prng.js';
import { readGeoKeyTags } from './tiff-geokeys.js';

const WHERE = 's3://bucket/scene_B4.TIF';

/** Expects ERR_GEOKEYS whose message names the file and matches `what`. */
function expectBad(tags: GeoKeyTags, what: RegExp): void {
  let caught: unknown;
  try {
    crsFromGeoKeys(tags, WHERE);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CrsError);
  expect(caught).toBeInstanceOf(DataboxError);
  const err = caught as CrsError;
  expect(err.code).toBe('ERR_GEOKEYS');
  expect(err.retryable).toBe(false);
  expect(err.message).toContain(WHERE);
  expect(err.message).toMatch(what);
}

/** A projected user-defined TM whose keys the cases below break one at a time. */
function tm(overrides: { doubles?: number[]; extra?: number[] } = {}): GeoKeyTags {
  const extra = overrides.extra ?? [];
  const keys = [
    [1024, 0, 1, 1],
    [2048, 0, 1, 4326],
    [3072, 0, 1, 32767],
    [3075, 0, 1, 1],
    [3076, 0, 1, 9001],
    [3080, 34736, 1, 0],
    [3082, 34736, 1, 1],
  ];
  const directory = [1, 1, 0, keys.length + extra.length / 4, ...keys.flat(), ...extra];
  return { directory, doubles: overrides.doubles ?? [9, 500000] };
}

describe('malformed GeoKeys are typed errors naming the file and the key, never a crash', () => {
  it('no GeoKeys at all is no CRS, not an error', () => {
    expect(crsFromGeoKeys({ directory: [] }, WHERE)).toBeNull();
    expect(crsFromGeoKeys({ directory: [1, 1, 0, 0] }, WHERE)).toBeNull();
  });

  it('a well-formed user-defined TM reads (the baseline the other cases break)', () => {
    expect(crsFromGeoKeys(tm(), WHERE)?.proj).toBe('+proj=tmerc +lat_0=0 +lon_0=9 +k=1 +x_0=500000 +y_0=0 +datum=WGS84 +units=m +no_defs');
  });

  it('a header shorter than 4 values', () => expectBad({ directory: [1, 1] }, /holds 2 values; its header alone needs 4/));

  it('a key count larger than the array', () =>
    expectBad({ directory: [1, 1, 0, 5, 1024, 0, 1, 1] }, /declares 5 keys, which need 24 values, but holds 8/));

  it('a key count of 65535 with a short array', () => expectBad({ directory: [1, 1, 0, 65535] }, /declares 65535 keys/));

  it('a directory version other than 1', () => expectBad({ directory: [2, 1, 0, 0] }, /version is 2/));

  it('values that are not SHORTs', () => {
    expectBad({ directory: [1, 1, 0, 1, 1024, 0, 1, 1.5] }, /value #7 is 1\.5, not a SHORT/);
    expectBad({ directory: [1, 1, 0, 1, 1024, 0, 1, -1] }, /value #7 is -1/);
    expectBad({ directory: [1, 1, 0, 1, 1024, 0, 1, 70000] }, /value #7 is 70000/);
    expectBad({ directory: [1, 1, 0, 1, 1024, 0, 1, Number.NaN] }, /value #7 is NaN/);
  });

  it('a directory that is not an array', () => {
    expectBad({ directory: null as unknown as number[] }, /is not an array/);
  });

  it('a DOUBLE offset past the end of GeoDoubleParamsTag', () =>
    expectBad(tm({ doubles: [9] }), /ProjFalseEastingGeoKey \(3082\) points at GeoDoubleParamsTag values 1\.\.1, past its 1 values/));

  it('a DOUBLE key with no GeoDoubleParamsTag', () => {
    const { directory } = tm();
    expectBad({ directory }, /ProjNatOriginLongGeoKey \(3080\) points into GeoDoubleParamsTag \(34736\), which the file lacks/);
  });

  it('NaN and infinite doubles', () => {
    expectBad(tm({ doubles: [Number.NaN, 500000] }), /ProjNatOriginLongGeoKey \(3080\) value #0 \(GeoDoubleParamsTag\[0\]\) is NaN/);
    expectBad(tm({ doubles: [9, Number.POSITIVE_INFINITY] }), /ProjFalseEastingGeoKey \(3082\) .* is Infinity/);
  });

  it('an ASCII offset past the end of GeoAsciiParamsTag, or no such tag', () => {
    expectBad({ directory: [1, 1, 0, 1, 1026, 34737, 5, 10], ascii: 'abc|' }, /GTCitationGeoKey \(1026\) points at GeoAsciiParamsTag characters 10\.\.14, past its 4/);
    expectBad({ directory: [1, 1, 0, 1, 1026, 34737, 5, 0] }, /GTCitationGeoKey \(1026\) points into GeoAsciiParamsTag \(34737\), which the file lacks/);
  });

  it('an ASCII count one past the end (a NUL terminator instead of |) is forgiven, as libgeotiff does', () => {
    const crs = crsFromGeoKeys({ directory: [1, 1, 0, 2, 1024, 0, 1, 32767, 1026, 34737, 5, 0], ascii: 'Grid' }, WHERE);
    expect(crs).toMatchObject({ kind: 'engineering', name: 'Grid' });
  });

  it('a tag location that is not a GeoKey value tag', () =>
    expectBad({ directory: [1, 1, 0, 1, 1024, 33550, 1, 0] }, /GTModelTypeGeoKey \(1024\) says its value is in TIFF tag 33550/));

  it('more than one value kept inside the entry', () => expectBad({ directory: [1, 1, 0, 1, 1024, 0, 2, 1] }, /keeps 2 values in its entry/));

  it('values kept in the directory itself, past its end', () =>
    expectBad({ directory: [1, 1, 0, 1, 1024, 34735, 1, 99] }, /points at GeoKeyDirectoryTag values 99\.\.99, past its 8 values/));

  it('a key given twice', () => expectBad({ directory: [1, 1, 0, 2, 1024, 0, 1, 1, 1024, 0, 1, 2] }, /GTModelTypeGeoKey \(1024\) appears twice/));

  it('keys holding the wrong kind of value', () => {
    expectBad({ directory: [1, 1, 0, 1, 1024, 34737, 4, 0], ascii: 'abc|' }, /GTModelTypeGeoKey \(1024\) should hold one integer code but holds text "abc"/);
    expectBad({ directory: [1, 1, 0, 2, 1024, 0, 1, 1, 3072, 34736, 1, 0], doubles: [32632.5] }, /ProjectedCSTypeGeoKey \(3072\) should hold one integer code/);
    expectBad(tm({ extra: [3073, 0, 1, 5] }), /PCSCitationGeoKey \(3073\) should hold text but holds \[5\]/);
  });

  it('values that make no sense for their key', () => {
    expectBad(tm({ extra: [3081, 34736, 1, 2], doubles: [9, 500000, 100] }), /ProjNatOriginLatGeoKey \(3081\) = 100 is not a latitude/);
    expectBad(tm({ extra: [3092, 34736, 1, 2], doubles: [9, 500000, 0] }), /ProjScaleAtNatOriginGeoKey \(3092\) = 0 is not a positive scale factor/);
    expectBad(tm({ doubles: [400, 500000] }), /ProjNatOriginLongGeoKey \(3080\) = 400 is not a longitude/);
    const huge = tm({ doubles: [9, 1e308] });
    (huge.directory as number[]).splice(4 + 4 * 4, 4, 3076, 0, 1, 9036); // kilometres: 1e308 km overflows
    expectBad(huge, /ProjFalseEastingGeoKey \(3082\) = 1e\+308 overflows when turned into metres/);
  });

  it('bad units: not an EPSG unit, or user-defined without a size', () => {
    const units = (code: number, extra: number[] = [], doubles: number[] = []): GeoKeyTags => ({
      directory: [1, 1, 0, 3 + extra.length / 4, 1024, 0, 1, 1, 3072, 0, 1, 32767, 3076, 0, 1, code, ...extra].map((v, i) =>
        i === 3 ? 3 + extra.length / 4 : v,
      ),
      doubles,
    });
    expectBad(units(12345), /ProjLinearUnitsGeoKey \(3076\) = 12345 is not an EPSG unit of length/);
    expectBad(units(9102), /= 9102 is not an EPSG unit of length/);
    expectBad(units(32767), /ProjLinearUnitsGeoKey \(3076\) = 32767 \(user-defined\) but ProjLinearUnitSizeGeoKey \(3077\) is missing/);
    expectBad(units(32767, [3077, 34736, 1, 0], [-1]), /ProjLinearUnitSizeGeoKey \(3077\) = -1 is not a positive number of metres/);
  });

  it('bad geodetic keys: a negative axis, a 5-parameter TOWGS84, an unknown ellipsoid code', () => {
    const geog = (keys: number[][], doubles: number[]): GeoKeyTags => ({
      directory: [1, 1, 0, keys.length + 1, 1024, 0, 1, 2, ...keys.flat()],
      doubles,
    });
    expectBad(geog([[2048, 0, 1, 32767], [2057, 34736, 1, 0], [2059, 34736, 1, 1]], [-6378137, 298]), /GeogSemiMajorAxisGeoKey \(2057\) = -6378137 is not a positive length/);
    expectBad(geog([[2048, 0, 1, 32767], [2062, 34736, 5, 0]], [1, 2, 3, 4, 5]), /GeogTOWGS84GeoKey \(2062\) = \[1, 2, 3, 4, 5\] should hold 3 or 7/);
    expectBad(geog([[2048, 0, 1, 32767], [2056, 0, 1, 7999]], []), /GeogEllipsoidGeoKey \(2056\) = 7999 is not an EPSG ellipsoid code/);
  });
});

describe('hostile ESRI PE strings are read or refused, never a crash', () => {
  const withPe = (pe: string): GeoKeyTags => {
    const text = `ESRI PE String = ${pe}|`;
    return { directory: [1, 1, 0, 2, 1024, 0, 1, 32767, 3073, 34737, text.length, 0], ascii: text };
  };

  it('deep nesting, unterminated text and garbage leave proj empty with a reason', () => {
    for (const pe of ['PROJCS['.repeat(5000), 'PROJCS["x', 'PROJCS["x",PROJECTION["Mollweide"],PARAMETER["False_Easting",1e999999]]', '{}', 'GEOGCS["WGS 84"]']) {
      const crs = crsFromGeoKeys(withPe(pe), WHERE);
      expect(crs?.kind).toBe('projected');
      if (crs?.proj !== '') expect(crs?.proj).not.toMatch(/NaN|Infinity/);
      else expect(crs.reason).toMatch(/ESRI/);
    }
  });

  it('a well-formed one with a projection this reader does not map names it', () => {
    const crs = crsFromGeoKeys(withPe('PROJCS["w",GEOGCS["g"],PROJECTION["Winkel_Tripel"],UNIT["Meter",1.0]]'), WHERE);
    expect(crs).toMatchObject({ proj: '', name: 'w', reason: 'the ESRI projection Winkel_Tripel is not one this reader maps to PROJ' });
  });
});

describe('random and mutated GeoKeys', () => {
  const folder = fileURLToPath(new URL('../fixtures/crs/', import.meta.url));
  const seeds = ['lcc2sp-nad83-usft', 'omerc-hotine-a', 'utm-intl-user-datum', 'epsg-4326', 'esri-pe-krovak', 'longlat-pm-code-towgs84'];
  const real = seeds.map((name) => readGeoKeyTags(`${folder}${name}.tif`)!);

  /** Only CrsError may escape; anything returned must be a well-formed Crs. */
  function survive(tags: GeoKeyTags): 'ok' | 'rejected' {
    try {
      const crs = crsFromGeoKeys(tags, 'fuzz');
      if (crs !== null) {
        expect(['projected', 'geographic', 'geocentric', 'engineering']).toContain(crs.kind);
        expect(crs.proj === '' || crs.proj.startsWith('+proj=')).toBe(true);
        expect(crs.proj).not.toMatch(/NaN|undefined|Infinity/);
        if (crs.proj === '') expect(typeof crs.reason).toBe('string');
      }
      return 'ok';
    } catch (err) {
      if (!(err instanceof CrsError)) throw err;
      expect(err.message).toContain('fuzz');
      return 'rejected';
    }
  }

  it('2000 mutations of real key sets are read or rejected with a CrsError', () => {
    const rand = prng(0xc125);
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < 2000; i++) {
      const base = real[i % real.length]!;
      const directory = Array.from(base.directory);
      const doubles = Array.from(base.doubles ?? []);
      let ascii = base.ascii ?? '';
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const r = rand();
        if (r < 0.5) {
          const at = Math.floor(rand() * directory.length);
          const choices = [0, 1, 2, 3, 32767, 65535, 34735, 34736, 34737, Math.floor(rand() * 70000), directory[at]! + 1, -1, 0.5];
          directory[at] = choices[Math.floor(rand() * choices.length)]!;
        } else if (r < 0.75 && doubles.length > 0) {
          const choices = [Number.NaN, 0, -1, 1e308, -1e308, 90.0000001, Number.POSITIVE_INFINITY, rand() * 1000];
          doubles[Math.floor(rand() * doubles.length)] = choices[Math.floor(rand() * choices.length)]!;
        } else if (r < 0.9) {
          directory.length = Math.floor(rand() * directory.length);
        } else {
          ascii = ascii.slice(0, Math.floor(rand() * ascii.length));
        }
      }
      outcomes[survive({ directory, doubles, ascii })]++;
    }
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(outcomes.rejected).toBeGreaterThan(100);
  });

  it('500 random directories are read or rejected with a CrsError', () => {
    const rand = prng(42);
    for (let i = 0; i < 500; i++) {
      const n = Math.floor(rand() * 12);
      const keyIds = [1024, 1025, 1026, 2048, 2050, 2051, 2054, 2056, 2057, 2059, 2061, 2062, 3072, 3074, 3075, 3076, 3077, 3078, 3080, 3081, 3082, 3092, 3094, 3095];
      const directory = [1, 1, rand() < 0.5 ? 0 : 1, n];
      for (let k = 0; k < n; k++) {
        const loc = [0, 0, 0, 34736, 34737][Math.floor(rand() * 5)]!;
        directory.push(keyIds[Math.floor(rand() * keyIds.length)]!, loc, loc === 0 ? 1 : 1 + Math.floor(rand() * 3), Math.floor(rand() * (loc === 0 ? 33000 : 6)));
      }
      const doubles = Array.from({ length: 6 }, () => (rand() - 0.5) * 400);
      survive({ directory, doubles, ascii: 'abc|def|ghi|' });
    }
  });
});
