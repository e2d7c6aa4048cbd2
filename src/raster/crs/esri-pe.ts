/**
 * ESRI "PE strings": the WKT1 that GDAL and ArcGIS put in PCSCitationGeoKey ("ESRI PE String = PROJCS[...]")
 * when GeoKeys have no code for the projection (Mollweide, Krovak, Eckert VI...). GDAL then sets
 * GTModelTypeGeoKey to user-defined and reads the CRS back from this text; so do we, for the
 * projection and its linear unit. The datum still comes from the Geog* keys GDAL writes beside it.
 */
import { numberWord } from './proj-string.js';
import type { ProjectionWords } from './projection.js';

const PREFIX = 'ESRI PE String = ';

/** A WKT node: KEYWORD[arg, arg, ...]. */
interface WktNode {
  readonly keyword: string;
  readonly args: ReadonlyArray<string | number | WktNode>;
}

/** The WKT inside a citation, or undefined when the citation is not an ESRI PE string. */
export function peStringOf(citation: string | undefined): string | undefined {
  if (citation === undefined || !citation.startsWith(PREFIX)) return undefined;
  return citation.slice(PREFIX.length).trim();
}

/** The PROJCS name of a PE string, for `Crs.name`. */
export function peName(wkt: string): string | undefined {
  const root = parseWkt(wkt);
  const name = root?.args[0];
  return typeof name === 'string' ? name : undefined;
}

/**
 * The projection words and linear unit (metres per unit) of an ESRI PROJCS, or why there are none.
 */
export function projectionFromPe(wkt: string): ProjectionWords & { metres?: number } {
  const root = parseWkt(wkt);
  if (root === undefined) return { unsupported: 'the ESRI PE string is not WKT this reader can parse' };
  if (root.keyword !== 'PROJCS') return { unsupported: `the ESRI PE string is a ${root.keyword}, not a PROJCS` };
  const projection = child(root, 'PROJECTION')?.args[0];
  if (typeof projection !== 'string') return { unsupported: 'the ESRI PE string names no PROJECTION' };
  const unitNode = root.args.filter(isNode).filter((n) => n.keyword === 'UNIT').at(-1);
  const metres = typeof unitNode?.args[1] === 'number' ? unitNode.args[1] : 1;
  if (!(metres > 0)) return { unsupported: `the ESRI PE string's UNIT is ${String(unitNode?.args[1])}` };

  const params = new Map<string, number>();
  for (const p of root.args.filter(isNode).filter((n) => n.keyword === 'PARAMETER')) {
    const [name, value] = p.args;
    if (typeof name === 'string' && typeof value === 'number') params.set(name.toLowerCase(), value);
  }
  const get = (...names: string[]): number => {
    for (const n of names) {
      const v = params.get(n.toLowerCase());
      if (v !== undefined) return v;
    }
    return 0;
  };
  const lon0 = numberWord('lon_0', get('Central_Meridian', 'Longitude_Of_Center', 'Longitude_Of_Origin'));
  const lat0 = numberWord('lat_0', get('Latitude_Of_Origin', 'Latitude_Of_Center'));
  const k = numberWord('k', params.get('scale_factor') ?? 1);
  const offsets = [numberWord('x_0', get('False_Easting') * metres), numberWord('y_0', get('False_Northing') * metres)];
  const w = (proj: string, ...rest: string[]): ProjectionWords & { metres: number } => ({
    words: [`+proj=${proj}`, ...rest, ...offsets],
    metres,
  });

  switch (projection.toLowerCase()) {
    case 'mollweide':
      return w('moll', lon0);
    case 'eckert_vi':
      return w('eck6', lon0);
    case 'equal_earth':
      return w('eqearth', lon0);
    case 'robinson':
      return w('robin', lon0);
    case 'sinusoidal':
      return w('sinu', lon0);
    case 'bonne':
      return w('bonne', numberWord('lat_1', get('Standard_Parallel_1')), lon0);
    case 'transverse_mercator':
    case 'gauss_kruger':
      return w('tmerc', lat0, lon0, k);
    case 'mercator':
      return w('merc', numberWord('lat_ts', get('Standard_Parallel_1')), lon0);
    case 'lambert_conformal_conic': {
      const sp1 = get('Standard_Parallel_1');
      const sp2 = params.get('standard_parallel_2');
      if (sp2 === undefined || sp2 === sp1) return w('lcc', numberWord('lat_1', sp1), numberWord('lat_0', sp1), lon0, numberWord('k_0', params.get('scale_factor') ?? 1));
      return w('lcc', lat0, lon0, numberWord('lat_1', sp1), numberWord('lat_2', sp2));
    }
    case 'albers':
      return w('aea', lat0, lon0, numberWord('lat_1', get('Standard_Parallel_1')), numberWord('lat_2', get('Standard_Parallel_2')));
    case 'lambert_azimuthal_equal_area':
      return w('laea', lat0, lon0);
    case 'equidistant_cylindrical':
    case 'plate_carree':
      return w('eqc', numberWord('lat_ts', get('Standard_Parallel_1')), lat0, lon0);
    case 'cylindrical_equal_area':
      return w('cea', numberWord('lat_ts', get('Standard_Parallel_1')), lon0);
    case 'cassini':
      return w('cass', lat0, lon0);
    case 'polyconic':
      return w('poly', lat0, lon0);
    case 'azimuthal_equidistant':
      return w('aeqd', lat0, lon0);
    case 'orthographic':
      return w('ortho', lat0, lon0);
    case 'gnomonic':
      return w('gnom', lat0, lon0);
    case 'miller_cylindrical':
      return w('mill', '+R_A', lon0);
    case 'krovak': {
      // PROJ's krovak is the east/north form (ESRI X_Scale -1, rotation 90); the classic
      // south/west grid is the same with +axis=swu. PROJ fixes the pseudo standard parallel at 78.5.
      if (Math.abs(get('Pseudo_Standard_Parallel_1') - 78.5) > 1e-9) {
        return { unsupported: 'Krovak with a pseudo standard parallel other than 78.5 degrees has no PROJ string' };
      }
      const xs = params.get('x_scale') ?? 1;
      const ys = params.get('y_scale') ?? 1;
      const rot = params.get('xy_plane_rotation') ?? 0;
      const axis = xs === -1 && ys === 1 && rot === 90 ? [] : xs === 1 && ys === 1 && rot === 0 ? ['+axis=swu'] : undefined;
      if (axis === undefined) return { unsupported: `Krovak with X_Scale ${xs}, Y_Scale ${ys}, XY_Plane_Rotation ${rot} has no PROJ string` };
      return w('krovak', ...axis, lat0, lon0, numberWord('alpha', get('Azimuth')), k);
    }
    default:
      return { unsupported: `the ESRI projection ${projection} is not one this reader maps to PROJ` };
  }
}

