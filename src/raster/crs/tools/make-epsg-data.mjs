#!/usr/bin/env node
// Regenerates ../epsg-data.ts, the compact EPSG table crsFromGeoKeys/projForEpsg read.
//
//   node src/raster/crs/tools/make-epsg-data.mjs        (from the repository root)
//
// Needs /usr/bin/python3 with python3-gdal and PROJ's proj.db (Debian: gdal-bin python3-gdal proj-data)
// and the proj4 package from node_modules. Step 1 (`epsg-candidates.py`) lists every EPSG geographic 2D
// and projected CRS with the PROJ string GDAL gives it and reference points PROJ computed; this step
// keeps a projected CRS only when proj4js parses its string and reproduces PROJ at every reference point
// (1 cm forward, 1e-7 degree back), so every row shipped is one proj4js can really use. The rest are
// listed in NOT_EXPRESSIBLE with the reason, so callers can say why a code has no definition.
//
// A plain .mjs (not TypeScript) so the build never compiles it into dist/; it therefore repeats the
// few lines of PROJ-string handling that ../proj-string.ts has.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import proj4 from 'proj4';

const here = dirname(fileURLToPath(import.meta.url));
const outFile = join(here, '..', 'epsg-data.ts');

const FORWARD_TOLERANCE_M = 0.01;
const INVERSE_TOLERANCE_DEG = 1e-7;

/** Words of a PROJ string that describe the geodetic datum rather than the projection. */
const DATUM_WORDS = ['datum', 'ellps', 'a', 'b', 'rf', 'f', 'R', 'R_A', 'towgs84', 'nadgrids', 'pm'];

function words(proj) {
  return proj.trim().split(/\s+/).filter((w) => w.startsWith('+'));
}
function key(word) {
  const i = word.indexOf('=');
  return i < 0 ? word.slice(1) : word.slice(1, i);
}
function geographicOf(proj) {
  return ['+proj=longlat', ...words(proj).filter((w) => DATUM_WORDS.includes(key(w)))].join(' ');
}
function metresPerUnit(proj) {
  const w = words(proj);
  const toMeter = w.find((x) => key(x) === 'to_meter');
  if (toMeter) return Number(toMeter.split('=')[1]);
  const units = w.find((x) => key(x) === 'units');
  const name = units ? units.split('=')[1] : 'm';
  const table = { m: 1, ft: 0.3048, 'us-ft': 1200 / 3937, km: 1000 };
  return table[name] ?? 1;
}

// PROJ's named prime meridians, in degrees east of Greenwich.
const NAMED_PRIME_MERIDIANS = {
  greenwich: 0, lisbon: -9.131906111111, paris: 2.337229166667, bogota: -74.080916666667,
  madrid: -3.687938888889, rome: 12.452333333333, bern: 7.439583333333, jakarta: 106.807719444444,
  ferro: -17.666666666667, brussels: 4.367975, stockholm: 18.058277777778, athens: 23.7163375,
  oslo: 10.722916666667, copenhagen: 12.57788055556,
};
function primeMeridianDegrees(proj) {
  const pm = words(proj).find((w) => key(w) === 'pm');
  if (!pm) return 0;
  const value = pm.split('=')[1];
  return NAMED_PRIME_MERIDIANS[value] ?? Number(value);
}

// proj4js silently falls back to WGS 84 for an ellipsoid name it does not know (WGS72 among them), so
// every +ellps=name whose proj4js value differs from PROJ's is spelled out as +a/+rf (or +a/+b).
function spellOutEllipsoids(proj, ellps) {
  return words(proj)
    .map((w) => {
      if (key(w) !== 'ellps') return w;
      const name = w.split('=')[1];
      const want = ellps[name];
      if (!want) return w;
      let got;
      try {
        got = proj4.Proj(`+proj=longlat ${w}`);
      } catch {
        got = undefined;
      }
      if (got && Math.abs(got.a - want.a) < 1e-6 && Math.abs(got.b - want.b) < 1e-6) return w;
      return want.rf > 0 ? `+a=${want.a} +rf=${want.rf}` : `+a=${want.a} +b=${want.b}`;
    })
    .join(' ');
}

