/**
 * The projection half of a user-defined GeoTIFF projected CRS: ProjCoordTransGeoKey and its
 * parameter keys, as PROJ words ("+proj=lcc +lat_0=... +x_0=...").
 *
 * Parameters are read the way libgeotiff's GTIFFetchProjParms reads them (which key stands in for
 * which when a writer used a neighbour, and the defaults), and each method is spelled the way PROJ
 * spells it when GDAL exports that GeoTIFF, so proj4js lands where GDAL does. Two conventions of that
 * reader worth knowing:
 *  - linear parameters (false easting/northing) are in ProjLinearUnitsGeoKey units and are converted
 *    to metres, since +x_0/+y_0 are always metres;
 *  - angular parameters are taken as decimal degrees whatever GeogAngularUnitsGeoKey says: libgeotiff
 *    never converts them and GDAL writes them in degrees, so every file GDAL reads right is degrees.
 */
import type { GeoKeyDirectory } from './directory.js';
import { CoordTrans, GeoKey } from './geokeys.js';
import { numberWord } from './proj-string.js';
import type { LinearUnit } from './units.js';

/** PROJ words for the projection, or why there are none. */
export type ProjectionWords = { readonly words: readonly string[] } | { readonly unsupported: string };

/** One parameter as read: the key it came from (for errors) and its value. */
interface Param {
  readonly key: number;
  readonly value: number;
}

/** Methods GeoTIFF names but neither PROJ strings nor proj4js carry. */
const UNSUPPORTED: Record<number, string> = {
  [CoordTrans.TransvMercatorModifiedAlaska]: 'Transverse Mercator (modified Alaska)',
  [CoordTrans.ObliqueMercatorLaborde]: 'Laborde Oblique Mercator',
  [CoordTrans.ObliqueMercatorRosenmund]: 'Rosenmund Oblique Mercator',
  [CoordTrans.ObliqueMercatorSpherical]: 'spherical Oblique Mercator',
};