function isNode(x: string | number | WktNode): x is WktNode {
  return typeof x === 'object';
}

function child(node: WktNode, keyword: string): WktNode | undefined {
  return node.args.filter(isNode).find((n) => n.keyword === keyword);
}

/** A forgiving WKT1 parser: undefined on anything it cannot read (the caller then reports it). */
function parseWkt(text: string): WktNode | undefined {
  let i = 0;
  const skip = (): void => {
    while (i < text.length && /\s/.test(text.charAt(i))) i++;
  };
  const word = (): string | undefined => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  // An identifier followed by [ or ( opens a node; a bare one (AXIS[..., EAST]) is an enum value.
  const value = (depth: number): string | number | WktNode | undefined => {
    skip();
    const c = text.charAt(i);
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return undefined;
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (/[-+.0-9]/.test(c)) {
      const n = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(text.slice(i));
      if (!n) return undefined;
      i += n[0].length;
      const num = Number(n[0]);
      return Number.isFinite(num) ? num : undefined; // 1e999 is no parameter
    }
    const keyword = word();
    if (keyword === undefined) return undefined;
    skip();
    const open = text.charAt(i);
    if (open !== '[' && open !== '(') return keyword;
    if (depth > 32) return undefined; // hostile nesting
    const close = open === '[' ? ']' : ')';
    i++;
    const args: Array<string | number | WktNode> = [];
    for (;;) {
      const v = value(depth + 1);
      if (v === undefined) return undefined;
      args.push(v);
      skip();
      const sep = text.charAt(i);
      i++;
      if (sep === close) return { keyword: keyword.toUpperCase(), args };
      if (sep !== ',') return undefined;
    }
  };
  const root = value(0);
  return root !== undefined && typeof root === 'object' ? root : undefined;
}
