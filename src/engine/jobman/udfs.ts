import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { DataboxError } from '../../errors.js';
import { ensureDirectory, writeAll } from '../../storage/index.js';
import { SHA256_HEX } from '../udf/limits.js';

/** An uploaded bundle whose bytes do not hash to the name it was uploaded under. */
export class UdfHashMismatchError extends DataboxError {
  constructor(expected: string, actual: string) {
    super('ERR_UDF_HASH', `The uploaded bundle hashes to ${actual}, not to ${expected} it was uploaded as; it was not stored`);
  }
}

/** A job names a UDF bundle that was never uploaded. */
export class UnknownUdfError extends DataboxError {
  constructor(sha256: string) {
    super('ERR_UDF_UNKNOWN', `No UDF bundle ${sha256} on this Jobman; upload it first (PUT /v1/udfs/${sha256})`);
  }
}

/**
 * The Jobman's UDF bundles, one file per bundle named by its SHA-256 under `DIR/udfs/`. A bundle is
 * content-addressed, so an upload of one already there is a no-op and a stored one never changes;
 * writes go through the storage layer's file sink (a temporary file and a rename), so a reader never sees
 * half a bundle.
 */
export class UdfBundles {
  private constructor(private readonly dir: string) {}

  static async open(home: string): Promise<UdfBundles> {
    const dir = join(home, 'udfs');
    await ensureDirectory(dir, { mode: 0o700 });
    return new UdfBundles(dir);
  }

  /** Stores `bytes` as bundle `sha256` after checking the hash; false when it was there already. */
  async put(sha256: string, bytes: Uint8Array): Promise<boolean> {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) throw new UdfHashMismatchError(sha256, actual);
    if (await this.has(sha256)) return false;
    await writeAll(this.path(sha256), bytes);
    return true;
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.path(sha256))).isFile();
    } catch {
      return false;
    }
  }

  /** The bundle's bytes; UnknownUdfError when it was never uploaded. */
  async get(sha256: string): Promise<Buffer> {
    try {
      return await readFile(this.path(sha256));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UnknownUdfError(sha256);
      throw err;
    }
  }

  private path(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new UnknownUdfError(sha256);
    return join(this.dir, `${sha256}.mjs`);
  }
}
