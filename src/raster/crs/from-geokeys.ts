/**
 * GeoKeys -> {@link Crs}: an EPSG code when the file gives one, else a PROJ definition assembled from
 * the user-defined keys. Decisions follow GDAL 3 / libgeotiff 1.7 so a file reads the same here as in
 * gdalinfo; where we part ways it is said below and tested.
 */
import { citationName } from './citation.js';
import type { Crs } from './crs.js';
import { GeoKeyDirectory, type GeoKeyTags } from './directory.js';
import { epsgConversionCrs, epsgCrs, epsgDataSource, epsgUnavailableReason } from './epsg.js';
import { peStringOf, projectionFromPe } from './esri-pe.js';
import { authalicRadius, geodeticFromKeys, isCode } from './geodetic.js';
import { GeoKey, ModelType, USER_DEFINED } from './geokeys.js';
import { datumWords, numberWord, projectionWords } from './proj-string.js';
import { projectionFromKeys, type ProjectionWords } from './projection.js';
import { degreesPerUnit, linearUnit, unitWords } from './units.js';

/**
 * Reads a raster's CRS from its GeoKey tags. Returns null when the file has no GeoKeys; throws
 * CrsError ERR_GEOKEYS, naming `where` and the key, when the tags are malformed.
 *
 * - Projected/geographic EPSG code: `epsg` is the code and `proj` the table's definition.
 * - User-defined: `proj` is built from the keys; `epsg` is null.
 * - GTModelTypeGeoKey missing or user-defined: an ESRI PE string in PCSCitationGeoKey is read as GDAL
 *   does; otherwise the CRS is `engineering` with `proj` '' (GDAL's LOCAL_CS), even when a
 *   GeographicTypeGeoKey is present, since GDAL ignores it there too. A ProjectedCSTypeGeoKey code
 *   without a model type counts as projected (GDAL does the same).
 * - Where GDAL would quietly assume WGS 84 for a geographic CRS code it does not know, we return
 *   `proj` '' with a reason instead: a wrong datum is worse than none.
 */
export function crsFromGeoKeys(tags: GeoKeyTags, where: string): Crs | null {
  const dir = GeoKeyDirectory.parse(tags, where);
  if (dir === null) return null;
  let model = dir.code(GeoKey.GTModelType);
  const pcs = dir.code(GeoKey.ProjectedCSType);
  if (!isModelType(model) && isCode(pcs)) model = ModelType.Projected;
  switch (model) {
    case ModelType.Projected:
      return projected(dir, pcs);
    case ModelType.Geographic:
      return geographic(dir);
    case ModelType.Geocentric:
      return geocentric(dir);
    default: {
      const pe = peStringOf(dir.text(GeoKey.PCSCitation));
      if (pe !== undefined) return userDefinedProjected(dir, pe);
      return engineering(dir, model);
    }
  }
}

function isModelType(model: number | undefined): boolean {
  return model === ModelType.Projected || model === ModelType.Geographic || model === ModelType.Geocentric;
}

function projected(dir: GeoKeyDirectory, pcs: number | undefined): Crs {
  if (isCode(pcs)) {
    const crs = epsgCrs(pcs);
    if (crs !== undefined && crs.kind === 'projected') return { epsg: pcs, proj: crs.proj, kind: 'projected', name: crs.name };
    // A code the table lacks: use the user-defined keys if the writer spelled the CRS out as well.
    const spelled = dir.has(GeoKey.ProjCoordTrans) || isCode(dir.code(GeoKey.Projection));
    const built = spelled ? userDefinedProjected(dir, undefined) : undefined;
    if (built !== undefined && built.proj !== '') return { ...built, epsg: pcs };
    return withName(
      { epsg: pcs, proj: '', kind: 'projected', reason: unknownCode(pcs, crs === undefined ? 'projected' : 'geographic, not projected') },
      citationName(dir.text(GeoKey.PCSCitation)) ?? citationName(dir.text(GeoKey.GTCitation)),
    );
  }
  return userDefinedProjected(dir, peStringOf(dir.text(GeoKey.PCSCitation)));
}

