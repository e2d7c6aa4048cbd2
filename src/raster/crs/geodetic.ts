/**
 * The geodetic half of a GeoTIFF CRS (datum, ellipsoid, prime meridian) as PROJ words.
 *
 * Precedence follows libgeotiff's GTIFGetDefn, so a file reads the same here as in GDAL: an EPSG
 * geographic CRS code wins outright; otherwise the datum code gives an ellipsoid and prime meridian,
 * which the ellipsoid code, the explicit axes, the prime meridian keys and GeogTOWGS84GeoKey override
 * in that order. With nothing at all GDAL falls back to WGS 84, and so do we.
 */
import { citationName } from './citation.js';
import type { GeoKeyDirectory } from './directory.js';
import { epsgCrs, epsgDatum, epsgEllipsoid, epsgPrimeMeridian, type EpsgEllipsoid } from './epsg.js';
import { GeoKey, USER_DEFINED } from './geokeys.js';
import { datumWords, formatNumber, numberWord, wordKey, wordValue } from './proj-string.js';
import { angularUnit, linearUnit, type AngularUnit } from './units.js';

/** The geodetic part of a CRS, ready to append to "+proj=...". */
export interface Geodetic {
  /** Datum words: +datum or the ellipsoid (+ellps, +a/+rf, +a/+b, +R), then +towgs84/+nadgrids, then +pm. */
  readonly words: readonly string[];
  /** EPSG code of the geographic CRS when GeographicTypeGeoKey names one the table holds. */
  readonly epsg?: number;
  /** A human name: the EPSG name, else the citation's "GCS Name", else the datum's name. */
  readonly name?: string;
  /** The unit the geographic CRS's own coordinates are in (degrees unless GeogAngularUnitsGeoKey says). */
  readonly angularUnit: AngularUnit;
  /**
   * True when no key spelled the datum out and the words are GDAL's WGS 84 fallback; callers treat an
   * unknown GeographicTypeGeoKey code plus this as "no datum" rather than guess.
   */
  readonly defaulted: boolean;
  /** The ellipsoid's numbers (metres), for projections that need a derived sphere. */
  readonly ellipsoid: Ellipsoid;
}

/** Semi-major axis and inverse flattening (0 for a sphere), in metres. */
export interface Ellipsoid {
  /** Semi-major axis in metres. */
  readonly a: number;
  /** Inverse flattening; 0 for a sphere. */
  readonly rf: number;
}

const WGS84_ELLIPSOID: Ellipsoid = { a: 6378137, rf: 298.257223563 };

/** Keys that define the ellipsoid by themselves (a +datum implies one). */
const ELLIPSOID_KEYS = new Set(['datum', 'ellps', 'a', 'b', 'rf', 'f', 'R']);
/** The ellipsoid behind each +datum name GDAL prints, for when a key overrides part of the datum. */
const DATUM_ELLIPSOID: Record<string, string> = { WGS84: '+ellps=WGS84', NAD83: '+ellps=GRS80', NAD27: '+ellps=clrk66' };

