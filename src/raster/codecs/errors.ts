import { DataboxError } from '../../errors.js';

/**
 * Any failure to decode or encode a TIFF block. The message always begins with `where` (the file URL
 * and which block), so one log line says which tile of which file was at fault.
 *
 * None of these is retryable: the bytes or the layout are wrong, and reading them again gives the
 * same bytes. (A truncated download is the byte source's problem and is reported there.)
 */
export class CodecError extends DataboxError {
  /** The file URL and block, e.g. `s3://b/x.tif: tile 3,4 of IFD 0`. */
  readonly where: string;

  constructor(code: string, where: string, problem: string, options: { cause?: unknown } = {}) {
    super(code, `${where}: ${problem}`, { cause: options.cause });
    this.where = where;
  }
}

/** A compression, predictor or sample layout this package does not decode or encode. */
export class UnsupportedCodecError extends CodecError {
  constructor(where: string, problem: string) {
    super('ERR_CODEC_UNSUPPORTED', where, problem);
  }
}

/** A block layout that cannot describe a real block (zero width, 3 bytes per sample, ...): a caller bug or bad tags. */
export class BlockLayoutError extends CodecError {
  constructor(where: string, problem: string) {
    super('ERR_CODEC_LAYOUT', where, problem);
  }
}

/**
 * The compressed bytes are damaged: the codec rejected them, or they decode to fewer bytes than the
 * block needs. `cause` carries the underlying zlib/zstd/LERC/JPEG error when there is one.
 */
export class CorruptBlockError extends CodecError {
  constructor(where: string, problem: string, options: { cause?: unknown } = {}) {
    super('ERR_CODEC_CORRUPT', where, problem, options);
  }
}

/** The message of a thrown value, for wrapping third-party errors into ours. */
export function describeCause(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
