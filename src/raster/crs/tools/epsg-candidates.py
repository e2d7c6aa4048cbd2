#!/usr/bin/python3
"""Dump every EPSG geographic 2D and projected CRS PROJ knows, as JSON on stdout.

Step 1 of 2; `make-epsg-data.mjs` runs this, keeps what proj4js reproduces, and writes
`../epsg-data.ts`. Do not run it by hand unless you want to look at the candidates.

Needs python3-gdal (GDAL >= 3, PROJ >= 9) and PROJ's proj.db. The PROJ strings are exactly what
GDAL prints for the code (`gdalsrsinfo -o proj4 EPSG:n`), which is also what GDAL reports for a GeoTIFF
carrying that code, so a datum shift (+towgs84) appears where, and only where, GDAL puts one.

For projected CRSs it also records up to three reference points: lon/lat (degrees, longitude from Greenwich)
inside its area of use and the x/y PROJ computes for them from the CRS's own geographic base. The checker
compares proj4js against these, so a row only ships if proj4js projects it like PROJ does.
"""
import json
import math
import os
import sqlite3
import sys

from osgeo import gdal, osr

gdal.UseExceptions()
osr.UseExceptions()

PROJ_DB = os.environ.get('PROJ_DB', '/usr/share/proj/proj.db')


def sexagesimal_dms_to_degrees(value):
    """EPSG unit 9110: DDD.MMSSsss."""
    sign = -1.0 if value < 0 else 1.0
    text = f'{abs(value):.10f}'
    whole, frac = text.split('.')
    minutes = int(frac[0:2])
    seconds = float(frac[2:4] + '.' + frac[4:])
    return sign * (int(whole) + minutes / 60.0 + seconds / 3600.0)