// proj4js sends any +towgs84/+nadgrids CRS through WGS 84 even when both ends share the datum, which
// costs ~1 cm of round-off; the check is about the projection, so it runs on the bare ellipsoid.
const DATUM_ELLIPSOIDS = { WGS84: 'WGS84', NAD83: 'GRS80', NAD27: 'clrk66' };
function withoutDatumShift(proj) {
  return words(proj)
    .filter((w) => key(w) !== 'towgs84' && key(w) !== 'nadgrids')
    .map((w) => (key(w) === 'datum' && DATUM_ELLIPSOIDS[w.split('=')[1]] ? `+ellps=${DATUM_ELLIPSOIDS[w.split('=')[1]]}` : w))
    .join(' ');
}

function gdalError(row) {
  const m = /Unsupported conversion method: (.*)$/.exec(row.error ?? '');
  return m ? `PROJ strings cannot express the method ${m[1]}` : (row.error ?? 'GDAL gives no PROJ string');
}

function checkProjected(row) {
  if (!row.proj) return gdalError(row);
  if (row.points.length === 0) return 'no reference point could be computed';
  let converter;
  try {
    proj4.Proj(row.proj);
    const bare = withoutDatumShift(row.proj);
    converter = proj4(geographicOf(bare), bare);
  } catch (err) {
    const name = /Could not get projection name/.test(String(err)) ? words(row.proj)[0] : undefined;
    return name ? `proj4js has no ${name} projection` : `proj4js cannot parse it (${err instanceof Error ? err.message : String(err)})`;
  }
  const tolerance = FORWARD_TOLERANCE_M / metresPerUnit(row.proj);
  // Reference points count longitude from Greenwich; proj4js reads it from the string's +pm.
  const pm = primeMeridianDegrees(row.proj);
  for (const [lonGreenwich, lat, x, y] of row.points) {
    const lon = lonGreenwich - pm;
    let fwd;
    let inv;
    try {
      // enforceAxis: honour +axis=wsu (south-oriented grids) the way PROJ does.
      fwd = converter.forward([lon, lat], true);
      inv = converter.inverse([x, y], true);
    } catch (err) {
      return `proj4js fails at ${lon},${lat} (${err instanceof Error ? err.message : String(err)})`;
    }
    const dx = Math.abs(fwd[0] - x);
    const dy = Math.abs(fwd[1] - y);
    if (!(dx <= tolerance && dy <= tolerance)) {
      return `the PROJ string, run by proj4js, lands ${Math.max(dx, dy).toPrecision(3)} units from PROJ's EPSG definition at ${lonGreenwich},${lat}`;
    }
    const dlon = Math.abs(((inv[0] - lon + 540) % 360) - 180);
    const dlat = Math.abs(inv[1] - lat);
    if (!(dlon <= INVERSE_TOLERANCE_DEG && dlat <= INVERSE_TOLERANCE_DEG)) {
      return `the PROJ string, run backwards by proj4js, lands ${Math.max(dlon, dlat).toExponential(2)} degree from PROJ's EPSG definition at ${x},${y}`;
    }
  }
  return null;
}

function checkGeographic(row) {
  if (!row.proj) return gdalError(row);
  try {
    const p = proj4(row.proj, 'EPSG:4326').forward([10, 45]);
    if (!p.every(Number.isFinite)) return 'proj4js gives a non-finite point';
  } catch (err) {
    return `proj4js cannot parse it (${err instanceof Error ? err.message : String(err)})`;
  }
  return null;
}

function field(value) {
  const text = value === null || value === undefined ? '' : String(value);
  if (text.includes('|') || text.includes('\n')) throw new Error(`a table field may not hold | or a newline: ${text}`);
  return text;
}
function row(...values) {
  return values.map(field).join('|');
}
function tsArray(name, doc, rows) {
  return `/** ${doc} */\nexport const ${name}: readonly string[] = [\n${rows.map((r) => `  ${JSON.stringify(r)},`).join('\n')}\n];\n`;
}

const raw = execFileSync('/usr/bin/python3', [join(here, 'epsg-candidates.py')], {
  maxBuffer: 256 * 1024 * 1024,
  encoding: 'utf8',
});
const data = JSON.parse(raw);
for (const r of [...data.geographic, ...data.projected]) if (r.proj) r.proj = spellOutEllipsoids(r.proj, data.ellps);

const notExpressible = [];
const geographic = [];
for (const g of data.geographic) {
  const why = checkGeographic(g);
  if (why) notExpressible.push([g.code, why]);
  else geographic.push(g);
}
const projected = [];
for (const p of data.projected) {
  const why = checkProjected(p);
  if (why) notExpressible.push([p.code, why]);
  else projected.push(p);
}

