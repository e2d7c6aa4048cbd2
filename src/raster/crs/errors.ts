import { DataboxError } from '../../errors.js';

/** Stable codes a {@link CrsError} carries. */
export type CrsErrorCode =
  /** The GeoKey tags are malformed: a count past the end, an unknown tag location, a NaN, a bad value. */
  | 'ERR_GEOKEYS'
  /** The CRS is well formed but has no PROJ definition here (engineering CRS, method proj4js lacks). */
  | 'ERR_CRS_UNSUPPORTED'
  /** `geoKeysForEpsg` was asked for a code the EPSG table does not hold. */
  | 'ERR_EPSG_UNKNOWN';

/**
 * A coordinate reference system could not be read or expressed.
 *
 * Never retryable: the bytes or the code will not change on a second look.
 */
export class CrsError extends DataboxError {
  declare readonly code: CrsErrorCode;

  constructor(code: CrsErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, retryable: false });
  }
}