def main():
    db = sqlite3.connect(PROJ_DB)
    meta = dict(db.execute('select key, value from metadata').fetchall())

    units = {}
    for code, name, kind, factor in db.execute(
            "select code, name, type, conv_factor from unit_of_measure "
            "where auth_name = 'EPSG' and type in ('length', 'angle')"):
        units[int(code)] = {'code': int(code), 'name': name, 'type': kind, 'factor': factor}

    def angle_to_degrees(value, uom):
        if uom == 9110:
            return sexagesimal_dms_to_degrees(value)
        return value * units[uom]['factor'] * 180.0 / math.pi

    def length_to_metres(value, uom):
        return value * units[uom]['factor']

    ellipsoids = []
    for code, name, a, uom, rf, b in db.execute(
            "select code, name, semi_major_axis, uom_code, inv_flattening, semi_minor_axis from ellipsoid "
            "where auth_name = 'EPSG'"):
        a_m = length_to_metres(a, int(uom))
        if rf is not None:
            entry = {'code': int(code), 'name': name, 'a': a_m, 'rf': rf}
        else:
            entry = {'code': int(code), 'name': name, 'a': a_m, 'b': length_to_metres(b, int(uom))}
        ellipsoids.append(entry)

    prime_meridians = {}
    for code, name, lon, uom in db.execute(
            "select code, name, longitude, uom_code from prime_meridian where auth_name = 'EPSG'"):
        # Rounded: grads and DMS conversions leave float dust (Paris would read 2.337229169999998).
        prime_meridians[int(code)] = {'code': int(code), 'name': name, 'degrees': round(angle_to_degrees(lon, int(uom)), 10)}

    datums = {}
    for code, name, ell, pm in db.execute(
            "select code, name, ellipsoid_code, prime_meridian_code from geodetic_datum where auth_name = 'EPSG'"):
        datums[int(code)] = {'code': int(code), 'name': name, 'ellipsoid': int(ell), 'primeMeridian': int(pm)}

    def first_axis_unit(cs_code):
        row = db.execute(
            "select uom_code from axis where coordinate_system_auth_name = 'EPSG' and coordinate_system_code = ? "
            "order by coordinate_system_order limit 1", (cs_code,)).fetchone()
        return int(row[0]) if row else None

    def area_of_use(table, code):
        row = db.execute(
            "select e.south_lat, e.north_lat, e.west_lon, e.east_lon from usage u join extent e "
            "on e.auth_name = u.extent_auth_name and e.code = u.extent_code "
            "where u.object_table_name = ? and u.object_auth_name = 'EPSG' and u.object_code = ? "
            "and e.south_lat is not null and e.west_lon is not null limit 1",
            (table, code)).fetchone()
        return row

    def proj4_of(code):
        srs = osr.SpatialReference()
        try:
            srs.ImportFromEPSG(int(code))
            text = srs.ExportToProj4()
        except RuntimeError as err:
            return None, str(err).strip().splitlines()[0]
        return (text.strip() or None), srs

    geographic = []
    geog_info = {}
    for code, name, deprecated, cs_code, datum_code in db.execute(
            "select code, name, deprecated, coordinate_system_code, datum_code from geodetic_crs "
            "where auth_name = 'EPSG' and type = 'geographic 2D' and datum_auth_name = 'EPSG'").fetchall():
        code = int(code)
        datum = datums.get(int(datum_code))
        proj, srs_or_err = proj4_of(code)
        entry = {'code': code, 'name': name, 'deprecated': bool(deprecated), 'datum': int(datum_code),
                 'ellipsoid': datum['ellipsoid'] if datum else None,
                 'angularUnit': first_axis_unit(cs_code), 'proj': proj}
        if proj is None:
            entry['error'] = srs_or_err if isinstance(srs_or_err, str) else 'GDAL gives no PROJ string'
        geographic.append(entry)
        geog_info[code] = entry

    projected = []
    for code, name, deprecated, cs_code, geog_code, conv_code in db.execute(
            "select code, name, deprecated, coordinate_system_code, geodetic_crs_code, conversion_code "
            "from projected_crs where auth_name = 'EPSG'").fetchall():
        code = int(code)
        proj, srs = proj4_of(code)
        entry = {'code': code, 'name': name, 'deprecated': bool(deprecated),
                 'geog': int(geog_code) if geog_code else None,
                 'conversion': int(conv_code) if conv_code else None,
                 'linearUnit': first_axis_unit(cs_code), 'proj': proj, 'points': []}
        if proj is None:
            entry['error'] = srs if isinstance(srs, str) else 'GDAL gives no PROJ string'
            projected.append(entry)
            continue
        entry['method'] = srs.GetAttrValue('PROJECTION') or ''
        base = srs.CloneGeogCS()
        base.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        rad_per_unit = base.GetAngularUnits()
        # GDAL reports the prime meridian in degrees whatever the angular unit; PROJ may have moved
        # it into lon_0 (Segara (Jakarta) / NEIEZ), so ask the base CRS rather than proj.db.
        pm_deg = float(base.GetAttrValue('PRIMEM', 1) or 0.0)
        try:
            ct = osr.CoordinateTransformation(base, srs)
        except RuntimeError:
            ct = None
        area = area_of_use('projected_crs', code)
        if area is not None:
            south, north, west, east = area
            if east < west:  # crosses the antimeridian
                east += 360.0
            for fx, fy in ((0.5, 0.5), (0.25, 0.25), (0.75, 0.75)):
                lon = west + fx * (east - west)
                lat = south + fy * (north - south)
                lon = (lon + 180.0) % 360.0 - 180.0
                rel = lon - pm_deg  # the EPSG base CRS counts longitude from its own prime meridian
                if ct is None:
                    break
                try:
                    k = (math.pi / 180.0) / rad_per_unit
                    x, y, _ = ct.TransformPoint(rel * k, lat * k)
                except RuntimeError:
                    continue
                if math.isfinite(x) and math.isfinite(y) and abs(x) < 1e15 and abs(y) < 1e15:
                    entry['points'].append([lon, lat, x, y])
        if not entry['points'] and ct is not None:
            # No usable area of use (some deprecated codes): try just beside the projection's origin.
            lon0 = next((srs.GetNormProjParm(p, math.nan) for p in ('central_meridian', 'longitude_of_center')
                         if math.isfinite(srs.GetNormProjParm(p, math.nan))), 0.0)
            lat0 = next((srs.GetNormProjParm(p, math.nan) for p in ('latitude_of_origin', 'latitude_of_center')
                         if math.isfinite(srs.GetNormProjParm(p, math.nan))), 0.0)
            for dlon, dlat in ((0.5, 0.5), (-0.5, 0.25)):
                lon, lat = lon0 + dlon, max(-89.0, min(89.0, lat0 + dlat))
                try:
                    k = (math.pi / 180.0) / rad_per_unit
                    x, y, _ = ct.TransformPoint(lon * k, lat * k)
                except RuntimeError:
                    continue
                if math.isfinite(x) and math.isfinite(y):
                    entry['points'].append([lon + pm_deg, lat, x, y])
        projected.append(entry)

    # PROJ's own value of every +ellps=name used, so the checker can spell out the ones proj4js lacks.
    ellps = {}
    for entry in geographic + projected:
        for word in (entry['proj'] or '').split():
            if word.startswith('+ellps=') and word[7:] not in ellps:
                e = osr.SpatialReference()
                e.ImportFromProj4('+proj=longlat ' + word + ' +no_defs')
                ellps[word[7:]] = {'a': e.GetSemiMajor(), 'rf': e.GetInvFlattening(), 'b': e.GetSemiMinor()}

    used_units = sorted({e['linearUnit'] for e in projected if e['linearUnit']}
                        | {e['angularUnit'] for e in geographic if e['angularUnit']}
                        | {u for u in units if units[u]['type'] in ('length', 'angle') and 9000 <= u < 9300})
    out = {
        'meta': {'epsgVersion': meta.get('EPSG.VERSION'), 'epsgDate': meta.get('EPSG.DATE'),
                 'projVersion': meta.get('PROJ.VERSION'), 'gdalVersion': gdal.__version__},
        'units': [units[u] for u in used_units if u in units],
        'ellipsoids': ellipsoids,
        'ellps': ellps,
        'primeMeridians': list(prime_meridians.values()),
        'datums': list(datums.values()),
        'geographic': geographic,
        'projected': projected,
    }
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