// A conversion (ProjectionGeoKey) borrows the projection words of one shipped projected CRS that uses
// it; CRSs with +axis are skipped, as axis order belongs to the CRS, not to the conversion.
const conversions = new Map();
for (const p of projected) {
  if (p.conversion && !conversions.has(p.conversion) && !/\+axis=/.test(p.proj)) conversions.set(p.conversion, p.code);
}

// A datum borrows the datum words (ellipsoid, +towgs84, +pm) of a geographic CRS on it; the CRS EPSG
// numbers 2000 below the datum (6326 -> 4326) when there is one, as GDAL's own files pair them so.
const datumGeog = new Map();
for (const g of [...geographic].sort((a, b) => Number(a.deprecated) - Number(b.deprecated) || a.code - b.code)) {
  const current = datumGeog.get(g.datum);
  if (current === undefined || g.code === g.datum - 2000) datumGeog.set(g.datum, g.code);
}

const byCode = (a, b) => a.code - b.code;
const m = data.meta;
const text = [
  '// Generated by src/raster/crs/tools/make-epsg-data.mjs; do not edit by hand.',
  `// Source: EPSG ${m.epsgVersion} (${m.epsgDate}) as shipped in PROJ ${m.projVersion}, PROJ strings as GDAL ${m.gdalVersion} writes them.`,
  `// ${geographic.length} geographic and ${projected.length} projected CRSs proj4js reproduces; ${notExpressible.length} left out (NOT_EXPRESSIBLE).`,
  '',
  `/** Where the rows come from, for error messages and the README. */`,
  `export const EPSG_DATA_SOURCE = ${JSON.stringify({ epsg: m.epsgVersion, epsgDate: m.epsgDate, proj: m.projVersion, gdal: m.gdalVersion })} as const;`,
  '',
  tsArray('PROJECTED', 'code|name|geographic base code|linear unit code|PROJ string', projected.sort(byCode).map((p) => row(p.code, p.name, p.geog, p.linearUnit, p.proj))),
  tsArray('GEOGRAPHIC', 'code|name|datum code|ellipsoid code|angular unit code|PROJ string', geographic.sort(byCode).map((g) => row(g.code, g.name, g.datum, g.ellipsoid, g.angularUnit, g.proj))),
  tsArray('ELLIPSOIDS', 'code|name|semi-major axis in metres|inverse flattening (empty: see semi-minor)|semi-minor axis in metres', data.ellipsoids.sort(byCode).map((e) => row(e.code, e.name, e.a, e.rf ?? '', e.rf === undefined ? e.b : ''))),
  tsArray('DATUMS', 'code|name|ellipsoid code|prime meridian code|geographic CRS whose datum words to borrow (empty: none shipped)', data.datums.sort(byCode).map((d) => row(d.code, d.name, d.ellipsoid, d.primeMeridian, datumGeog.get(d.code) ?? ''))),
  tsArray('PRIME_MERIDIANS', 'code|name|longitude east of Greenwich in degrees', data.primeMeridians.sort(byCode).map((p) => row(p.code, p.name, p.degrees))),
  tsArray('UNITS', 'code|name|l (length) or a (angle)|metres or radians per unit (empty: sexagesimal, not a plain factor)', data.units.sort(byCode).map((u) => row(u.code, u.name, u.type === 'length' ? 'l' : 'a', u.factor ?? ''))),
  tsArray('CONVERSIONS', 'conversion (ProjectionGeoKey) code|projected CRS whose projection words to borrow', [...conversions.entries()].sort((a, b) => a[0] - b[0]).map(([c, p]) => row(c, p))),
  tsArray('NOT_EXPRESSIBLE', 'code|why the code has no PROJ string here', notExpressible.sort((a, b) => a[0] - b[0]).map(([c, why]) => row(c, why))),
].join('\n');
writeFileSync(outFile, text);
console.log(`wrote ${outFile}: ${geographic.length} geographic, ${projected.length} projected, ${conversions.size} conversions, ${notExpressible.length} not expressible, ${text.length} bytes`);
const reasons = new Map();
for (const [, why] of notExpressible) {
  const k = why.replace(/ at .*$/, '').replace(/ lands [0-9.e+-]+ /, ' lands N ').replace(/\(.*\)/, '(...)');
  reasons.set(k, (reasons.get(k) ?? 0) + 1);
}
for (const [why, n] of [...reasons.entries()].sort((a, b) => b[1] - a[1])) console.log(`  ${n}\t${why}`);