function userDefinedProjected(dir: GeoKeyDirectory, pe: string | undefined): Crs {
  const name = citationName(dir.text(GeoKey.PCSCitation)) ?? citationName(dir.text(GeoKey.GTCitation));
  const fail = (reason: string): Crs => withName({ epsg: null, proj: '', kind: 'projected', reason }, name);

  let unit = linearUnit(dir, GeoKey.ProjLinearUnits, GeoKey.ProjLinearUnitSize);
  let projection: ProjectionWords;
  let ownDatum: string[] | undefined;
  const ct = dir.code(GeoKey.ProjCoordTrans);
  const conversion = dir.code(GeoKey.Projection);
  // libgeotiff reads ProjectionGeoKey first and lets ProjCoordTransGeoKey's parameters override it.
  if (ct !== undefined && ct !== USER_DEFINED) {
    projection = projectionFromKeys(dir, ct, unit);
  } else if (isCode(conversion)) {
    const borrowed = epsgConversionCrs(conversion);
    if (borrowed === undefined) return fail(`ProjectionGeoKey ${conversion} is not an EPSG conversion this table holds`);
    projection = { words: projectionWords(borrowed.proj) };
    // Pseudo-Mercator is defined on a sphere, whatever datum the file names; keep the sphere.
    if (/\+nadgrids=@null/.test(borrowed.proj)) ownDatum = datumWords(borrowed.proj);
  } else if (pe !== undefined) {
    const fromPe = projectionFromPe(pe);
    projection = fromPe;
    if (fromPe.metres !== undefined) unit = { code: USER_DEFINED, metres: fromPe.metres };
  } else {
    return fail('the GeoKeys name no projection (no ProjectionGeoKey, ProjCoordTransGeoKey or ESRI PE string)');
  }
  if ('unsupported' in projection) return fail(projection.unsupported);

  const geo = geodeticFromKeys(dir);
  const gcs = dir.code(GeoKey.GeographicType);
  if (ownDatum === undefined && geo.defaulted && isCode(gcs) && geo.epsg === undefined) {
    return fail(unknownCode(gcs, 'geographic'));
  }
  let projWords = [...projection.words];
  let datum = ownDatum ?? geo.words;
  if (projWords.includes('+R_A')) {
    // PROJ runs Miller and Van der Grinten on the authalic sphere; proj4js ignores +R_A, so say the
    // sphere outright. Latitudes are used as they are, so no datum shift belongs here either.
    projWords = projWords.filter((w) => w !== '+R_A');
    datum = [numberWord('R', authalicRadius(geo.ellipsoid))];
  } else if (/^\+proj=(tmerc|utm)$/.test(projWords[0] ?? '') && datum.some((w) => w.startsWith('+R='))) {
    // proj4js's exact TM refuses a sphere; its +approx branch is the exact spherical formula.
    projWords.push('+approx');
  }
  const proj = [...projWords, ...datum, ...unitWords(unit), '+no_defs'].join(' ');
  return withName({ epsg: null, proj, kind: 'projected' }, name);
}

function geographic(dir: GeoKeyDirectory): Crs {
  const geo = geodeticFromKeys(dir);
  if (geo.epsg !== undefined) {
    const crs = epsgCrs(geo.epsg);
    const unit = crs?.kind === 'geographic' ? degreesPerUnit(crs.angularUnit) : undefined;
    return withUnit(withName({ epsg: geo.epsg, proj: crs?.proj ?? '', kind: 'geographic' }, geo.name), unit);
  }
  const gcs = dir.code(GeoKey.GeographicType);
  const epsg = isCode(gcs) ? gcs : null;
  if (epsg !== null && geo.defaulted) {
    return withName({ epsg, proj: '', kind: 'geographic', reason: unknownCode(epsg, 'geographic') }, geo.name);
  }
  // +proj=longlat is always degrees, so another GeogAngularUnitsGeoKey travels beside the string.
  const code = dir.code(GeoKey.GeogAngularUnits);
  const size = dir.number(GeoKey.GeogAngularUnitSize);
  const unit =
    code === USER_DEFINED && size !== undefined && size > 0
      ? (size * 180) / Math.PI
      : code !== undefined && code !== USER_DEFINED
        ? degreesPerUnit(code)
        : undefined;
  return withUnit(withName({ epsg, proj: ['+proj=longlat', ...geo.words, '+no_defs'].join(' '), kind: 'geographic' }, geo.name), unit);
}

function geocentric(dir: GeoKeyDirectory): Crs {
  const geo = geodeticFromKeys(dir);
  const name = citationName(dir.text(GeoKey.GTCitation)) ?? geo.name;
  const gcs = dir.code(GeoKey.GeographicType);
  if (geo.defaulted && isCode(gcs)) return withName({ epsg: null, proj: '', kind: 'geocentric', reason: unknownCode(gcs, 'geographic') }, name);
  const unit = linearUnit(dir, GeoKey.GeogLinearUnits, GeoKey.GeogLinearUnitSize);
  // GeoTIFF 1.0 has no key for a geocentric CRS code: the code in GeographicTypeGeoKey is its datum's.
  return withName({ epsg: null, proj: ['+proj=geocent', ...geo.words, ...unitWords(unit), '+no_defs'].join(' '), kind: 'geocentric' }, name);
}

function engineering(dir: GeoKeyDirectory, model: number | undefined): Crs {
  const name = citationName(dir.text(GeoKey.GTCitation)) ?? citationName(dir.text(GeoKey.GeogCitation));
  const reason =
    model === undefined
      ? 'GTModelTypeGeoKey is missing, so the GeoKeys describe a local engineering grid'
      : model === USER_DEFINED
        ? 'GTModelTypeGeoKey is user-defined, so the GeoKeys describe a local engineering grid'
        : `GTModelTypeGeoKey ${model} is no GeoTIFF model type, so the GeoKeys describe a local engineering grid`;
  return withName({ epsg: null, proj: '', kind: 'engineering', reason }, name);
}

function unknownCode(code: number, what: string): string {
  const why = epsgUnavailableReason(code);
  if (why !== undefined) return `EPSG:${code}: ${why}`;
  return `EPSG:${code} is not a ${what} CRS in the EPSG table (EPSG ${epsgDataSource.epsg}, PROJ ${epsgDataSource.proj})`;
}

function withUnit(crs: Crs, degrees: number | undefined): Crs {
  return degrees === undefined || Math.abs(degrees - 1) < 1e-12 ? crs : { ...crs, degreesPerUnit: degrees };
}

function withName(crs: Crs, name: string | undefined): Crs {
  return name === undefined ? crs : { ...crs, name };
}
