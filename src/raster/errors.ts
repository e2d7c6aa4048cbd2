import { DataboxError } from '../errors.js';

/**
 * A file that is not a TIFF we can read: truncated, malformed, hostile, or using a feature we do not
 * support. The message always names the file and the problem.
 */
export class TiffError extends DataboxError {
  /** The URL of the file. */
  readonly url: string;
  constructor(url: string, problem: string, options: { cause?: unknown; code?: string } = {}) {
    super(options.code ?? 'ERR_TIFF', `${url}: ${problem}`, { cause: options.cause });
    this.url = url;
  }
}

/** A TIFF feature we do not read (yet), such as 12-bit samples. */
export class TiffUnsupportedError extends TiffError {
  constructor(url: string, problem: string) {
    super(url, problem, { code: 'ERR_TIFF_UNSUPPORTED' });
  }
}

/** A request that does not fit the raster, such as a window outside the image. */
export class RasterRangeError extends DataboxError {
  constructor(message: string) {
    super('ERR_RASTER_RANGE', message);
  }
}
