import { DataboxError } from '../../errors.js';

/** A COG that cannot be written as asked: a tile missing or out of the grid, a file too big for classic TIFF. */
export class CogWriteError extends DataboxError {
  constructor(message: string, cause?: unknown) {
    super('ERR_COG_WRITE', message, { cause });
  }
}