/** Reads ProjCoordTransGeoKey and its parameters. `unit` is the CRS's linear unit. */
export function projectionFromKeys(dir: GeoKeyDirectory, ct: number, unit: LinearUnit): ProjectionWords {
  const first = (keys: readonly number[], fallback: number): Param => {
    for (const key of keys) {
      const value = dir.number(key);
      if (value !== undefined) return { key, value };
    }
    return { key: keys[0] ?? 0, value: fallback };
  };
  const latitude = (p: Param): number => {
    if (p.value < -90 || p.value > 90) throw dir.invalid(p.key, p.value, 'is not a latitude in degrees');
    return p.value;
  };
  const longitude = (p: Param): number => {
    if (p.value < -360 || p.value > 360) throw dir.invalid(p.key, p.value, 'is not a longitude in degrees');
    return p.value;
  };
  const positive = (p: Param): number => {
    if (!(p.value > 0)) throw dir.invalid(p.key, p.value, 'is not a positive scale factor');
    return p.value;
  };
  const metres = (p: Param): number => {
    const m = p.value * unit.metres;
    if (!Number.isFinite(m)) throw dir.invalid(p.key, p.value, `overflows when turned into metres (x ${unit.metres})`);
    return m;
  };

  const fe = metres(first([GeoKey.ProjFalseEasting, GeoKey.ProjCenterEasting, GeoKey.ProjFalseOriginEasting], 0));
  const fn = metres(first([GeoKey.ProjFalseNorthing, GeoKey.ProjCenterNorthing, GeoKey.ProjFalseOriginNorthing], 0));
  const lon0 = (): number => longitude(first([GeoKey.ProjNatOriginLong, GeoKey.ProjFalseOriginLong, GeoKey.ProjCenterLong], 0));
  const lat0 = (): number => latitude(first([GeoKey.ProjNatOriginLat, GeoKey.ProjFalseOriginLat, GeoKey.ProjCenterLat], 0));
  const k0 = (): number => positive(first([GeoKey.ProjScaleAtNatOrigin, GeoKey.ProjScaleAtCenter], 1));
  const sp1 = (): number => latitude(first([GeoKey.ProjStdParallel1], 0));
  const sp2 = (): number => latitude(first([GeoKey.ProjStdParallel2], 0));
  const offsets = [numberWord('x_0', fe), numberWord('y_0', fn)];
  const w = (proj: string, ...params: string[]): ProjectionWords => ({ words: [`+proj=${proj}`, ...params, ...offsets] });

  switch (ct) {
    case CoordTrans.TransverseMercator:
      return w('tmerc', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()), numberWord('k', k0()));
    case CoordTrans.TransvMercatorSouthOriented:
      // PROJ has no south-oriented method; it flips the axes of an ordinary TM instead.
      return w('tmerc', '+axis=wsu', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()), numberWord('k', k0()));
    case CoordTrans.Mercator: {
      // GDAL writes Mercator (variant B) with ProjStdParallel1GeoKey and variant A with a scale.
      const lon = lon0();
      if (dir.has(GeoKey.ProjStdParallel1)) return w('merc', numberWord('lat_ts', sp1()), numberWord('lon_0', lon));
      return w('merc', numberWord('lon_0', lon), numberWord('k', k0()));
    }
    case CoordTrans.LambertConfConic2SP:
      return w('lcc', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()), numberWord('lat_1', sp1()), numberWord('lat_2', sp2()));
    case CoordTrans.LambertConfConic1SP: {
      const lat = lat0();
      return w('lcc', numberWord('lat_1', lat), numberWord('lat_0', lat), numberWord('lon_0', lon0()), numberWord('k_0', k0()));
    }
    case CoordTrans.AlbersEqualArea:
      return w('aea', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()), numberWord('lat_1', sp1()), numberWord('lat_2', sp2()));
    case CoordTrans.EquidistantConic:
      return w('eqdc', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()), numberWord('lat_1', sp1()), numberWord('lat_2', sp2()));
    case CoordTrans.LambertAzimEqualArea:
      return w('laea', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()));
    case CoordTrans.AzimuthalEquidistant:
      return w('aeqd', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()));
    case CoordTrans.Gnomonic:
      return w('gnom', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()));
    case CoordTrans.Orthographic:
      return w('ortho', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()));
    case CoordTrans.CassiniSoldner:
      return w('cass', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()));
    case CoordTrans.Polyconic:
      return w('poly', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()));
    case CoordTrans.NewZealandMapGrid:
      return w('nzmg', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()));
    case CoordTrans.MillerCylindrical:
      // PROJ runs Miller and Van der Grinten on the authalic sphere (+R_A), as GDAL's export says.
      return w('mill', '+R_A', numberWord('lon_0', lon0()));
    case CoordTrans.VanDerGrinten:
      return w('vandg', '+R_A', numberWord('lon_0', lon0()));
    case CoordTrans.Robinson:
      return w('robin', numberWord('lon_0', lon0()));
    case CoordTrans.Sinusoidal:
      return w('sinu', numberWord('lon_0', lon0()));
    case CoordTrans.Equirectangular:
      return w('eqc', numberWord('lat_ts', sp1()), numberWord('lat_0', lat0()), numberWord('lon_0', lon0()));
    case CoordTrans.CylindricalEqualArea:
      return w('cea', numberWord('lat_ts', sp1()), numberWord('lon_0', lon0()));
    case CoordTrans.Stereographic:
      return w('stere', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()), numberWord('k', k0()));
    case CoordTrans.ObliqueStereographic:
      return w('sterea', numberWord('lat_0', lat0()), numberWord('lon_0', lon0()), numberWord('k', k0()));
    case CoordTrans.PolarStereographic: {
      const lon = longitude(
        first([GeoKey.ProjStraightVertPoleLong, GeoKey.ProjNatOriginLong, GeoKey.ProjFalseOriginLong, GeoKey.ProjCenterLong], 0),
      );
      const lat = latitude(first([GeoKey.ProjNatOriginLat, GeoKey.ProjFalseOriginLat, GeoKey.ProjCenterLat], 90));
      // Latitude at a pole: variant A, true scale given by k. Elsewhere: variant B, that latitude is
      // the standard parallel (GDAL's SetPS makes the same choice; k is then 1 by definition).
      if (Math.abs(Math.abs(lat) - 90) < 1e-9) return w('stere', numberWord('lat_0', lat), numberWord('lon_0', lon), numberWord('k', k0()));
      return w('stere', numberWord('lat_0', lat < 0 ? -90 : 90), numberWord('lat_ts', lat), numberWord('lon_0', lon));
    }
    case CoordTrans.ObliqueMercator:
    case CoordTrans.HotineObliqueMercatorAzimuthCenter: {
      const lat = lat0();
      const lonc = lon0();
      const alpha = first([GeoKey.ProjAzimuthAngle], 0).value;
      // libgeotiff's default when the rectified grid angle is missing.
      const gamma = first([GeoKey.ProjRectifiedGridAngle], 90).value;
      const k = k0();
      if (ct === CoordTrans.HotineObliqueMercatorAzimuthCenter && alpha === 90 && gamma === 90) {
        // PROJ recognises this Hotine B case as the Swiss Oblique Mercator and so exports it.
        return w('somerc', numberWord('lat_0', lat), numberWord('lon_0', lonc), numberWord('k_0', k));
      }
      const variantA = ct === CoordTrans.ObliqueMercator ? ['+no_uoff'] : [];
      return w(
        'omerc',
        ...variantA,
        numberWord('lat_0', lat),
        numberWord('lonc', lonc),
        numberWord('alpha', alpha),
        numberWord('gamma', gamma),
        numberWord('k', k),
      );
    }
    default: {
      const name = UNSUPPORTED[ct];
      return { unsupported: name === undefined ? `ProjCoordTransGeoKey ${ct} is not a GeoTIFF projection method` : `${name} has no PROJ string proj4js runs` };
    }
  }
}