/** Reads the geodetic keys. Never returns an empty word list: the WGS 84 fallback fills it. */
export function geodeticFromKeys(dir: GeoKeyDirectory): Geodetic {
  const units = angularUnit(dir, GeoKey.GeogAngularUnits, GeoKey.GeogAngularUnitSize);
  const citation = citationName(dir.text(GeoKey.GeogCitation));

  const gcs = dir.code(GeoKey.GeographicType);
  if (isCode(gcs)) {
    const crs = epsgCrs(gcs);
    if (crs !== undefined && crs.kind === 'geographic') {
      const e = epsgEllipsoid(crs.ellipsoid);
      return {
        words: datumWords(crs.proj),
        epsg: gcs,
        name: crs.name,
        angularUnit: units,
        defaulted: false,
        ellipsoid: e === undefined ? WGS84_ELLIPSOID : toEllipsoid(e.a, e.rf, e.b),
      };
    }
    // An EPSG code we do not hold: fall through to whatever the other keys spell out.
  }

  let ellipsoid: string[] = [];
  let shift: string[] = [];
  let pm: number | string | undefined;
  let ellipsoidNumbers: EpsgEllipsoid | undefined;
  let datumName: string | undefined;

  const datumCode = dir.code(GeoKey.GeogGeodeticDatum);
  if (isCode(datumCode)) {
    const datum = epsgDatum(datumCode);
    if (datum !== undefined) {
      datumName = datum.name;
      ellipsoidNumbers = epsgEllipsoid(datum.ellipsoid);
      const borrowed = datum.geographic === undefined ? undefined : epsgCrs(datum.geographic);
      if (borrowed !== undefined) {
        const words = datumWords(borrowed.proj);
        ellipsoid = words.filter((w) => ELLIPSOID_KEYS.has(wordKey(w)));
        shift = words.filter((w) => wordKey(w) === 'towgs84' || wordKey(w) === 'nadgrids');
        const pmWord = words.find((w) => wordKey(w) === 'pm');
        pm = pmWord === undefined ? undefined : wordValue(pmWord);
      } else {
        if (ellipsoidNumbers !== undefined) ellipsoid = ellipsoidWords(ellipsoidNumbers.a, ellipsoidNumbers.rf, ellipsoidNumbers.b);
        const p = epsgPrimeMeridian(datum.primeMeridian);
        if (p !== undefined && p.degrees !== 0) pm = p.degrees;
      }
    }
  }

  const ellipsoidCode = dir.code(GeoKey.GeogEllipsoid);
  if (isCode(ellipsoidCode)) {
    const e = epsgEllipsoid(ellipsoidCode);
    if (e === undefined) throw dir.invalid(GeoKey.GeogEllipsoid, ellipsoidCode, 'is not an EPSG ellipsoid code');
    if (ellipsoidNumbers === undefined || !sameEllipsoid(e.a, e.rf, e.b, ellipsoidNumbers)) {
      ({ ellipsoid, shift } = replaceEllipsoid(ellipsoid, shift, ellipsoidWords(e.a, e.rf, e.b)));
    }
    ellipsoidNumbers = e;
  }

  // Explicit axes, in GeogLinearUnits; inverse flattening beats semi-minor axis, as in libgeotiff.
  const axisUnit = linearUnit(dir, GeoKey.GeogLinearUnits, GeoKey.GeogLinearUnitSize).metres;
  const aKey = dir.number(GeoKey.GeogSemiMajorAxis);
  const bKey = dir.number(GeoKey.GeogSemiMinorAxis);
  const rfKey = dir.number(GeoKey.GeogInvFlattening);
  if (aKey !== undefined || bKey !== undefined || rfKey !== undefined) {
    const a = aKey !== undefined ? aKey * axisUnit : ellipsoidNumbers?.a;
    if (a === undefined) {
      const key = bKey !== undefined ? GeoKey.GeogSemiMinorAxis : GeoKey.GeogInvFlattening;
      throw dir.invalid(key, bKey ?? rfKey, 'is given without a semi-major axis or an ellipsoid to take one from');
    }
    if (!(a > 0 && Number.isFinite(a))) throw dir.invalid(GeoKey.GeogSemiMajorAxis, aKey, 'is not a positive length');
    let rf: number | undefined;
    let b: number | undefined;
    if (rfKey !== undefined) {
      if (rfKey < 0) throw dir.invalid(GeoKey.GeogInvFlattening, rfKey, 'is negative');
      rf = rfKey;
    } else if (bKey !== undefined) {
      b = bKey * axisUnit;
      if (!(b > 0 && b <= a)) throw dir.invalid(GeoKey.GeogSemiMinorAxis, bKey, `is not a length in (0, ${a}]`);
    } else if (ellipsoidNumbers !== undefined) {
      rf = ellipsoidNumbers.rf;
      b = ellipsoidNumbers.b;
    } else {
      // A semi-major axis alone is how GDAL writes a sphere (EPSG:4047 and kin).
      b = a;
    }
    // GDAL writes the axes next to a datum code as a courtesy; only a real difference replaces the datum's words.
    if (ellipsoidNumbers === undefined || !sameEllipsoid(a, rf, b, ellipsoidNumbers) || ellipsoid.length === 0) {
      ({ ellipsoid, shift } = replaceEllipsoid(ellipsoid, shift, ellipsoidWords(a, rf, b)));
    }
    ellipsoidNumbers = { code: USER_DEFINED, name: '', a, ...(rf !== undefined ? { rf } : { b: b ?? a }) };
  }

  const pmCode = dir.code(GeoKey.GeogPrimeMeridian);
  if (isCode(pmCode)) {
    const p = epsgPrimeMeridian(pmCode);
    if (p === undefined) throw dir.invalid(GeoKey.GeogPrimeMeridian, pmCode, 'is not an EPSG prime meridian code');
    pm = p.degrees;
  } else {
    const pmLong = dir.number(GeoKey.GeogPrimeMeridianLong);
    if (pmLong !== undefined) pm = units.toDegrees(pmLong);
  }
  if (typeof pm === 'number' && (!Number.isFinite(pm) || Math.abs(pm) > 360)) {
    throw dir.invalid(GeoKey.GeogPrimeMeridianLong, pm, 'is not a longitude');
  }

  const towgs84 = dir.numbers(GeoKey.GeogTOWGS84);
  if (towgs84 !== undefined) {
    if (towgs84.length !== 3 && towgs84.length !== 7) {
      throw dir.invalid(GeoKey.GeogTOWGS84, `[${towgs84.join(', ')}]`, 'should hold 3 or 7 Helmert parameters');
    }
    // A +datum name carries its own shift in PROJ and proj4js; keep only its ellipsoid under the key's.
    ellipsoid = ellipsoid.flatMap((w) => (wordKey(w) === 'datum' ? datumEllipsoid(wordValue(w)) : [w]));
    shift = [`+towgs84=${padTowgs84(towgs84).map(formatNumber).join(',')}`];
  }

  const defaulted = ellipsoid.length === 0;
  if (defaulted) ellipsoid = ['+ellps=WGS84'];
  const words = [...ellipsoid, ...shift];
  if (pm !== undefined && pm !== 0 && pm !== '0') words.push(typeof pm === 'number' ? numberWord('pm', pm) : `+pm=${pm}`);
  const name = citation ?? datumName;
  const numbers = ellipsoidNumbers === undefined || defaulted ? WGS84_ELLIPSOID : toEllipsoid(ellipsoidNumbers.a, ellipsoidNumbers.rf, ellipsoidNumbers.b);
  const result = { words, angularUnit: units, defaulted, ellipsoid: numbers };
  return name === undefined ? result : { ...result, name };
}

