import { CrsError } from './errors.js';
import { GEO_ASCII_PARAMS_TAG, GEO_DOUBLE_PARAMS_TAG, GEO_KEY_DIRECTORY_TAG, geoKeyName } from './geokeys.js';

/** The three GeoTIFF tags as the TIFF reader hands them over. */
export interface GeoKeyTags {
  /** GeoKeyDirectoryTag (34735) as numbers (SHORTs). */
  directory: ArrayLike<number>;
  /** GeoDoubleParamsTag (34736), when the file has one. */
  doubles?: ArrayLike<number>;
  /** GeoAsciiParamsTag (34737), when the file has one; a trailing NUL may or may not be there. */
  ascii?: string;
}

/** One GeoKey with its value resolved: numbers for SHORT/DOUBLE keys, text for ASCII ones. */
export interface GeoKeyEntry {
  /** The key id, e.g. 3082 for ProjFalseEastingGeoKey. */
  readonly id: number;
  /** Where the value lived: 0 (in the entry), 34735, 34736 or 34737. */
  readonly location: number;
  /** The value(s). */
  readonly value: readonly number[] | string;
}

/** Header of the GeoKey directory: KeyDirectoryVersion, KeyRevision.MinorRevision. */
export interface GeoKeyVersion {
  /** Always 1 (the only version GeoTIFF defines). */
  readonly directory: number;
  /** KeyRevision: 1. */
  readonly revision: number;
  /** MinorRevision: 0 for GeoTIFF 1.0, 1 for GeoTIFF 1.1. */
  readonly minor: number;
}

const MAX_SHORT = 0xffff;

/**
 * A parsed, validated GeoKey directory: every key's value is in range and finite, so the readers
 * below never index out of bounds and callers never see NaN.
 */
export class GeoKeyDirectory {
  private constructor(
    /** Header of the directory. */
    readonly version: GeoKeyVersion,
    private readonly keys: ReadonlyMap<number, GeoKeyEntry>,
    /** Where the tags came from, for error messages (file path or URL). */
    readonly where: string,
  ) {}

  /**
   * Parses the tags once, at the edge. Returns null when there are no GeoKeys (an empty directory or
   * a directory that declares zero keys); throws {@link CrsError} ERR_GEOKEYS on anything malformed.
   */
  static parse(tags: GeoKeyTags, where: string): GeoKeyDirectory | null {
    const dir = tags.directory;
    if (dir === null || dir === undefined || typeof dir.length !== 'number') {
      throw bad(where, `GeoKeyDirectoryTag (${GEO_KEY_DIRECTORY_TAG}) is not an array`);
    }
    if (dir.length === 0) return null;
    if (dir.length < 4) {
      throw bad(where, `GeoKeyDirectoryTag (${GEO_KEY_DIRECTORY_TAG}) holds ${dir.length} values; its header alone needs 4`);
    }
    const short = (i: number): number => {
      const v = dir[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_SHORT) {
        throw bad(where, `GeoKeyDirectoryTag (${GEO_KEY_DIRECTORY_TAG}) value #${i} is ${String(v)}, not a SHORT`);
      }
      return v;
    };
    const version: GeoKeyVersion = { directory: short(0), revision: short(1), minor: short(2) };
    if (version.directory !== 1) {
      throw bad(where, `GeoKeyDirectoryTag version is ${version.directory}; GeoTIFF defines only version 1`);
    }
    const count = short(3);
    if (4 + 4 * count > dir.length) {
      throw bad(
        where,
        `GeoKeyDirectoryTag (${GEO_KEY_DIRECTORY_TAG}) declares ${count} keys, which need ${4 + 4 * count} values, but holds ${dir.length}`,
      );
    }
    if (count === 0) return null;

    const keys = new Map<number, GeoKeyEntry>();
    for (let k = 0; k < count; k++) {
      const base = 4 + 4 * k;
      const id = short(base);
      const location = short(base + 1);
      const n = short(base + 2);
      const offset = short(base + 3);
      if (keys.has(id)) throw bad(where, `${geoKeyName(id)} appears twice in the GeoKey directory`);
      keys.set(id, { id, location, value: readValue(tags, where, id, location, n, offset) });
    }
    return new GeoKeyDirectory(version, keys, where);
  }

  /** True when the key is present. */
  has(id: number): boolean {
    return this.keys.has(id);
  }

  /** The raw entry, for diagnostics. */
  entry(id: number): GeoKeyEntry | undefined {
    return this.keys.get(id);
  }

  /** Ids of all keys present, in directory order. */
  ids(): number[] {
    return [...this.keys.keys()];
  }

