/**
 * Small helpers for PROJ definition strings ("+proj=tmerc +lat_0=0 ... +no_defs").
 *
 * A PROJ string here is a list of "+key" or "+key=value" words. We split it into the words that say
 * what the datum is (ellipsoid, shift to WGS 84, prime meridian) and the words that say how to
 * project, so that a projection borrowed from one EPSG CRS can sit on another CRS's datum.
 */

/** Words describing the geodetic datum rather than the projection. */
const DATUM_KEYS = new Set(['datum', 'ellps', 'a', 'b', 'rf', 'f', 'R', 'R_A', 'towgs84', 'nadgrids', 'pm']);
/** Words describing the CRS as a whole: units, axis order, PROJ bookkeeping. */
const CRS_KEYS = new Set(['units', 'to_meter', 'axis', 'no_defs', 'wktext', 'type']);

/** The "+key=value" words of a PROJ string. */
export function projWords(proj: string): string[] {
  return proj
    .trim()
    .split(/\s+/)
    .filter((w) => w.startsWith('+'));
}

/** The key of a word: "lat_0" for "+lat_0=12". */
export function wordKey(word: string): string {
  const i = word.indexOf('=');
  return i < 0 ? word.slice(1) : word.slice(1, i);
}

/** The value of a word: "12" for "+lat_0=12", '' for a flag like "+south". */
export function wordValue(word: string): string {
  const i = word.indexOf('=');
  return i < 0 ? '' : word.slice(i + 1);
}

/** The value of `key` in a PROJ string, or undefined. */
export function projParam(proj: string, key: string): string | undefined {
  const w = projWords(proj).find((x) => wordKey(x) === key);
  return w === undefined ? undefined : wordValue(w);
}

/** The datum words of a PROJ string (ellipsoid, +towgs84, +nadgrids, +pm). */
export function datumWords(proj: string): string[] {
  return projWords(proj).filter((w) => DATUM_KEYS.has(wordKey(w)));
}

/** The projection words of a PROJ string: +proj and its parameters, without datum or units. */
export function projectionWords(proj: string): string[] {
  return projWords(proj).filter((w) => !DATUM_KEYS.has(wordKey(w)) && !CRS_KEYS.has(wordKey(w)));
}

/**
 * A number as PROJ strings carry it: 15 significant digits, like GDAL, so that 328083.33 ft times
 * 0.3048 prints as 99999.798984 rather than 99999.79898400001.
 */
export function formatNumber(value: number): string {
  if (Object.is(value, -0)) return '0';
  return String(Number(value.toPrecision(15)));
}

/** "+key=value" with the value formatted by {@link formatNumber}. */
export function numberWord(key: string, value: number): string {
  return `+${key}=${formatNumber(value)}`;
}