/** True for a code that names something (neither absent, 0, nor USER_DEFINED). */
export function isCode(code: number | undefined): code is number {
  return code !== undefined && code !== 0 && code !== USER_DEFINED;
}

function toEllipsoid(a: number, rf: number | undefined, b: number | undefined): Ellipsoid {
  if (rf !== undefined) return { a, rf };
  const minor = b ?? a;
  return { a, rf: minor === a ? 0 : a / (a - minor) };
}

/**
 * The radius of the sphere with the ellipsoid's surface area, PROJ's +R_A. proj4js parses +R_A but
 * never applies it, so projections PROJ runs on that sphere get it spelled out as +R.
 */
export function authalicRadius(e: Ellipsoid): number {
  if (e.rf === 0) return e.a;
  const f = 1 / e.rf;
  const es = f * (2 - f);
  return e.a * (1 - es * (1 / 6 + es * (17 / 360 + es * (67 / 3024))));
}

function ellipsoidWords(a: number, rf: number | undefined, b: number | undefined): string[] {
  if ((rf !== undefined && rf === 0) || (rf === undefined && b === a)) return [numberWord('R', a)];
  if (rf !== undefined) return [numberWord('a', a), numberWord('rf', rf)];
  return [numberWord('a', a), numberWord('b', b ?? a)];
}

function sameEllipsoid(a: number, rf: number | undefined, b: number | undefined, e: EpsgEllipsoid): boolean {
  const flatten = (aa: number, rr: number | undefined, bb: number | undefined): number =>
    rr !== undefined ? (rr === 0 ? 0 : 1 / rr) : bb !== undefined ? 1 - bb / aa : 0;
  return Math.abs(a - e.a) < 1e-3 && Math.abs(flatten(a, rf, b) - flatten(e.a, e.rf, e.b)) < 1e-12;
}

/** Swaps the ellipsoid; a +datum goes too, and with it any shift it implied. */
function replaceEllipsoid(ellipsoid: string[], shift: string[], replacement: string[]): { ellipsoid: string[]; shift: string[] } {
  const hadDatum = ellipsoid.some((w) => wordKey(w) === 'datum');
  return { ellipsoid: replacement, shift: hadDatum ? [] : shift };
}

function datumEllipsoid(datum: string): string[] {
  const e = DATUM_ELLIPSOID[datum];
  return e === undefined ? [] : [e];
}

function padTowgs84(values: readonly number[]): number[] {
  return values.length === 3 ? [...values, 0, 0, 0, 0] : [...values];
}