  /**
   * A code-valued key (model type, EPSG code, unit code...): a single integer, or undefined when absent.
   * An integral DOUBLE is accepted too, since some writers store codes that way.
   */
  code(id: number): number | undefined {
    const e = this.keys.get(id);
    if (e === undefined) return undefined;
    if (typeof e.value === 'string' || e.value.length !== 1 || !Number.isInteger(e.value[0])) {
      throw bad(this.where, `${geoKeyName(id)} should hold one integer code but holds ${describe(e.value)}`);
    }
    return e.value[0];
  }

  /** A numeric key (DOUBLE, or SHORT from lax writers): its first value, or undefined when absent. */
  number(id: number): number | undefined {
    const e = this.keys.get(id);
    if (e === undefined) return undefined;
    if (typeof e.value === 'string' || e.value.length < 1) {
      throw bad(this.where, `${geoKeyName(id)} should hold a number but holds ${describe(e.value)}`);
    }
    return e.value[0];
  }

  /** All values of a numeric key (GeogTOWGS84GeoKey has 3 or 7), or undefined when absent. */
  numbers(id: number): readonly number[] | undefined {
    const e = this.keys.get(id);
    if (e === undefined) return undefined;
    if (typeof e.value === 'string') throw bad(this.where, `${geoKeyName(id)} should hold numbers but holds ${describe(e.value)}`);
    return e.value;
  }

  /** An ASCII key without its '|' terminator, or undefined when absent. */
  text(id: number): string | undefined {
    const e = this.keys.get(id);
    if (e === undefined) return undefined;
    if (typeof e.value !== 'string') throw bad(this.where, `${geoKeyName(id)} should hold text but holds ${describe(e.value)}`);
    return e.value;
  }

  /** An ERR_GEOKEYS error to throw for a key whose value makes no sense, naming the key and the value. */
  invalid(id: number, value: unknown, why: string): CrsError {
    return bad(this.where, `${geoKeyName(id)} = ${String(value)} ${why}`);
  }
}

function readValue(tags: GeoKeyTags, where: string, id: number, location: number, n: number, offset: number): number[] | string {
  switch (location) {
    case 0:
      // The value is the offset field itself; GeoTIFF allows exactly one SHORT here.
      if (n !== 1) throw bad(where, `${geoKeyName(id)} keeps ${n} values in its entry; only 1 fits`);
      return [offset];
    case GEO_KEY_DIRECTORY_TAG: {
      const dir = tags.directory;
      if (offset + n > dir.length) {
        throw bad(where, `${geoKeyName(id)} points at GeoKeyDirectoryTag values ${offset}..${offset + n - 1}, past its ${dir.length} values`);
      }
      return Array.from({ length: n }, (_, i) => Number(dir[offset + i]));
    }
    case GEO_DOUBLE_PARAMS_TAG: {
      const doubles = tags.doubles;
      if (doubles === undefined || doubles === null) {
        throw bad(where, `${geoKeyName(id)} points into GeoDoubleParamsTag (${GEO_DOUBLE_PARAMS_TAG}), which the file lacks`);
      }
      if (offset + n > doubles.length) {
        throw bad(
          where,
          `${geoKeyName(id)} points at GeoDoubleParamsTag values ${offset}..${offset + n - 1}, past its ${doubles.length} values`,
        );
      }
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const v = doubles[offset + i];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw bad(where, `${geoKeyName(id)} value #${i} (GeoDoubleParamsTag[${offset + i}]) is ${String(v)}, not a finite number`);
        }
        out.push(v);
      }
      return out;
    }
    case GEO_ASCII_PARAMS_TAG: {
      const ascii = tags.ascii;
      if (typeof ascii !== 'string') {
        throw bad(where, `${geoKeyName(id)} points into GeoAsciiParamsTag (${GEO_ASCII_PARAMS_TAG}), which the file lacks`);
      }
      // Counts include the '|' terminator. Writers that end the string with NUL instead, or readers that
      // drop the TIFF NUL, leave the last key one character short; libgeotiff forgives that, so do we.
      let count = n;
      if (offset + count === ascii.length + 1 && count > 0) count -= 1;
      if (offset + count > ascii.length) {
        throw bad(
          where,
          `${geoKeyName(id)} points at GeoAsciiParamsTag characters ${offset}..${offset + n - 1}, past its ${ascii.length} characters`,
        );
      }
      return ascii.slice(offset, offset + count).replace(/[|\0]+$/, '');
    }
    default:
      throw bad(where, `${geoKeyName(id)} says its value is in TIFF tag ${location}, which is not a GeoKey value tag`);
  }
}

function describe(value: readonly number[] | string): string {
  return typeof value === 'string' ? `text ${JSON.stringify(value.slice(0, 40))}` : `[${value.slice(0, 8).join(', ')}]`;
}

function bad(where: string, message: string): CrsError {
  return new CrsError('ERR_GEOKEYS', `${message} in ${where}`);
}
