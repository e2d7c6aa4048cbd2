/**
 * Units of length and angle named by GeoKeys: EPSG unit codes, or USER_DEFINED plus a size key.
 */
import type { GeoKeyDirectory } from './directory.js';
import { epsgUnit } from './epsg.js';
import { geoKeyName, Unit, USER_DEFINED } from './geokeys.js';
import { formatNumber } from './proj-string.js';

/** A resolved unit of length. */
export interface LinearUnit {
  /** EPSG code, or USER_DEFINED. */
  readonly code: number;
  /** Metres per unit. */
  readonly metres: number;
}

/** A resolved unit of angle; `toDegrees` turns a value in this unit into decimal degrees. */
export interface AngularUnit {
  /** EPSG code, or USER_DEFINED. */
  readonly code: number;
  /** Converts one value in this unit to decimal degrees. */
  readonly toDegrees: (value: number) => number;
}

const METRE: LinearUnit = { code: Unit.Metre, metres: 1 };
const DEGREE: AngularUnit = { code: Unit.Degree, toDegrees: (v) => v };

/**
 * The linear unit a `codeKey` (ProjLinearUnitsGeoKey, GeogLinearUnitsGeoKey) names, with `sizeKey`
 * (metres per unit) for USER_DEFINED. Metre when the key is absent, as GeoTIFF specifies.
 */
export function linearUnit(dir: GeoKeyDirectory, codeKey: number, sizeKey: number): LinearUnit {
  const code = dir.code(codeKey);
  if (code === undefined) return METRE;
  if (code === USER_DEFINED) {
    const size = dir.number(sizeKey);
    if (size === undefined) throw dir.invalid(codeKey, code, `(user-defined) but ${geoKeyName(sizeKey)} is missing`);
    if (!(size > 0)) throw dir.invalid(sizeKey, size, 'is not a positive number of metres');
    return { code, metres: size };
  }
  const unit = epsgUnit(code);
  if (unit === undefined || unit.kind !== 'length' || unit.factor === undefined || !(unit.factor > 0)) {
    throw dir.invalid(codeKey, code, 'is not an EPSG unit of length');
  }
  return { code, metres: unit.factor };
}

/**
 * The angular unit a `codeKey` (GeogAngularUnitsGeoKey) names, with `sizeKey` (radians per unit) for
 * USER_DEFINED. Degree when the key is absent.
 */
export function angularUnit(dir: GeoKeyDirectory, codeKey: number, sizeKey: number): AngularUnit {
  const code = dir.code(codeKey);
  if (code === undefined) return DEGREE;
  if (code === USER_DEFINED) {
    const size = dir.number(sizeKey);
    if (size === undefined) throw dir.invalid(codeKey, code, `(user-defined) but ${geoKeyName(sizeKey)} is missing`);
    if (!(size > 0)) throw dir.invalid(sizeKey, size, 'is not a positive number of radians');
    return { code, toDegrees: (v) => (v * size * 180) / Math.PI };
  }
  if (code === Unit.SexagesimalDms) return { code, toDegrees: sexagesimalDmsToDegrees };
  const unit = epsgUnit(code);
  if (unit === undefined || unit.kind !== 'angle') throw dir.invalid(codeKey, code, 'is not an EPSG unit of angle');
  // Other notations without a factor (9107 "degree minute second" ...) are representations of
  // degrees for text; a binary double in them can only mean degrees.
  const factor = unit.factor;
  if (factor === undefined) return { code, toDegrees: (v) => v };
  return { code, toDegrees: (v) => (v * factor * 180) / Math.PI };
}

/** EPSG unit 9110, DDD.MMSSsss: 45.3015 is 45 degrees 30 minutes 15 seconds. */
export function sexagesimalDmsToDegrees(value: number): number {
  const sign = value < 0 ? -1 : 1;
  const text = Math.abs(value).toFixed(10);
  const [whole = '0', frac = ''] = text.split('.');
  const minutes = Number(frac.slice(0, 2));
  const seconds = Number(`${frac.slice(2, 4)}.${frac.slice(4)}`);
  return sign * (Number(whole) + minutes / 60 + seconds / 3600);
}

/** The PROJ words for a linear unit: +units=m / us-ft / ft where proj4js knows the name, else +to_meter. */
export function unitWords(unit: LinearUnit): string[] {
  if (unit.metres === 1) return ['+units=m'];
  if (unit.code === Unit.UsSurveyFoot || Math.abs(unit.metres - 1200 / 3937) < 1e-15) return ['+units=us-ft'];
  if (unit.code === Unit.Foot || unit.metres === 0.3048) return ['+units=ft'];
  return [`+to_meter=${formatNumber(unit.metres)}`];
}

/**
 * Degrees per unit of an EPSG angular unit that is a plain multiple of the degree but not the
 * degree itself (grad: 0.9); undefined for degrees and for notations like sexagesimal DMS.
 */
export function degreesPerUnit(code: number): number | undefined {
  const unit = epsgUnit(code);
  if (unit === undefined || unit.kind !== 'angle' || unit.factor === undefined) return undefined;
  const degrees = (unit.factor * 180) / Math.PI;
  // 12 digits: the EPSG factors are radians, and pi/200 * 180/pi leaves float dust (0.899999999999999).
  return Math.abs(degrees - 1) < 1e-12 ? undefined : Number(degrees.toPrecision(12));
}
